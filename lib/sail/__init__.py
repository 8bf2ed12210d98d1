"""SAIL reproduction: one subpackage per pipeline stage.

model    real SmolLM2-135M from its GGUF, a plain-torch Llama forward, tokenizer, perplexity
quant    RTN and GPTQ weight quantisation, activation quantisation, packed storage, mixed precision
profile  activation bit-pattern statistics and Pattern Reuse Table (PRT) hit rates
kernels  numba LUT-GEMV kernels (weight-LUT, activation-LUT, dequant control) and their benchmark
sim      analytical near-cache SRAM-PIM simulator and the CPU/GPU/PIM baselines
cost     tokens per dollar
plots    shared figure styling
"""

__version__ = "1.1.0"
