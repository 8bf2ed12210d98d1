import numpy as np
import pytest

from sail.quant.core import QuantLinear


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def random_codes(rng, m, k, w_bits, a_bits, batch=None):
    q = rng.integers(0, 1 << w_bits, size=(m, k))
    shape = (k,) if batch is None else (k, batch)
    x = rng.integers(-(1 << (a_bits - 1)), 1 << (a_bits - 1), size=shape)
    return q, x


def random_quant_linear(rng, m, k, w_bits, group_size):
    q = rng.integers(0, 1 << w_bits, size=(m, k), dtype=np.uint8)
    ng = k // group_size
    scale = (rng.random((m, ng), dtype=np.float32) + np.float32(0.05)) / np.float32(1 << w_bits)
    zero = rng.integers(0, 1 << w_bits, size=(m, ng)).astype(np.float32)
    return QuantLinear(q=q, scale=scale, zero=zero, w_bits=w_bits, group_size=group_size)
