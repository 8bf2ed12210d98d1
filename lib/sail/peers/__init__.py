"""Measured peers: llama.cpp built from its source distribution and run on this host.

``gguf_models`` writes the random-weight GGUF files at real Llama geometry that llama.cpp measures;
``decode_bench`` runs ``llama-batched-bench`` on them and turns its output into a decode table.
"""
