import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sail.quant.mixed import assign_bits, average_bits


def brute_force(errors, n_params, avg_bits):
    names = sorted(errors)
    choices = sorted(errors[names[0]])
    total = sum(n_params.values())
    best = None
    for combo in itertools.product(choices, repeat=len(names)):
        if sum(b * n_params[n] for b, n in zip(combo, names)) > avg_bits * total + 1e-9:
            continue
        e = sum(errors[n][b] for n, b in zip(names, combo))
        if best is None or e < best - 1e-12:
            best = e
    return best


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_layers=st.integers(1, 6), budget=st.sampled_from([2.0, 2.5, 3.0, 3.5, 4.0]))
def test_dp_matches_brute_force(seed, n_layers, budget):
    rng = np.random.default_rng(seed)
    names = [f"l{i}" for i in range(n_layers)]
    n_params = {n: int(rng.choice([1, 3, 8])) * 64 for n in names}
    errors = {}
    for n in names:
        e2 = rng.uniform(1, 100)
        errors[n] = {2: e2, 3: e2 * rng.uniform(0.1, 0.5), 4: e2 * rng.uniform(0.01, 0.1)}
    bits = assign_bits(errors, n_params, budget)
    assert average_bits(bits, n_params) <= budget + 1e-9
    got = sum(errors[n][bits[n]] for n in names)
    assert got == pytest.approx(brute_force(errors, n_params, budget), rel=1e-9)


def test_sensitive_layer_gets_the_bits():
    errors = {"a": {2: 100.0, 4: 1.0}, "b": {2: 2.0, 4: 1.0}}
    assert assign_bits(errors, {"a": 10, "b": 10}, 3.0) == {"a": 4, "b": 2}


def test_budget_extremes_are_uniform():
    errors = {n: {2: 5.0, 3: 2.0, 4: 1.0} for n in "abc"}
    n_params = {"a": 1, "b": 2, "c": 3}
    assert set(assign_bits(errors, n_params, 2.0).values()) == {2}
    assert set(assign_bits(errors, n_params, 4.0).values()) == {4}


@pytest.mark.parametrize("budget", [1.5, 4.5])
def test_budget_outside_widths_named(budget):
    with pytest.raises(ValueError, match=f"avg_bits {budget}"):
        assign_bits({"a": {2: 1.0, 4: 0.5}}, {"a": 4}, budget)


def test_inconsistent_choices_named():
    with pytest.raises(ValueError, match="'b'"):
        assign_bits({"a": {2: 1.0, 4: 0.5}, "b": {2: 1.0}}, {"a": 4, "b": 4}, 3.0)
