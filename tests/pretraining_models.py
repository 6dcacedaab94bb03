"""Random-weight checkpoints WITH pre-training heads, for the Pre-training tests: transformers'
BertForPreTraining (or BertForMaskedLM) saved with save_pretrained, plus a tokenizer, all offline.

The tiny one ("test" preset sizes) uses the bundled model's uncased 30,522-piece vocabulary, so the
course sentences tokenize as they do with bert-base-uncased; the base-shaped one keeps the parity
tests' small vocabulary. Their predictions are noise: they test the arithmetic, never the words.
"""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import torch
import transformers

from bert_core import PRESETS, default_checkpoint
from tests.test_bert_parity import hf_config, randomize, write_vocab

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
          "hidden_act", "max_position_embeddings", "type_vocab_size", "layer_norm_eps", "pad_token_id")


def tiny_config(vocab_size: int = 30522) -> transformers.BertConfig:
    ours = dataclasses.replace(PRESETS["test"], vocab_size=vocab_size)
    return transformers.BertConfig(**{f: getattr(ours, f) for f in FIELDS})


def save_random_checkpoint(folder: Path, *, cls=transformers.BertForPreTraining, shape: str = "tiny",
                           seed: int = 1) -> Path:
    """A random `cls` checkpoint in `folder`: tiny (the bundled tokenizer) or base-shaped (small vocabulary)."""
    config = tiny_config() if shape == "tiny" else hf_config("bert-base")
    torch.manual_seed(0)
    model = cls._from_config(config, attn_implementation="eager").eval()
    randomize(model, seed=seed)
    model.save_pretrained(folder)
    if shape == "tiny":
        for name in TOKENIZER_FILES:
            shutil.copy(default_checkpoint() / name, folder / name)
    else:
        write_vocab(folder, config.vocab_size)
    return folder
