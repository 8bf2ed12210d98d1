"""Produce tests/model/reference/smollm2_reference.npz once, with Hugging Face transformers.

Not part of the pipeline and not a dependency: run it in a throwaway venv
(`pip install torch==2.13.0 transformers accelerate gguf numpy`) as
`python tests/model/make_reference.py <path to SmolLM2-135M-Instruct.Q4_1.gguf>`.
transformers dequantises the same GGUF, un-permutes Q/K and runs its own Llama; our model must
match its logits (max abs diff < 1e-3), its tokenizer ids and its greedy answer.
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

TEXTS = [
    "It is a truth universally acknowledged, that a single man in possession of a good fortune,",
    "Emma Woodhouse, handsome, clever, and rich, with a comfortable home and happy disposition",
    "Numbers 1234567 and   spaces\n\ttabs, café naïve — “quotes” 😀 <|im_start|>user",
]
LOGIT_TEXT = TEXTS[0]
CHAT_QUESTION = "What is the capital of France?"
VOCAB_SLICE = 1024  # all positions x the first 1024 vocab entries, plus the full last row
NEW_TOKENS = 24


def main(gguf_path: str) -> None:
    gguf_path = Path(gguf_path).resolve()
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name,
                                                 torch_dtype=torch.float32).eval()
    token_ids = [tok(t, add_special_tokens=False)["input_ids"] for t in TEXTS]
    ids = torch.tensor([token_ids[0]])
    with torch.no_grad():
        logits = model(ids).logits[0].float().numpy()
    chat = tok.apply_chat_template([{"role": "user", "content": CHAT_QUESTION}], tokenize=False,
                                   add_generation_prompt=True)
    chat_ids = tok(chat, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        gen = model.generate(chat_ids, max_new_tokens=NEW_TOKENS, do_sample=False)
    answer_ids = gen[0, chat_ids.shape[1]:].tolist()
    meta = {"transformers": transformers.__version__, "torch": torch.__version__, "texts": TEXTS,
            "token_ids": token_ids, "chat_prompt": chat, "chat_prompt_ids": chat_ids[0].tolist(),
            "answer_ids": answer_ids, "answer": tok.decode(answer_ids, skip_special_tokens=True)}
    out = Path(__file__).parent / "reference"
    out.mkdir(exist_ok=True)
    np.savez_compressed(out / "smollm2_reference.npz", input_ids=ids[0].numpy(),
                        logits_head=logits[:, :VOCAB_SLICE], logits_last=logits[-1])
    (out / "smollm2_reference.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: meta[k] for k in ("answer", "answer_ids")}, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1])
