"""Analytical, command-level simulator of SAIL's near-cache C-SRAM and its baselines (SPEC section 6)."""
