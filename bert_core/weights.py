"""Loading Hugging Face BERT checkpoints: find the files, map the weight names, check everything.

A checkpoint is a folder with config.json, weights (model.safetensors, a sharded
model.safetensors.index.json, or pytorch_model.bin) and the tokenizer files; or a hub id,
looked up in the local Hugging Face cache and downloaded only where a network exists.
"""
from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file

from .config import BertConfig
from .model import BertModel

log = logging.getLogger(__name__)


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be loaded as a BERT; the message names the file and the keys."""


# Our parameter names, with {} standing for the layer index. Checkpoint names map onto these
# after normalisation (see normalize_key): a leading "bert." is dropped, legacy gamma/beta
# become weight/bias. Each group is all-or-nothing.
EMBEDDING_KEYS = [
    "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight",
    "embeddings.token_type_embeddings.weight",
    "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias",
]
LAYER_KEYS = [
    "encoder.layer.{}.attention.self.query.weight", "encoder.layer.{}.attention.self.query.bias",
    "encoder.layer.{}.attention.self.key.weight", "encoder.layer.{}.attention.self.key.bias",
    "encoder.layer.{}.attention.self.value.weight", "encoder.layer.{}.attention.self.value.bias",
    "encoder.layer.{}.attention.output.dense.weight", "encoder.layer.{}.attention.output.dense.bias",
    "encoder.layer.{}.attention.output.LayerNorm.weight", "encoder.layer.{}.attention.output.LayerNorm.bias",
    "encoder.layer.{}.intermediate.dense.weight", "encoder.layer.{}.intermediate.dense.bias",
    "encoder.layer.{}.output.dense.weight", "encoder.layer.{}.output.dense.bias",
    "encoder.layer.{}.output.LayerNorm.weight", "encoder.layer.{}.output.LayerNorm.bias",
]
OPTIONAL_GROUPS = {
    "pooler": ["pooler.dense.weight", "pooler.dense.bias"],
    "mlm": ["cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
            "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias",
            "cls.predictions.bias"],
    "nsp": ["cls.seq_relationship.weight", "cls.seq_relationship.bias"],
}
# Present in many checkpoints but not parameters of ours: a buffer, and the MLM decoder, which we
# tie to the word embeddings (its bias is cls.predictions.bias): checked equal, then dropped.
IGNORED_KEYS = {"embeddings.position_ids"}
TIED_KEYS = {"cls.predictions.decoder.weight": "embeddings.word_embeddings.weight",
             "cls.predictions.decoder.bias": "cls.predictions.bias"}
# Fine-tuning heads of other BERT classes: the encoder under them is a BERT, so we load it.
TASK_HEAD_PREFIXES = ("classifier.", "qa_outputs.")

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


def normalize_key(key: str) -> str:
    if key.startswith("bert."):
        key = key[len("bert."):]
    if key.endswith(".gamma"):
        key = key[: -len(".gamma")] + ".weight"
    elif key.endswith(".beta"):
        key = key[: -len(".beta")] + ".bias"
    return key


def expected_keys(config: BertConfig) -> list[str]:
    return EMBEDDING_KEYS + [k.format(i) for i in range(config.num_hidden_layers) for k in LAYER_KEYS]


def read_config(folder: Path) -> BertConfig:
    path = folder / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{folder} has no config.json: not a Hugging Face checkpoint folder")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
        return BertConfig.from_dict(values)
    except (ValueError, TypeError) as err:  # JSONDecodeError and ConfigError are ValueErrors
        raise CheckpointError(f"{path}: {err}") from err


def read_state_dict(folder: Path) -> tuple[dict[str, torch.Tensor], Path]:
    """The raw tensors of the checkpoint, safetensors first, and the file they came from."""
    for name in WEIGHT_FILES:
        path = folder / name
        if path.is_file():
            break
    else:
        raise CheckpointError(f"{folder} has none of {', '.join(WEIGHT_FILES)}: no weights to load")
    try:
        if name == "model.safetensors":
            return load_file(path), path
        if name == "model.safetensors.index.json":
            shards = sorted(set(json.loads(path.read_text(encoding="utf-8"))["weight_map"].values()))
            tensors = {}
            for shard in shards:
                tensors.update(load_file(folder / shard))
            return tensors, path
        # .bin is a pickle: weights_only refuses anything but tensors, so it cannot run code
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated or corrupt file raises many kinds of error
        raise CheckpointError(f"{path}: cannot read the weights ({type(err).__name__}: {err})") from err
    if not isinstance(state, dict) or not all(isinstance(t, torch.Tensor) for t in state.values()):
        raise CheckpointError(f"{path}: not a state dict (a mapping of weight names to tensors)")
    return state, path


def load_weights(model_config: BertConfig, raw: dict[str, torch.Tensor], source: Path) -> BertModel:
    """Build the model the checkpoint describes and copy every weight in, or fail naming the keys."""
    tensors, tied = {}, {}
    for raw_key, tensor in raw.items():
        key = normalize_key(raw_key)
        if key in TIED_KEYS:
            tied[key] = tensor
            continue
        if key in IGNORED_KEYS:
            continue
        if key.startswith(TASK_HEAD_PREFIXES):
            log.info("%s: ignoring fine-tuning head weight %s", source, raw_key)
            continue
        tensors[key] = tensor
    groups = {name: [k for k in keys if k in tensors] for name, keys in OPTIONAL_GROUPS.items()}
    partial = [name for name, found in groups.items() if found and len(found) < len(OPTIONAL_GROUPS[name])]
    required = expected_keys(model_config) + [k for name in partial for k in OPTIONAL_GROUPS[name]]
    missing = [k for k in required if k not in tensors]
    if missing:
        raise CheckpointError(f"{source}: missing weights {_few(missing)}")

    present = {name for name, found in groups.items() if found}
    if "nsp" in present and "pooler" not in present:
        raise CheckpointError(f"{source}: has a next-sentence head but no pooler (pooler.dense.*)")
    model = BertModel(model_config, pooler="pooler" in present, mlm_head="mlm" in present,
                      nsp_head="nsp" in present)
    params = dict(model.named_parameters())
    unexpected = [k for k in tensors if k not in params]
    if unexpected:
        raise CheckpointError(f"{source}: unexpected weights {_few(unexpected)} (is this a BERT checkpoint?)")
    wrong_shape = [f"{k} {tuple(t.shape)} vs {tuple(params[k].shape)}"
                   for k, t in tensors.items() if t.shape != params[k].shape]
    if wrong_shape:
        raise CheckpointError(f"{source}: weights whose shape does not match config.json: {_few(wrong_shape)}")
    untied = [f"{k} (differs from {TIED_KEYS[k]})" for k, t in tied.items()
              if TIED_KEYS[k] in tensors and not torch.equal(t, tensors[TIED_KEYS[k]])]
    if untied:
        raise CheckpointError(f"{source}: its MLM decoder is not tied to the word embeddings, which this "
                              f"model requires: {_few(untied)}")
    with torch.no_grad():
        for key, tensor in tensors.items():
            params[key].copy_(tensor)
    return model


def _few(keys: list[str], limit: int = 8) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" … and {len(keys) - limit} more" if len(keys) > limit else "")


DownloadProgress = Callable[[int, int], None]  # (bytes written, bytes expected)


def resolve_checkpoint(name_or_path: str | os.PathLike, progress: DownloadProgress | None = None) -> Path:
    """A local folder as it is; otherwise a hub id, from the local cache or, with a network, the hub.
    progress(done, total) follows the bytes of a download, as they are written."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    text = str(name_or_path)
    if path.exists():
        raise CheckpointError(f"{text} is a file: give the checkpoint folder that holds config.json")
    if text.startswith((".", "/", "~")) or text.count("/") > 1 or "\\" in text:
        raise CheckpointError(f"checkpoint folder {text} does not exist")
    from huggingface_hub import snapshot_download

    patterns = ["config.json", *WEIGHT_FILES, "model-*.safetensors", "vocab.txt", "tokenizer*.json",
                "special_tokens_map.json"]
    cache = _hub_cache()
    try:
        return Path(snapshot_download(text, allow_patterns=patterns, cache_dir=cache, local_files_only=True))
    except Exception as err:
        if _offline():
            raise CheckpointError(
                f"{text!r} is neither a local folder nor in the Hugging Face cache ({cache or 'default location'}), "
                "and HF_HUB_OFFLINE is set, so it was not downloaded from the network. Download it where there "
                "is a network, or give the checkpoint folder's path.") from err
    try:
        return Path(snapshot_download(text, allow_patterns=patterns, cache_dir=cache,
                                      tqdm_class=None if progress is None else _reporting_tqdm(progress)))
    except Exception as err:
        raise CheckpointError(
            f"{text!r} is neither a local folder nor in the Hugging Face cache, and it could not be "
            f"downloaded ({type(err).__name__}: {err}). Without a network, download it elsewhere and give "
            "the folder path.") from err


