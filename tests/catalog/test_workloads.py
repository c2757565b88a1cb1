"""The registry of workload types is the one place that names them."""

import pytest

from catalog_gen.catalog import schema, workloads
from catalog_gen.errors import UsageError
from catalog_gen.render.env import TEMPLATES_DIR


@pytest.mark.parametrize("name", sorted(workloads.WORKLOAD_TYPES))
def test_every_registered_type_has_its_schema_model_and_templates(name):
    workload = workloads.get(name)
    assert schema.schema_path(name).is_file()
    assert schema.load(name)["properties"]["workloadType"]["const"] == name
    assert workload.model().model_fields["workload_type"].annotation.__args__ == (name,)
    assert (TEMPLATES_DIR / workload.templates / "chart" / "templates").is_dir()


def test_an_unknown_type_is_a_usage_error_naming_the_known_ones():
    with pytest.raises(UsageError, match="unknown workload type 'VLLM_INFERENCE_LOAD'") as caught:
        workloads.get("VLLM_INFERENCE_LOAD")
    assert "OLLAMA_INFERENCE_LOAD" in caught.value.hint
    with pytest.raises(UsageError):
        schema.schema_text("VLLM_INFERENCE_LOAD")
