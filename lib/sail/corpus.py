"""Jane Austen's six novels from Debian's ``r-cran-janeaustenr`` package, without R and without dpkg.

The ``.deb`` is an ``ar`` archive holding ``data.tar.xz``; inside, the R lazy-load database
``data/Rdata.rdx`` (gzip-compressed, R-serialised index: object name -> (offset, length)) points
into ``data/Rdata.rdb``, where each object is a 4-byte big-endian length followed by a zlib
stream of an R-serialised character vector (one element per line of the novel). ``rdata`` parses
the R serialisation. The extracted text is committed under ``data/corpus/``; this module is how it
was made and how ``snakemake corpus_regenerate`` checks it.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import warnings
import zlib
from pathlib import Path

BOOKS = ("emma", "mansfieldpark", "northangerabbey", "persuasion", "prideprejudice", "sensesensibility")
_DATA_DIR = "usr/lib/R/site-library/janeaustenr/data/"


def read_ar_members(deb_bytes: bytes) -> dict[str, bytes]:
    """Members of a System V ``ar`` archive (the .deb container format)."""
    if not deb_bytes.startswith(b"!<arch>\n"):
        raise ValueError("not an ar archive (a .deb starts with '!<arch>\\n')")
    members, pos = {}, 8
    while pos + 60 <= len(deb_bytes):
        header = deb_bytes[pos : pos + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        members[name] = deb_bytes[pos + 60 : pos + 60 + size]
        pos += 60 + size + (size % 2)  # members are 2-byte aligned
    return members


def _parse_r(raw: bytes):
    import rdata

    with warnings.catch_warnings():
        # rdata warns "Unknown file type: assumed RDS" for bare serialisations, which these are.
        warnings.simplefilter("ignore", UserWarning)
        return rdata.conversion.convert(rdata.parser.parse_data(raw))


def extract_novels(deb_path: str | Path) -> dict[str, str]:
    """Return ``{book: text}`` for the six novels, lines joined with ``\\n``."""
    members = read_ar_members(Path(deb_path).read_bytes())
    data_tar = next((v for k, v in members.items() if k.startswith("data.tar")), None)
    if data_tar is None:
        raise ValueError(f"{deb_path}: no data.tar.* member; members are {sorted(members)}")
    with tarfile.open(fileobj=io.BytesIO(data_tar)) as tar:
        def read(name):
            for prefix in ("./", ""):
                try:
                    return tar.extractfile(prefix + _DATA_DIR + name).read()
                except KeyError:
                    continue
            raise ValueError(f"{deb_path}: {_DATA_DIR}{name} not in the package")

        rdx, rdb = read("Rdata.rdx"), read("Rdata.rdb")
    index = _parse_r(gzip.decompress(rdx))["variables"]
    novels = {}
    for book in BOOKS:
        offset, length = (int(v) for v in index[book])
        blob = rdb[offset : offset + length]
        # 4-byte big-endian uncompressed length, then a zlib stream.
        lines = _parse_r(zlib.decompress(blob[4:]))
        novels[book] = "\n".join(str(line) for line in lines) + "\n"
    return novels


def load_book(corpus_dir: str | Path, book: str) -> str:
    """The committed plain text of one novel. Raises ValueError for an unknown book."""
    if book not in BOOKS:
        raise ValueError(f"unknown book {book!r}; choose one of {BOOKS}")
    return (Path(corpus_dir) / f"{book}.txt").read_text(encoding="utf-8")


def download_deb(package: str, version: str, sha256: str, out_path: str | Path) -> Path:
    """``apt-get download package=version`` into ``out_path``, checked against ``sha256``.

    Needs a Debian/Ubuntu host with apt. A hash mismatch raises :class:`sail.io.HashMismatch`
    with both hashes and leaves nothing at ``out_path``.
    """
    import shutil
    import subprocess
    import tempfile

    from sail.io import verify_sha256

    out_path = Path(out_path)
    if shutil.which("apt-get") is None:
        raise RuntimeError("apt-get not found: regenerating the corpus needs a Debian/Ubuntu host; "
                           "the extracted text is committed under data/corpus/")
    with tempfile.TemporaryDirectory(dir=out_path.parent if out_path.parent.exists() else None) as tmp:
        subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=tmp, check=True)
        (deb,) = Path(tmp).glob("*.deb")
        verify_sha256(deb, sha256)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(deb), out_path)
    return out_path


def write_corpus(novels: dict[str, str], out_dir: str | Path, provenance: dict) -> dict:
    """Write ``<book>.txt`` for every novel and ``PROVENANCE.json`` (with each text's sha256)."""
    import hashlib

    from sail.io import atomic_write, write_json

    out_dir = Path(out_dir)
    files = {}
    for book, text in sorted(novels.items()):
        with atomic_write(out_dir / f"{book}.txt") as fh:
            fh.write(text)
        files[f"{book}.txt"] = {
            "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "chars": len(text),
            "lines": text.count("\n"),
        }
    provenance = dict(provenance) | {"files": files}
    write_json(provenance, out_dir / "PROVENANCE.json")
    return provenance


def provenance_record(package: str, version: str, sha256: str) -> dict:
    return {
        "source": f"Debian 12 (bookworm) package {package} {version} (_all.deb)",
        "deb_sha256": sha256,
        "license": "novels: public domain; R packaging: MIT (Julia Silge), Debian packaging: Andreas Tille",
        "extraction": "sail.corpus.extract_novels: ar -> data.tar.xz -> R lazy-load DB "
                      "(Rdata.rdx index, zlib objects in Rdata.rdb) parsed with rdata; one line per "
                      "element of the R character vector, joined with '\\n'",
        "regenerate": "snakemake --cores 1 corpus_regenerate",
    }
