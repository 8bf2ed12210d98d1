"""llama.cpp's CPU backend, built from the PyPI source distribution of ``llama-cpp-python``.

The sdist (``pip download --no-deps --no-binary :all: llama-cpp-python==<v>``) vendors llama.cpp
under ``vendor/llama.cpp``; we check its sha256, extract only that tree, and build it with the
system's cmake and g++ (Debian packages ``cmake``, ``g++``, ``make``) for the host's native CPU
flags (``GGML_NATIVE=ON``: ``-march=native``). Only what the measurements need is built: the
cmake target ``llama`` (libllama and the ggml libraries, static) and our two small programs linked
against them (``lib/sail/peers/cpp``): ``sail-llama-decode``, whose loops are copied from
``llama-batched-bench`` and ``llama-bench``, and ``sail-llama-quantize``, which calls
``llama_model_quantize`` as ``llama-quantize`` does. The tools themselves are not built: they link
llama.cpp's ``common`` library (argument parsing, chat templates, JSON, an HTTP client), which took
160 s of a 397 s build on 2 cores and is on no measured path.

Layout of a build under ``root`` (``resources/llamacpp/<version>`` in the pipeline)::

    src/                  vendor/llama.cpp from the sdist
    build/                cmake build tree (static libraries: build/src/libllama.a, build/ggml/src/libggml*.a)
    build/bin/<program>   sail-llama-decode, sail-llama-quantize
    build_info.json       version, llama.cpp commit, compiler, cmake flags, CPU model and flags

Every measurement records ``build_info.json``'s commit and CPU flags beside its numbers.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from sail.io import log, pip_download, sha256_file, write_json

#: Tools the build needs, with the Debian package that provides each.
REQUIRED_TOOLS = {"cmake": "cmake", "g++": "g++", "make": "make"}

#: cmake options: a Release build of the CPU backend for this host, static libraries (so our own
#: C++ timer links ggml without rpath games), and nothing that needs the network or a GPU.
CMAKE_OPTIONS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DGGML_NATIVE=ON",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_SERVER=OFF",
    "-DGGML_CCACHE=OFF",
)

#: /proc/cpuinfo flags that decide which ggml kernels run; recorded with every measurement.
CPU_FLAGS_OF_INTEREST = (
    "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_vbmi",
    "avx512_bf16", "avx_vnni", "amx_int8", "neon", "asimddp", "sve", "i8mm",
)

_STATIC_LIBS = ("ggml/src/libggml.a", "ggml/src/libggml-cpu.a", "ggml/src/libggml-base.a")
_LLAMA_LIB = "src/libllama.a"
#: cmake target that builds libllama and the ggml libraries it links.
CMAKE_TARGET = "llama"
#: Our programs over libllama: name -> C++ source (lib/sail/peers/cpp).
CPP_DIR = Path(__file__).with_name("cpp")
PROGRAMS = {"sail-llama-decode": CPP_DIR / "sail_llama_decode.cpp",
            "sail-llama-quantize": CPP_DIR / "sail_llama_quantize.cpp"}


class MissingTool(RuntimeError):
    """A build tool is not on PATH; the message names the Debian package to install."""


@dataclasses.dataclass(frozen=True)
class LlamaCppBuild:
    """A finished build: where its binaries, headers and libraries are, and what it was built from."""

    root: Path
    info: dict

    @property
    def src_dir(self) -> Path:
        return self.root / "src"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    @property
    def commit(self) -> str:
        return self.info["llamacpp_commit"]

    def binary(self, program: str) -> Path:
        """Path of a built program, e.g. ``binary('sail-llama-decode')``."""
        path = self.build_dir / "bin" / program
        built = self.info.get("programs", [])
        if program not in built or not path.is_file():
            raise ValueError(f"llama.cpp program {program!r} was not built in {self.build_dir} "
                             f"(built: {', '.join(built) or 'none'})")
        return path

    def include_dirs(self) -> list[Path]:
        """Header directories for code that links ggml (ggml.h, ggml-cpu.h, ggml-backend.h)."""
        return [self.src_dir / "ggml" / "include", self.src_dir / "ggml" / "src"]

    def static_libs(self) -> list[Path]:
        """ggml's static libraries in link order (ggml, ggml-cpu, ggml-base)."""
        return [self.build_dir / lib for lib in _STATIC_LIBS]

    def llama_include_dirs(self) -> list[Path]:
        """Header directories for code that links libllama (llama.h and the ggml headers)."""
        return [self.src_dir / "include", self.src_dir / "ggml" / "include"]

    def llama_static_libs(self) -> list[Path]:
        """libllama and ggml's static libraries, for a program that calls the llama API."""
        return [self.build_dir / _LLAMA_LIB, *self.static_libs()]

    def provenance(self) -> dict:
        """The columns every measurement table carries about the peer build."""
        return {
            "llamacpp_version": self.info["version"],
            "llamacpp_commit": self.commit,
            "cpu_model": self.info["cpu_model"],
            "cpu_flags": " ".join(self.info["cpu_flags"]),
        }


