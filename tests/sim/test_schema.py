"""Every config/hw/*.yaml validates against workflow/schemas/hw.schema.yaml."""

from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = yaml.safe_load((ROOT / "workflow" / "schemas" / "hw.schema.yaml").read_text())


@pytest.mark.parametrize("path", sorted((ROOT / "config" / "hw").glob("*.yaml")), ids=lambda p: p.stem)
def test_hw_yaml_matches_schema(path):
    jsonschema.validate(yaml.safe_load(path.read_text()), SCHEMA)


def test_schema_rejects_a_parameter_without_source():
    doc = {"name": "x", "system": "cpu", "params": {"cpu": {"cores": {"value": 4, "unit": "cores"}}}}
    with pytest.raises(jsonschema.ValidationError, match="source"):
        jsonschema.validate(doc, SCHEMA)
