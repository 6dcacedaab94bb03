"""A model by the name a person types, for the app's model service and the command line:
DEFAULT_MODEL is the bundled checkpoint, anything else a local folder or a hub id."""
from __future__ import annotations

from bert_core import DEFAULT_MODEL, load_pretrained
from bert_core.weights import DownloadProgress, resolve_checkpoint


def load_model(name_or_path: str, *, download_progress: DownloadProgress | None = None):
    """(model, tokenizer); download_progress(done, total) follows the bytes of a hub download."""
    if name_or_path == DEFAULT_MODEL:
        return load_pretrained()
    return load_pretrained(resolve_checkpoint(name_or_path, progress=download_progress))
