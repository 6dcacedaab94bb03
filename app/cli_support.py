"""What the command lines (`python -m app polysemy|probe`) share: the model by name, the JSON
written, and one way to stop on what cannot be used.

An input file, model or output path that cannot be used raises Unusable; `app.__main__` logs its
message and exits with status 2, as argparse does for arguments it cannot use.
"""
from __future__ import annotations

import json
from pathlib import Path

from bert_core import DEFAULT_MODEL, CheckpointError, load_pretrained

from .cpu_tuning import keep_freed_memory

EXIT_UNUSABLE = 2


class Unusable(Exception):
    """Something the command cannot use; the message says what and why, naming the file."""


def load_model(name_or_path: str):
    """(model, tokenizer) for a model name as the user types it: DEFAULT_MODEL is the bundled
    checkpoint, anything else a local folder or a hub id (the app's model service uses this too)."""
    keep_freed_memory()
    return load_pretrained(None if name_or_path == DEFAULT_MODEL else name_or_path)


def load_model_or_stop(name_or_path: str):
    """load_model, raising Unusable with the reason when the checkpoint cannot be loaded."""
    try:
        return load_model(name_or_path)
    except (CheckpointError, ValueError, OSError, RuntimeError) as err:
        raise Unusable(f"cannot load the model {name_or_path!r}: {err}") from err


def write_json(path: str | Path, data: dict) -> None:
    """Write `data` as indented UTF-8 JSON; Unusable when the path cannot be written."""
    try:
        Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    except OSError as err:
        raise Unusable(f"cannot write {path}: {err}") from err
