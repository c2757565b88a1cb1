# The two commands anyone needs: `make demo` and `make test`.
# Both build .venv from nothing on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CATALOG ?= catalog
CHARTS ?= charts
CRDS ?= ../shared/crds

.PHONY: demo test setup setup-test bench clean schema

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	@# The router's admin-wall test builds a network namespace: it needs iproute2 (and root).
	@command -v ip >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq iproute2; } \
		|| echo "warning: iproute2 is missing and cannot be installed; the router's network-namespace test will fail"
	@# The registry tests (pin, mirror, the pull script's mirror) run Debian's docker-registry on loopback.
	@command -v docker-registry >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq docker-registry; } \
		|| echo "warning: docker-registry is missing and cannot be installed; the registry tests will be skipped"
	touch $(VENV)/.installed $@

setup: $(VENV)/.installed

setup-test: $(VENV)/.installed-test

demo: setup
	$(BIN)/catalog-gen validate $(CATALOG)
	$(BIN)/catalog-gen render $(CATALOG) --out $(CHARTS) --prune
	$(BIN)/catalog-gen lint $(CHARTS) --crds $(CRDS) --require-schemas

# Test scratch files live on tmpfs when there is one: on ext4 with discard, creating files stays slow for
# minutes after tens of thousands were deleted, and the suite creates and deletes that many.
test: setup-test
	@scratch=$$(mktemp -d /dev/shm/catalog-gen-test.XXXXXX 2>/dev/null || mktemp -d); \
	TMPDIR=$$scratch $(BIN)/python -m pytest -q --durations=15; status=$$?; rm -rf "$$scratch"; exit $$status

schema: setup
	$(BIN)/catalog-gen schema --write

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
