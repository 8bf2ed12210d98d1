# Rules of the peers stage (lib/sail/peers): llama.cpp, the real CPU system measured beside ours.
# Fetched as the hash-checked PyPI sdist of llama-cpp-python (it vendors llama.cpp) and built once
# per version under resources/ with the system's cmake and g++; the kernels and validate stages
# link or run the build and record build_info.json's commit and CPU flags with every number.
# Our drivers over libllama (programs.json) stand in for llama.cpp's tools, which need its `common`
# library (lib/sail/peers/llamacpp.py says why).
LLAMACPP = config["llamacpp"]
LLAMACPP_ROOT = f"resources/llamacpp/{LLAMACPP['sdist_spec'].split('==')[1]}"


rule peers_llamacpp_fetch:
    output:
        f"resources/llamacpp/{LLAMACPP['sdist_file']}",
    log:
        "logs/peers/llamacpp_fetch.log",
    conda:
        CONDA_ENV
    params:
        spec=LLAMACPP["sdist_spec"],
        sdist_file=LLAMACPP["sdist_file"],
        sha256=LLAMACPP["sdist_sha256"],
    script:
        "../scripts/peers_llamacpp_fetch.py"


rule peers_llamacpp_build:
    input:
        sdist=rules.peers_llamacpp_fetch.output,
    output:
        info=f"{LLAMACPP_ROOT}/build_info.json",
    log:
        "logs/peers/llamacpp_build.log",
    conda:
        CONDA_ENV
    threads: workflow.cores
    params:
        root=lambda w, output: str(Path(output.info).parent),
        disable_isa=LLAMACPP["disable_isa"],
    script:
        "../scripts/peers_llamacpp_build.py"


rule peers_llamacpp_programs:
    # our drivers over libllama (seconds to compile): a changed source does not rebuild llama.cpp
    input:
        info=rules.peers_llamacpp_build.output.info,
        sources=[
            f"lib/sail/peers/cpp/{p.replace('-', '_')}.cpp"
            for p in LLAMACPP["programs"]
        ],
    output:
        programs=f"{LLAMACPP_ROOT}/programs.json",
    log:
        "logs/peers/llamacpp_programs.log",
    conda:
        CONDA_ENV
    params:
        root=lambda w, output: str(Path(output.programs).parent),
        programs=LLAMACPP["programs"],
    script:
        "../scripts/peers_llamacpp_programs.py"
