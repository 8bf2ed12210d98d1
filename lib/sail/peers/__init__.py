"""Real systems measured beside ours on this host (llama.cpp's CPU backend).

Where a real system does the job we model, the artifact builds it from a hash-checked source
distribution and measures it in the same run as our own code, so the baselines of every ratio are
measured, not assumed. ``gguf_models`` writes the random-weight GGUF files at real Llama geometry
that llama.cpp measures; ``decode_bench`` runs ``llama-batched-bench``'s decode loop on them
(``sail-llama-decode``, our driver over libllama: ``llamacpp`` says why the tool itself is not built).
"""

from sail.peers.llamacpp import (
    LlamaCppBuild,
    build_llamacpp,
    build_programs,
    fetch_sdist,
    llamacpp_commit,
    load_build,
)

__all__ = ["LlamaCppBuild", "build_llamacpp", "build_programs", "fetch_sdist", "llamacpp_commit", "load_build"]
