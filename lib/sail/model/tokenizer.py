"""SmolLM2's byte-level BPE tokenizer rebuilt from the vocabulary and merges stored in the GGUF.

The GGUF's ``tokenizer.ggml.pre = "smollm"`` is the Hugging Face pipeline ``Digits(individual)``
then ``ByteLevel(add_prefix_space=False)``; tokens of GGUF type 3 (control) are special tokens.
Checked against ``transformers``' own GGUF tokenizer in ``tests/model`` (committed reference ids).
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

_CONTROL = 3  # llama.cpp token type


class GGUFTokenizer:
    """``encode(text) -> list[int]`` and ``decode(ids) -> str``; no BOS is added (SmolLM2 does not use one)."""

    def __init__(self, tokens: list[str], merges: list[str], token_types: list[int], eos_id: int):
        vocab = {tok: i for i, tok in enumerate(tokens)}
        bpe = models.BPE(vocab=vocab, merges=[tuple(m.split(" ", 1)) for m in merges], fuse_unk=False)
        tk = Tokenizer(bpe)
        tk.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ])
        tk.decoder = decoders.ByteLevel()
        tk.add_special_tokens([AddedToken(tokens[i], special=True, normalized=False)
                               for i, t in enumerate(token_types) if t == _CONTROL])
        self._tk = tk
        self.eos_id = eos_id
        self.vocab_size = len(tokens)
        self._special = {tokens[i]: i for i, t in enumerate(token_types) if t == _CONTROL}

    def stop_ids(self) -> set[int]:
        """Ids that end a generated answer: the GGUF's EOS and the chat end-of-turn marker."""
        return {self.eos_id} | {i for name, i in self._special.items() if name in ("<|im_end|>", "<|endoftext|>")}

    def encode(self, text: str) -> list[int]:
        return self._tk.encode(text, add_special_tokens=False).ids

    def decode(self, ids) -> str:
        return self._tk.decode([int(i) for i in ids], skip_special_tokens=False)

    def chat_prompt(self, user: str) -> str:
        """SmolLM2-Instruct's chat template for one user turn (system line as in the GGUF template)."""
        return ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n")


def load_tokenizer(gguf_path: str | Path) -> GGUFTokenizer:
    from sail.model.gguf_io import open_gguf

    reader = open_gguf(gguf_path)
    f = reader.fields
    tokens = list(f["tokenizer.ggml.tokens"])
    merges = list(f["tokenizer.ggml.merges"])
    types = [int(t) for t in f["tokenizer.ggml.token_type"]]
    eos = int(f["tokenizer.ggml.eos_token_id"])
    if f["tokenizer.ggml.model"] != "gpt2":
        raise ValueError(f"expected a gpt2-style BPE tokenizer, got {f['tokenizer.ggml.model']!r}")
    return GGUFTokenizer(tokens, merges, types, eos)