def check_tools(tools: dict[str, str] = REQUIRED_TOOLS) -> None:
    """Raise :class:`MissingTool` naming each missing tool and its Debian package."""
    missing = {t: pkg for t, pkg in tools.items() if shutil.which(t) is None}
    if missing:
        names = ", ".join(missing)
        pkgs = " ".join(sorted(set(missing.values())))
        raise MissingTool(f"building llama.cpp needs {names} on PATH: install with "
                          f"`apt-get install {pkgs}` (Debian/Ubuntu packages)")


def fetch_sdist(spec: str, sdist_file: str, sha256: str, out_path: str | Path) -> Path:
    """``pip download --no-deps --no-binary :all: <spec>`` into a temp dir, verify, move into place.

    A hash mismatch raises :class:`sail.io.HashMismatch` naming the expected and actual hash and
    leaves nothing at ``out_path``.
    """
    return pip_download(spec, sdist_file, sha256, out_path, extra_args=("--no-binary", ":all:"))


def llamacpp_commit(changelog_text: str, version: str) -> str:
    """The llama.cpp commit a llama-cpp-python release vendors, from its CHANGELOG.

    The sdist carries no ``.git``; each release's CHANGELOG section names the vendored commit
    ("update llama.cpp to ggml-org/llama.cpp@<sha>"). Raises ValueError if the section or the
    line is missing.
    """
    heading = rf"^## \[{re.escape(version)}\]\s*$(.*?)(?=^## \[|\Z)"
    section = re.search(heading, changelog_text, re.MULTILINE | re.DOTALL)
    if section is None:
        raise ValueError(f"CHANGELOG has no section for version {version!r}")
    sha = re.search(r"llama\.cpp@([0-9a-f]{7,40})", section.group(1))
    if sha is None:
        raise ValueError(f"CHANGELOG section {version!r} names no llama.cpp commit")
    return sha.group(1)


