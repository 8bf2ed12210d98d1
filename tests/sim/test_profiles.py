"""Bit-serial cost profiles reproduce their published closed forms and tables exactly."""

import numpy as np
import pytest

from sail.sim import profiles

# PIMeval-PIMbench libpimeval/src/pimPerfEnergyTables.cpp, device BITSIMD_V, (R, W, L) per int width
# (PIMeval's libpimeval/src/pimPerfEnergyTables.cpp, BITSIMD_V). Copied numbers, not code.
PIMEVAL_TABLE = {
    "add": {8: (16, 8, 25), 16: (32, 16, 49), 32: (64, 32, 97)},
    "add_scalar": {8: (8, 8, 33), 16: (16, 16, 65), 32: (32, 32, 129)},
    "mul": {8: (72, 36, 136), 16: (272, 136, 528), 32: (1056, 528, 2080)},
    "mul_scalar": {8: (36, 36, 172), 16: (136, 136, 664), 32: (528, 528, 2608)},
    "gt": {8: (16, 1, 25), 16: (32, 1, 49), 32: (64, 1, 97)},
    "and": {8: (16, 8, 16), 16: (32, 16, 32), 32: (64, 32, 64)},
}


@pytest.mark.parametrize("op", sorted(PIMEVAL_TABLE))
@pytest.mark.parametrize("n", [8, 16, 32])
def test_pimeval_closed_forms_match_the_tables(op, n):
    assert tuple(int(x) for x in profiles.pimeval_rwl(op, n)) == PIMEVAL_TABLE[op][n]


def test_pimeval_add_is_two_reads_one_write_three_logic_per_bit():
    # the ADD micro-program: read A, xor carry, read B, sel, xor, write; plus one carry init
    for n in range(1, 65):
        r, w, l = profiles.pimeval_rwl("add", n)
        assert (r, w, l) == (2 * n, n, 3 * n + 1)


def test_neural_cache_formulas():
    assert profiles.add_cycles("neural_cache", 8) == 9
    assert profiles.mul_cycles("neural_cache", 8) == 102  # n^2 + 5n - 2 (Neural Cache, arXiv 1805.03718)


def test_gem_forge_formulas():
    # MLCPUMManager::getComputeLat: add n, mul n^2/2, mac n^2/2 + n, fp n^2 (gem-forge-gem5 PUMEngine.cc)
    assert profiles.add_cycles("gem_forge", 8) == 8
    assert profiles.mul_cycles("gem_forge", 8) == 32
    assert profiles.mac_cycles("gem_forge", 8, 8) == 40
    assert profiles.fp32_mul_cycles("gem_forge") == 1024


def test_pimeval_row_op_costs_for_sram():
    assert profiles.add_cycles("pimeval_bitsimd_v", 8) == 24  # R + W = 16 + 8
    assert profiles.mul_cycles("pimeval_bitsimd_v", 8) == 108  # 72 + 36 = 1.5 n (n+1) (PIMeval BITSIMD_V MUL)
    assert profiles.fp32_mul_cycles("pimeval_bitsimd_v") == 1852 + 1000


def test_profiles_vectorise():
    n = np.array([4, 8, 16])
    for prof in profiles.PROFILES:
        np.testing.assert_array_equal(
            profiles.mul_cycles(prof, n), [profiles.mul_cycles(prof, int(x)) for x in n]
        )


def test_multiply_spread_across_profiles_is_about_3x():
    costs = [profiles.mul_cycles(p, 8) for p in profiles.PROFILES]
    assert 2.5 < max(costs) / min(costs) < 4


def test_unknown_profile_is_rejected():
    with pytest.raises(ValueError, match="'bogus'"):
        profiles.add_cycles("bogus", 8)
