"""The quant blocks of config/config.yaml validate, and bad values fail naming the value."""

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "config/config.yaml").read_text())
SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())


def validate(cfg):
    jsonschema.validate(cfg, SCHEMA, cls=jsonschema.Draft202012Validator)


def test_committed_config_is_valid():
    validate(CONFIG)


@pytest.mark.parametrize("path, value, shown", [
    (("weight_rows", 0, "w_bits"), [0], "0"),
    (("weight_rows", 0, "w_bits"), [9], "9"),
    (("weight_rows", 0, "methods"), ["awq"], "'awq'"),
    (("weight_rows", 0, "group_sizes"), [0], "0"),
    (("a_bits",), [5], "5"),
    (("mixed", "method"), "hqq", "'hqq'"),
    (("window",), "512", "'512'"),
])
@pytest.mark.parametrize("experiment", ["quick", "full"])
def test_bad_quant_values_are_named(experiment, path, value, shown):
    cfg = copy.deepcopy(CONFIG)
    node = cfg["experiments"][experiment]["quant"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError) as err:
        validate(cfg)
    assert err.value.message.startswith(shown), err.value.message


def test_unknown_quant_key_rejected():
    cfg = copy.deepcopy(CONFIG)
    cfg["experiments"]["quick"]["quant"]["wbits"] = 3
    with pytest.raises(jsonschema.ValidationError, match="wbits"):
        validate(cfg)