def _reporting_tqdm(progress: DownloadProgress) -> type:
    """A tqdm class for snapshot_download that draws nothing and passes on the bytes written.

    huggingface_hub sums every file's bytes written to disk in one bar (its total grows as each
    file's size is known); its other byte bar ("Downloading bytes") counts network bytes against a
    guessed total, and its file-count bar is not in bytes: those two are not reported.
    """
    from tqdm import tqdm

    class Reporting(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs.update(disable=False, file=io.StringIO())
            super().__init__(*args, **kwargs)
            self.reports = self.unit == "B" and not str(self.desc).startswith("Downloading bytes")

        def display(self, *args, **kwargs):
            return True  # the callback shows the progress

        def update(self, n=1):
            shown = super().update(n)
            if self.reports:
                progress(int(self.n), int(self.total or self.n))
            return shown

    return Reporting


# huggingface_hub reads these environment variables once, when it is imported; we read them now,
# so that setting them later (in a notebook, or a test) still keeps us offline / in that cache.
def _offline() -> bool:
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return constants.HF_HUB_OFFLINE or flag.strip().upper() in {"1", "ON", "YES", "TRUE"}


def _hub_cache() -> str | None:
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return os.path.join(os.environ["HF_HOME"], "hub")
    return None  # huggingface_hub's default