def extract_vendored(sdist_path: str | Path, dest: str | Path) -> tuple[Path, str, str]:
    """Extract ``vendor/llama.cpp`` of the sdist to ``dest``; return (dest, version, commit)."""
    dest = Path(dest)
    with tarfile.open(sdist_path, "r:gz") as tar:
        top = tar.getmembers()[0].name.split("/")[0]  # llama_cpp_python-<version>
        version = top.rsplit("-", 1)[-1]
        prefix = f"{top}/vendor/llama.cpp/"
        members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
        if not members:
            raise ValueError(f"{sdist_path} has no {prefix} tree")
        changelog = tar.extractfile(f"{top}/CHANGELOG.md").read().decode()
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
        try:
            for m in members:
                m.name = m.name[len(prefix):]
                if m.name:
                    tar.extract(m, tmp, filter="data")
            if dest.exists():
                shutil.rmtree(dest)
            tmp.replace(dest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return dest, version, llamacpp_commit(changelog, version)


def cpu_description() -> tuple[str, list[str]]:
    """The CPU model name and the SIMD flags of interest (from /proc/cpuinfo where it exists)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return model, []
    if m := re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE):
        model = m.group(1).strip()
    if m := re.search(r"^(?:flags|Features)\s*:\s*(.+)$", text, re.MULTILINE):
        flags = set(m.group(1).split())
    return model, [f for f in CPU_FLAGS_OF_INTEREST if f in flags]


def compiler_version(cxx: str = "g++") -> str:
    out = subprocess.run([cxx, "--version"], check=True, capture_output=True, text=True).stdout
    return out.splitlines()[0].strip()


def compile_cpp(source: str | Path, out: str | Path, include_dirs, static_libs, cxx: str | None = None) -> list[str]:
    """Compile one C++ program against llama.cpp's static libraries (atomic output); returns the command.

    ``static_libs`` are linked as a group (any order). ``-fopenmp``: ggml is built with GGML_OPENMP
    (its thread pool is OpenMP). The compiler is ``$CXX`` or ``g++``.
    """
    cxx = cxx or os.environ.get("CXX") or "g++"
    if shutil.which(cxx) is None:
        raise MissingTool(f"C++ compiler {cxx!r} not found: install it (Debian/Ubuntu: `apt-get install g++`; "
                          "conda: the gxx_linux-64 package) or set CXX")
    libs = [str(p) for p in static_libs]
    missing = [p for p in [str(source), *libs, *map(str, include_dirs)] if not Path(p).exists()]
    if missing:
        raise ValueError(f"llama.cpp build files missing: {missing}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    cmd = [cxx, "-O2", "-std=c++17", *[f"-I{d}" for d in include_dirs], str(source), "-o", str(tmp),
           "-Wl,--start-group", *libs, "-Wl,--end-group", "-fopenmp", "-lpthread", "-lm"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    os.replace(tmp, out)
    return cmd


def build_llamacpp(
    sdist_path: str | Path, root: str | Path, jobs: int = 2, disable_isa: list[str] | tuple[str, ...] = (),
) -> LlamaCppBuild:
    """Extract the sources and build libllama and ggml (static); write ``root/build_info.json`` last.

    ``disable_isa`` names instruction-set extensions that ``-march=native`` would enable but the
    host cannot execute (e.g. ``amx-int8`` in a KVM guest whose CPUID reports AMX while using a tile
    instruction traps); each becomes ``-mno-<isa>`` (GCC lets an explicit ``-mno-`` win over
    ``-march``), so ggml compiles without that kernel family.

    ``build_info.json`` is written only after the libraries built, so an interrupted build is
    redone by the next run rather than mistaken for a finished one.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    for isa in disable_isa:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", isa):
            raise ValueError(f"not an instruction-set name for -mno-<isa>: {isa!r}")
    check_tools()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    info_path = root / "build_info.json"
    info_path.unlink(missing_ok=True)
    src = root / "src"
    if src.exists():
        shutil.rmtree(src)
    _, version, commit = extract_vendored(sdist_path, src)
    build = root / "build"
    options = [*CMAKE_OPTIONS, f"-DLLAMA_BUILD_COMMIT={commit}"]
    if disable_isa:
        no_isa = " ".join(f"-mno-{isa}" for isa in disable_isa)
        options += [f"-DCMAKE_C_FLAGS={no_isa}", f"-DCMAKE_CXX_FLAGS={no_isa}"]
    t0 = time.perf_counter()
    env = {**os.environ, "CMAKE_BUILD_PARALLEL_LEVEL": str(jobs)}
    _run(["cmake", "-S", str(src), "-B", str(build), *options], env)
    _run(["cmake", "--build", str(build), "-j", str(jobs), "--target", CMAKE_TARGET], env)
    build_s = time.perf_counter() - t0
    cpu_model, cpu_flags = cpu_description()
    info = {
        "version": version,
        "llamacpp_commit": commit,
        "sdist": Path(sdist_path).name,
        "cmake_target": CMAKE_TARGET,
        "disabled_isa": list(disable_isa),
        "cmake_options": options,
        "compiler": compiler_version(),
        "cpu_model": cpu_model,
        "cpu_flags": cpu_flags,
        "build_s": round(build_s, 1),
        "jobs": jobs,
    }
    missing = [str(p) for p in LlamaCppBuild(root, info).llama_static_libs() if not p.is_file()]
    if missing:
        raise RuntimeError(f"llama.cpp build finished without {missing}")
    write_json(info, info_path)
    log.info("built llama.cpp %s (commit %s) in %.0f s", version, commit, build_s)
    return LlamaCppBuild(root, info)


def build_programs(root: str | Path, programs: list[str]) -> LlamaCppBuild:
    """Compile ``programs`` (names in :data:`PROGRAMS`) against the finished build under ``root``.

    Writes ``root/programs.json`` last (names, sources and their sha256, compile seconds), so a
    changed driver source recompiles in seconds without rebuilding llama.cpp.
    """
    if not programs:
        raise ValueError("no llama.cpp programs to build")
    unknown = [p for p in programs if p not in PROGRAMS]
    if unknown:
        raise ValueError(f"unknown llama.cpp program(s) {unknown}; known: {sorted(PROGRAMS)}")
    build = load_build(root)
    root = build.root
    (root / "programs.json").unlink(missing_ok=True)
    t0 = time.perf_counter()
    sources = {}
    for name in programs:
        cmd = compile_cpp(PROGRAMS[name], build.build_dir / "bin" / name, build.llama_include_dirs(),
                          build.llama_static_libs())
        log.info("$ %s", " ".join(cmd))
        sources[name] = {"source": f"lib/sail/peers/cpp/{PROGRAMS[name].name}",
                         "sha256": sha256_file(PROGRAMS[name])}
    write_json({"programs": list(programs), "sources": sources,
                "compile_s": round(time.perf_counter() - t0, 1)}, root / "programs.json")
    return load_build(root)


def load_build(root_or_info: str | Path) -> LlamaCppBuild:
    """A finished build from its root directory, its ``build_info.json`` or its ``programs.json``.

    The programs compiled by :func:`build_programs` (if any) are listed in ``info["programs"]``.
    """
    p = Path(root_or_info)
    root = p.parent if p.name in ("build_info.json", "programs.json") else p
    info_path = root / "build_info.json"
    if not info_path.is_file():
        raise FileNotFoundError(
            f"no finished llama.cpp build at {root} (build_info.json missing)")
    info = json.loads(info_path.read_text())
    programs_path = root / "programs.json"
    info["programs"] = json.loads(programs_path.read_text())["programs"] if programs_path.is_file() else []
    return LlamaCppBuild(root, info)


def _run(cmd: list[str], env: dict) -> None:
    """Run a build command, streaming its output into the log (a build takes minutes)."""
    log.info("$ %s", " ".join(cmd))
    tail: list[str] = []
    with subprocess.Popen(cmd, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        for line in proc.stdout:
            log.info("%s", line.rstrip())
            tail = [*tail[-19:], line.rstrip()]
    if proc.returncode != 0:
        joined = "\n".join(tail)
        raise RuntimeError(f"{cmd[0]} failed with exit code {proc.returncode}:\n{joined}")
