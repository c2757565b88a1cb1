# The catalog-gen image: the router sidecar and the smoke Job run it.
#   docker build -t ghcr.io/catalog-gen/catalog-gen:0.1.0 .
#   docker run --rm ghcr.io/catalog-gen/catalog-gen:0.1.0 smoke --help
# Two stages: the wheel is built with the build tools, the runtime stage holds only
# the installed package. It runs as a numeric non-root user, so `runAsNonRoot: true`
# can be checked by the kubelet; nothing is written outside /tmp and $HOME.

FROM python:3.12-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
COPY catalog_gen ./catalog_gen
# catalog_gen/schemas and catalog_gen/templates are symlinks to these; the wheel carries them.
COPY schemas ./schemas
COPY templates ./templates
RUN pip wheel --wheel-dir /wheels .

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --system --gid 10001 catalog-gen \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/catalog-gen --create-home --shell /usr/sbin/nologin catalog-gen
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels
USER 10001:10001
WORKDIR /home/catalog-gen
ENTRYPOINT ["catalog-gen"]
CMD ["--help"]
