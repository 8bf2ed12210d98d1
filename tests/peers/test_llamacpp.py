"""The llama.cpp build helpers: commit from the CHANGELOG, tool checks, hash check, build records.

The build itself runs in the pipeline (rule peers_llamacpp_build); here every decision around it
is checked on small inputs.
"""

import io
import json
import tarfile
from pathlib import Path

import pytest
from sail.io import HashMismatch
from sail.peers import llamacpp
from sail.peers.llamacpp import LlamaCppBuild, MissingTool, extract_vendored, llamacpp_commit, load_build

CHANGELOG = """# Changelog

## [Unreleased]

## [0.3.36]

- feat: update llama.cpp to ggml-org/llama.cpp@0c1e57098

## [0.3.35]

- feat: update llama.cpp to ggml-org/llama.cpp@4df29be4f
"""


def test_commit_is_read_from_the_release_section():
    assert llamacpp_commit(CHANGELOG, "0.3.36") == "0c1e57098"
    assert llamacpp_commit(CHANGELOG, "0.3.35") == "4df29be4f"


@pytest.mark.parametrize("version", ["0.3.99", "0.3.3"])
def test_unknown_release_names_the_version(version):
    with pytest.raises(ValueError, match=version):
        llamacpp_commit(CHANGELOG, version)


def test_release_without_commit_line_is_an_error():
    with pytest.raises(ValueError, match="names no llama.cpp commit"):
        llamacpp_commit("## [1.0.0]\n- fix: something\n", "1.0.0")


def test_missing_tools_name_the_debian_package(monkeypatch):
    monkeypatch.setattr(llamacpp.shutil, "which", lambda t: None if t == "g++" else f"/usr/bin/{t}")
    with pytest.raises(MissingTool, match=r"g\+\+.*apt-get install g\+\+"):
        llamacpp.check_tools()


def test_wrong_sdist_hash_names_both_hashes_and_leaves_nothing(tmp_path, monkeypatch):
    def fake_pip(cmd, check):
        Path(cmd[cmd.index("-d") + 1], "pkg-1.0.tar.gz").write_bytes(b"not the release")

    monkeypatch.setattr(llamacpp.subprocess, "run", fake_pip)
    out = tmp_path / "pkg-1.0.tar.gz"
    with pytest.raises(HashMismatch, match="expected 0{64}, actual [0-9a-f]{64}"):
        llamacpp.fetch_sdist("pkg==1.0", "pkg-1.0.tar.gz", "0" * 64, out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def _sdist(path: Path, version: str = "0.3.36") -> Path:
    top = f"llama_cpp_python-{version}"
    files = {f"{top}/CHANGELOG.md": CHANGELOG, f"{top}/vendor/llama.cpp/CMakeLists.txt": "project(x)\n",
             f"{top}/vendor/llama.cpp/ggml/include/ggml.h": "// header\n", f"{top}/setup.py": ""}
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_extract_takes_only_the_vendored_tree(tmp_path):
    dest, version, commit = extract_vendored(_sdist(tmp_path / "s.tar.gz"), tmp_path / "src")
    assert (version, commit) == ("0.3.36", "0c1e57098")
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == [
        "CMakeLists.txt", "ggml/include/ggml.h"]


def test_unfinished_build_is_not_taken_for_a_finished_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="build_info.json missing"):
        load_build(tmp_path)


def test_binary_that_was_not_built_is_named(tmp_path):
    (tmp_path / "build" / "bin").mkdir(parents=True)
    (tmp_path / "build" / "bin" / "sail-llama-decode").write_text("")
    info = {"llamacpp_commit": "0c1e57098", "version": "0.3.36", "cpu_model": "x", "cpu_flags": ["avx2"]}
    (tmp_path / "build_info.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="'sail-llama-decode' was not built .*built: none"):
        load_build(tmp_path).binary("sail-llama-decode")  # libraries built, programs not yet
    (tmp_path / "programs.json").write_text(json.dumps({"programs": ["sail-llama-decode"]}))
    build = load_build(tmp_path / "programs.json")
    assert isinstance(build, LlamaCppBuild)
    assert build.binary("sail-llama-decode").name == "sail-llama-decode"
    with pytest.raises(ValueError, match="'sail-llama-quantize' was not built"):
        build.binary("sail-llama-quantize")
    assert build.provenance() == {"llamacpp_version": "0.3.36", "llamacpp_commit": "0c1e57098",
                                  "cpu_model": "x", "cpu_flags": "avx2"}


def test_failed_build_command_reports_its_exit_code_and_output():
    with pytest.raises(RuntimeError, match=r"(?s)exit code 3.*boom"):
        llamacpp._run(["sh", "-c", "echo boom; exit 3"], {})


@pytest.mark.parametrize("isa", ["amx int8", "-mavx", "AMX", ""])
def test_disabled_isa_must_be_a_plain_name(tmp_path, isa, monkeypatch):
    monkeypatch.setattr(llamacpp, "check_tools", lambda: None)
    with pytest.raises(ValueError, match=repr(isa).replace("[", r"\[")):
        llamacpp.build_llamacpp(tmp_path / "x.tar.gz", tmp_path, disable_isa=[isa])


def test_unknown_program_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"unknown llama.cpp program\(s\) \['llama-cli'\]"):
        llamacpp.build_programs(tmp_path, ["llama-cli"])


def test_every_program_has_its_source():
    for name, src in llamacpp.PROGRAMS.items():
        assert src.is_file(), (name, src)
        assert src.name == name.replace("-", "_") + ".cpp"  # the rule derives the source from the name
