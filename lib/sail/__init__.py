"""SAIL reproduction: one subpackage per pipeline stage.

model    real SmolLM2-135M from its GGUF, a plain-torch Llama forward, tokenizer, perplexity
quant    RTN and GPTQ weight quantisation, activation quantisation, packed storage, mixed precision
profile  activation bit-pattern statistics and Pattern Reuse Table (PRT) hit rates
kernels  numba LUT-GEMV kernels (weight-LUT, activation-LUT, dequant control) and their benchmark
sim      analytical near-cache SRAM-PIM simulator and the CPU/GPU/PIM baselines
cost     tokens per dollar
plots    shared figure styling
"""

import os as _os

# Bitwise reproducible BLAS. torch's BLAS here is MKL, whose GEMMs split their reductions by the number
# of threads they run with (X^T X at K = 576 differs in the last bits between 1 and 2 threads), and
# MKL_DYNAMIC lets it run with fewer threads than asked. Two full runs of the same commit gave
# different sequential-GPTQ codes in 2 of 4 configurations (W2 perplexity 318 vs 381), while reruns
# of those jobs reproduced the first run. STRICT conditional numerical reproducibility makes MKL's
# GEMMs independent of the thread count; both variables must be set before MKL first runs, which is
# why they live here (every script imports ``sail`` before torch). An explicit setting wins.
# STRICT has a price: torch's F.linear of one token (MKL sgemm with n = 1) takes 9.1 instead of 4.3 ms
# at 4096 x 4096 (1 thread, measured). Timing processes (kernel benchmark, `sail generate`, the decode
# breakdown) therefore opt out with SAIL_REPRODUCIBLE_BLAS=0 (sail.io.reexec_for_timing): they report
# times, and their few numerical outputs are checked against references with tolerances.
_REPRODUCIBLE_BLAS_ENV = {"MKL_CBWR": "AUTO,STRICT", "MKL_DYNAMIC": "FALSE"}
# Which of them came from an `import sail` (here or in a parent process, e.g. Snakemake's, whose jobs
# inherit its environment) rather than from the user: only those may be taken back for timing.
_FROM_SAIL = "SAIL_BLAS_ENV_FROM_SAIL"
_inherited = [k for k in _os.environ.get(_FROM_SAIL, "").split(",") if k in _REPRODUCIBLE_BLAS_ENV]
_ours = [k for k, v in _REPRODUCIBLE_BLAS_ENV.items() if k in _inherited and _os.environ.get(k) == v]
if _os.environ.get("SAIL_REPRODUCIBLE_BLAS", "1") != "0":
    _ours += [k for k in _REPRODUCIBLE_BLAS_ENV if k not in _os.environ]
    _os.environ.update({k: _REPRODUCIBLE_BLAS_ENV[k] for k in _ours})
    _os.environ[_FROM_SAIL] = ",".join(_ours)
#: the MKL variables set by ``import sail`` in this process or a parent (the user's own are not listed)
BLAS_ENV_SET_BY_SAIL: tuple[str, ...] = tuple(_ours)

__version__ = "1.1.0"
