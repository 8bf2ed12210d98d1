"""Hardware descriptions: every parameter sourced, bad input rejected with the key named."""

import re

import pytest
import yaml

from sail.sim import HwError, load_hw
from sail.sim.hw import SOURCE_RE

NAMES = [
    "graviton2",
    "sail",
    "v100",
    "neural_cache",
    "bfree",
    "dram_pim",
    "x86_host",
    "graviton3",
    "graviton4",
    "altra_max",
]


@pytest.mark.parametrize("name", NAMES)
def test_every_description_loads_and_every_parameter_has_a_source(load, name):
    hw = load(name)
    assert hw.params
    for key, p in list(hw.params.items()) + list(hw.options.items()):
        assert SOURCE_RE.match(p.source), key
        assert p.unit, key


def test_sail_inherits_the_graviton2_host(load):
    cpu, sail = load("graviton2"), load("sail")
    for key, p in cpu.params.items():
        assert sail.params[key] == p
    assert "csram.arrays_per_slice" in sail.own_keys and "cpu.cores" not in sail.own_keys


def _write(tmp_path, doc, name="hw.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return path


def _sail_doc(hw_dir):
    return yaml.safe_load((hw_dir / "sail.yaml").read_text())


def test_missing_required_key_names_it(tmp_path, hw_dir):
    doc = _sail_doc(hw_dir)
    del doc["params"]["csram"]["rows"]
    (tmp_path / "graviton2.yaml").write_text((hw_dir / "graviton2.yaml").read_text())
    with pytest.raises(HwError, match=re.escape("'csram.rows'")):
        load_hw(_write(tmp_path, doc))


def test_missing_source_names_the_key(tmp_path, hw_dir):
    doc = _sail_doc(hw_dir)
    del doc["params"]["csram"]["cols"]["source"]
    (tmp_path / "graviton2.yaml").write_text((hw_dir / "graviton2.yaml").read_text())
    with pytest.raises(HwError, match="csram.cols is missing 'source'"):
        load_hw(_write(tmp_path, doc))


def test_bad_source_kind_is_rejected(tmp_path, hw_dir):
    doc = _sail_doc(hw_dir)
    doc["params"]["csram"]["cols"]["source"] = "trust me"
    (tmp_path / "graviton2.yaml").write_text((hw_dir / "graviton2.yaml").read_text())
    with pytest.raises(HwError, match="csram.cols source"):
        load_hw(_write(tmp_path, doc))


def test_negative_value_is_rejected(tmp_path, hw_dir):
    doc = _sail_doc(hw_dir)
    doc["params"]["csram"]["arrays_per_slice"]["value"] = -4
    (tmp_path / "graviton2.yaml").write_text((hw_dir / "graviton2.yaml").read_text())
    with pytest.raises(HwError, match="csram.arrays_per_slice must not be negative"):
        load_hw(_write(tmp_path, doc))


@pytest.mark.parametrize(
    "key", ["csram.arrays_per_slice", "memory.dram_bw_gbps", "csram.clock_ghz", "cpu.cores"]
)
def test_zero_size_is_rejected_naming_the_key(load, key):
    from sail.sim import simulate

    with pytest.raises(HwError, match=re.escape(repr(key))):
        simulate(
            load("sail"), model="llama2-7b", w_bits=4, a_bits=8, batch=1, context=512, overrides={key: 0}
        )


def test_unknown_override_key_is_rejected(load):
    with pytest.raises(HwError, match="'csram.bogus'"):
        load("sail").with_overrides({"csram.bogus": 1})


def test_missing_file_is_named(tmp_path):
    with pytest.raises(HwError, match="does not exist"):
        load_hw(tmp_path / "nope.yaml")
