"""Loading Hugging Face BERT checkpoints: find the files, map the weight names, check everything.

A checkpoint is a folder with config.json, weights (model.safetensors, a sharded
model.safetensors.index.json, or pytorch_model.bin) and the tokenizer files; or a hub id,
looked up in the local Hugging Face cache and downloaded only where a network exists.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import pickle
import re
import threading
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import safe_open
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

# A config.json is only a few numbers, yet it decides how much memory the model takes: the size it
# implies is checked before anything is allocated (bert-large has 335 million parameters).
MAX_PARAMETERS_ENV = "BERT_EXPLORER_MAX_PARAMETERS"
DEFAULT_MAX_PARAMETERS = 500_000_000
# Weight files may hold up to this many times the limit: a tied MLM decoder repeats the word
# embeddings, and a fine-tuning head adds its own tensors.
FILE_ELEMENTS_FACTOR = 2


def max_parameters() -> int:
    """The largest model this process builds: $BERT_EXPLORER_MAX_PARAMETERS, or DEFAULT_MAX_PARAMETERS."""
    text = os.environ.get(MAX_PARAMETERS_ENV, "").strip().replace("_", "")
    if not text:
        return DEFAULT_MAX_PARAMETERS
    if not text.isdigit() or int(text) <= 0:
        raise ValueError(f"{MAX_PARAMETERS_ENV} must be a positive whole number of parameters, got {text!r}")
    return int(text)


def parameter_shapes(config: BertConfig, *, pooler: bool = True, mlm_head: bool = False,
                     nsp_head: bool = False) -> dict[str, torch.Size]:
    """Every parameter's name and shape for this config, as BertModel builds them, without allocating
    anything. (Building the model on the meta device would do the same, but its first weight
    initialisation there imports torch's compiler, which takes seconds.)"""
    v, h, i = config.vocab_size, config.hidden_size, config.intermediate_size
    square, vector = (h, h), (h,)
    shapes = {"embeddings.word_embeddings.weight": (v, h),
              "embeddings.position_embeddings.weight": (config.max_position_embeddings, h),
              "embeddings.token_type_embeddings.weight": (config.type_vocab_size, h),
              "embeddings.LayerNorm.weight": vector, "embeddings.LayerNorm.bias": vector}
    layer = {"attention.self.query.weight": square, "attention.self.query.bias": vector,
             "attention.self.key.weight": square, "attention.self.key.bias": vector,
             "attention.self.value.weight": square, "attention.self.value.bias": vector,
             "attention.output.dense.weight": square, "attention.output.dense.bias": vector,
             "attention.output.LayerNorm.weight": vector, "attention.output.LayerNorm.bias": vector,
             "intermediate.dense.weight": (i, h), "intermediate.dense.bias": (i,),
             "output.dense.weight": (h, i), "output.dense.bias": vector,
             "output.LayerNorm.weight": vector, "output.LayerNorm.bias": vector}
    shapes.update({f"encoder.layer.{n}.{key}": shape for n in range(config.num_hidden_layers)
                   for key, shape in layer.items()})
    heads = {"pooler": pooler, "mlm": mlm_head, "nsp": nsp_head}
    head_shapes = {"pooler": [square, vector], "mlm": [square, vector, vector, vector, (v,)], "nsp": [(2, h), (2,)]}
    for name, wanted in heads.items():
        if wanted:
            shapes.update(zip(OPTIONAL_GROUPS[name], head_shapes[name], strict=True))
    return {key: torch.Size(shape) for key, shape in shapes.items()}


def check_size(config: BertConfig, source: Path, limit: int | None = None) -> None:
    """Refuse a config whose encoder (heads left out) has more than `limit` parameters (max_parameters())."""
    limit = max_parameters() if limit is None else limit
    count = sum(shape.numel() for shape in parameter_shapes(config, pooler=False).values())
    if count > limit:
        raise CheckpointError(f"{source}: describes a model of {count:,} parameters, more than this server's limit "
                              f"of {limit:,} ({MAX_PARAMETERS_ENV}); nothing was loaded")


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
    """The folder's config.json, checked, and refused when the model it describes is over max_parameters()."""
    path = folder / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{folder} has no config.json: not a Hugging Face checkpoint folder")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
        config = BertConfig.from_dict(values)
    except (ValueError, TypeError) as err:  # JSONDecodeError and ConfigError are ValueErrors
        raise CheckpointError(f"{path}: {err}") from err
    check_size(config, path)
    return config


def read_state_dict(folder: Path) -> tuple[dict[str, torch.Tensor], Path]:
    """The raw tensors of the checkpoint, safetensors first, and the file they came from."""
    for name in WEIGHT_FILES:
        path = folder / name
        if path.is_file():
            break
    else:
        raise CheckpointError(f"{folder} has none of {', '.join(WEIGHT_FILES)}: no weights to load")
    limit = FILE_ELEMENTS_FACTOR * max_parameters()
    try:
        if name in ("model.safetensors", "model.safetensors.index.json"):
            files = [path]
            if name == "model.safetensors.index.json":
                shards = sorted(set(json.loads(path.read_text(encoding="utf-8"))["weight_map"].values()))
                files = [folder / shard for shard in shards]
            # The headers give every shape without reading the data: check the total first.
            _check_elements(sum(_header_elements(file) for file in files), limit, path)
            tensors = {}
            for file in files:
                tensors.update(load_file(file))
            return tensors, path
        state = _load_bin(path, limit)
    except CheckpointError:
        raise
    except pickle.UnpicklingError as err:
        raise CheckpointError(_unsafe_pickle_message(path, err)) from err
    except Exception as err:  # a truncated or corrupt file raises many kinds of error
        raise CheckpointError(f"{path}: cannot read the weights ({type(err).__name__}: {err})") from err
    if not isinstance(state, dict) or not all(isinstance(t, torch.Tensor) for t in state.values()):
        raise CheckpointError(f"{path}: not a state dict (a mapping of weight names to tensors)")
    _check_elements(sum(t.numel() for t in state.values()), limit, path)
    return state, path


def _header_elements(path: Path) -> int:
    with safe_open(path, framework="pt") as file:
        return sum(torch.Size(file.get_slice(key).get_shape()).numel() for key in file.keys())


def _check_elements(count: int, limit: int, path: Path) -> None:
    if count > limit:
        raise CheckpointError(f"{path}: holds {count:,} numbers, more than this server reads ({limit:,}, twice "
                              f"{MAX_PARAMETERS_ENV}); nothing was loaded")


def _load_bin(path: Path, limit: int):
    """A pytorch_model.bin, memory-mapped, so its tensors are only read once they are copied into the model.

    .bin is a pickle: weights_only refuses anything but tensors, so it cannot run code. A file in the
    old (pre-zip) format cannot be mapped: it is read whole, when its size is within the limit."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError as err:
        if "mmap can only be used" not in str(err):
            raise
    _check_elements(path.stat().st_size // 4, limit, path)  # float32 bytes: at most this many numbers
    return torch.load(path, map_location="cpu", weights_only=True)


def _unsafe_pickle_message(path: Path, err: Exception) -> str:
    """Our words for a pickle that weights_only refused. PyTorch's own message advises loading it with
    weights_only=False, which would run whatever code the file carries: never show that advice."""
    refused = re.search(r"GLOBAL ([\w.]+)", str(err))
    if refused is None:  # damaged, or pickle instructions a state dict never uses
        return (f"{path}: cannot read the weights: not a plain PyTorch state dict, or a damaged file "
                f"({type(err).__name__}); nothing in it was run")
    return (f"{path}: refused: besides tensors, this pickle asks for {refused[1]}, Python code or objects "
            "that could run when loaded, so it was not loaded. Use a checkpoint saved as model.safetensors; "
            "only if you trust where this file came from, convert it outside this app (load it once with "
            "torch.load and save its tensors with safetensors.torch.save_file as model.safetensors).")


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
    heads = {"pooler": "pooler" in present, "mlm_head": "mlm" in present, "nsp_head": "nsp" in present}
    # Names and shapes are checked on the meta device, so a config.json that does not fit its
    # weights is refused before the model it describes takes any memory.
    shapes = parameter_shapes(model_config, **heads)
    unexpected = [k for k in tensors if k not in shapes]
    if unexpected:
        raise CheckpointError(f"{source}: unexpected weights {_few(unexpected)} (is this a BERT checkpoint?)")
    wrong_shape = [f"{k} {tuple(t.shape)} vs {tuple(shapes[k])}"
                   for k, t in tensors.items() if t.shape != shapes[k]]
    if wrong_shape:
        raise CheckpointError(f"{source}: weights whose shape does not match config.json: {_few(wrong_shape)}")
    untied = [f"{k} (differs from {TIED_KEYS[k]})" for k, t in tied.items()
              if TIED_KEYS[k] in tensors and not torch.equal(t, tensors[TIED_KEYS[k]])]
    if untied:
        raise CheckpointError(f"{source}: its MLM decoder is not tied to the word embeddings, which this "
                              f"model requires: {_few(untied)}")
    with _without_random_init():
        model = BertModel(model_config, **heads)
    params = dict(model.named_parameters())
    never_loaded = sorted(set(params) - set(tensors))  # left uninitialised: must not happen
    if never_loaded:
        raise CheckpointError(f"{source}: missing weights {_few(never_loaded)}")
    with torch.no_grad():
        for key, tensor in tensors.items():
            params[key].copy_(tensor)
    return model


_RANDOM_INITS = ("kaiming_uniform_", "uniform_", "normal_")
_init_lock = threading.Lock()


@contextlib.contextmanager
def _without_random_init():
    """Build modules without drawing their random initial weights (as transformers' no_init_weights
    does): every parameter is then overwritten from the checkpoint, and drawing them took as long as
    reading the whole checkpoint. Patching torch.nn.init is process-wide, hence the lock."""
    with _init_lock:
        saved = {name: getattr(torch.nn.init, name) for name in _RANDOM_INITS}
        try:
            for name in _RANDOM_INITS:
                setattr(torch.nn.init, name, _keep)
            yield
        finally:
            for name, function in saved.items():
                setattr(torch.nn.init, name, function)


def _keep(tensor, *args, **kwargs):
    return tensor


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


def in_hub_cache(hub_id: str) -> bool:
    """Whether a hub id's checkpoint is in the local Hugging Face cache (nothing is downloaded)."""
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(hub_id, allow_patterns=["config.json"], cache_dir=_hub_cache(), local_files_only=True)
    except Exception:
        return False
    return True


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
