import json
from pathlib import Path

import pytest

from sail.corpus import BOOKS, load_book, read_ar_members

CORPUS = Path(__file__).resolve().parents[2] / "data" / "corpus"


def test_committed_text_matches_its_provenance():
    import hashlib

    prov = json.loads((CORPUS / "PROVENANCE.json").read_text())
    assert sorted(prov["files"]) == sorted(f"{b}.txt" for b in BOOKS)
    for name, meta in prov["files"].items():
        text = (CORPUS / name).read_text(encoding="utf-8")
        assert hashlib.sha256(text.encode()).hexdigest() == meta["sha256"], name


def test_books_are_real_austen():
    assert load_book(CORPUS, "prideprejudice").find("It is a truth universally acknowledged") > 0
    assert load_book(CORPUS, "emma").startswith("EMMA")


def test_unknown_book_is_rejected():
    with pytest.raises(ValueError, match="'ulysses'"):
        load_book(CORPUS, "ulysses")


def _ar(members: dict[str, bytes]) -> bytes:
    out = b"!<arch>\n"
    for name, data in members.items():
        header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode()
        out += header + data + (b"\n" if len(data) % 2 else b"")
    return out


def test_ar_reader_handles_odd_sizes_and_rejects_non_ar():
    members = {"debian-binary": b"2.0\n", "odd": b"abc", "data.tar.xz": b"xyz0"}
    assert read_ar_members(_ar(members)) == members
    with pytest.raises(ValueError, match="not an ar archive"):
        read_ar_members(b"PK\x03\x04")
