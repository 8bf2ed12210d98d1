"""Our drivers over libllama (lib/sail/peers/cpp), compiled against the pipeline's llama.cpp build.

They need a finished build (resources/llamacpp/*/build_info.json or ``$SAIL_LLAMACPP_INFO``) and g++,
and are skipped without one; the real-model tests also need the SmolLM2 GGUF. No timing is asserted.
"""

import glob
import json
import os
import shutil
import subprocess

import pytest

from sail.peers.decode_bench import run_decode
from sail.peers.llamacpp import PROGRAMS, compile_cpp, load_build


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    info = os.environ.get("SAIL_LLAMACPP_INFO") or next(iter(sorted(glob.glob("resources/llamacpp/*/build_info.json"))),
                                                         None)
    if not info or shutil.which("g++") is None:
        pytest.skip("no llama.cpp build (resources/llamacpp/*/build_info.json or $SAIL_LLAMACPP_INFO) or no g++")
    build = load_build(info)
    out = tmp_path_factory.mktemp("drivers")
    for name, src in PROGRAMS.items():
        compile_cpp(src, out / name, build.llama_include_dirs(), build.llama_static_libs())
    return {name: out / name for name in PROGRAMS}


@pytest.mark.parametrize("name,args,needle", [
    ("sail-llama-quantize", ["in.gguf", "out.gguf", "Q9_9"], "unknown type 'Q9_9'"),
    ("sail-llama-quantize", ["in.gguf", "out.gguf", "Q4_0", "two"], "invalid thread count 'two'"),
    ("sail-llama-quantize", ["--fast", "in.gguf", "out.gguf", "Q4_0"], "unknown option --fast"),
    ("sail-llama-quantize", ["x.gguf", "x.gguf", "Q4_0"], "input and output are the same file"),
    ("sail-llama-decode", ["batched", "-m", "x.gguf", "-t", "two"], "invalid value for -t: 'two'"),
    ("sail-llama-decode", ["batched", "-m", "x.gguf", "-npl", "1,x"], "invalid value for -npl: 'x'"),
    ("sail-llama-decode", ["decode", "-m", "x.gguf"], "unknown mode 'decode'"),
    ("sail-llama-decode", ["tg", "-t", "1"], "-m <gguf> is required"),
])
def test_bad_arguments_exit_2_naming_the_value(programs, name, args, needle):
    r = subprocess.run([str(programs[name]), *args], capture_output=True, text=True)
    assert r.returncode == 2 and needle in r.stderr, (r.returncode, r.stderr)


def test_quantise_and_decode_the_real_model(programs, gguf_path, tmp_path):
    """Requantise SmolLM2 to Q4_0 (llama.cpp's quantiser), then both decode loops on it."""
    q4 = tmp_path / "smollm2.Q4_0.gguf"
    r = subprocess.run([str(programs["sail-llama-quantize"]), "--allow-requantize", str(gguf_path), str(q4), "q4_0",
                        "1"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert q4.stat().st_size < gguf_path.stat().st_size  # Q4_0 (4.5 b) is smaller than Q4_1 (5 b)

    rows = run_decode(programs["sail-llama-decode"], q4, "Q4_0", 30, 1, 16, 2, [1, 3], "smollm2-135m", repack=False)
    assert list(rows.batch) == [1, 3] and (rows.context == 16).all() and (rows.decode_tokens == 2).all()
    assert (rows.tokens_per_s > 0).all() and (rows.t_decode_s > 0).all()
    assert rows.weight_buffers.iloc[0].startswith("CPU")  # --no-repack: the file's own layout

    tg = subprocess.run([str(programs["sail-llama-decode"]), "tg", "-m", str(q4), "-n", "3", "-t", "1", "-r", "2"],
                        capture_output=True, text=True, check=True)
    rec = json.loads(tg.stdout)[0]
    assert rec["n_gen"] == 3 and rec["n_prompt"] == 0 and len(rec["samples_ts"]) == 2
    assert rec["avg_ts"] > 0 and 4.0 < 8 * rec["model_size"] / rec["model_n_params"] < 6.0
