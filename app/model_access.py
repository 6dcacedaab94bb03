"""Who may load what: the server's mode and the models it offers.

BERT_EXPLORER_MODE, read once when the server starts (services.server_access):
- "personal" (the default): the person at the keyboard loads any checkpoint folder or hub id by
  name, in the sidebar or in ?model=, as the command lines do.
- "classroom": visitors choose among the models an operator lists in the TOML file that
  BERT_EXPLORER_MODELS names (a name mapped to a folder or a hub id, fetched beforehand); the
  bundled default is always listed. No path or hub id from a visitor is ever opened.

In both modes a refusal reads the same whether or not a path exists, so messages cannot map the
server's disk, and any failure to load becomes one LoadRefused with a message for the page.
"""
from __future__ import annotations

import logging
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bert_core import DEFAULT_MODEL
from bert_core.weights import WEIGHT_FILES, DownloadProgress, in_hub_cache, resolve_checkpoint

from .models import load_model

log = logging.getLogger(__name__)

MODE_ENV = "BERT_EXPLORER_MODE"
MODELS_ENV = "BERT_EXPLORER_MODELS"
PERSONAL, CLASSROOM = "personal", "classroom"


class AccessError(ValueError):
    """The operator's settings cannot be used; the message says which variable or file, and why."""


NOT_OFFERED = "not a model this server offers."
NO_CHECKPOINT = "no checkpoint there (a folder with config.json and weights, or a hub id)."


class LoadRefused(Exception):
    """A model that was not loaded: the name asked for, why (our words), and in personal mode the
    loader's own account of a checkpoint that exists but cannot be used (it names files)."""

    def __init__(self, name: str, reason: str, detail: str = ""):
        super().__init__(f"Cannot load {name!r}: {reason}" + (f" {detail}" if detail else ""))
        self.name, self.reason, self.detail = name, reason, detail


@dataclass(frozen=True)
class Access:
    mode: str
    # The names a classroom offers, each mapped to a checkpoint folder or hub id (the default maps to
    # itself: the bundled checkpoint). Empty in personal mode, where any name is tried.
    models: dict[str, str] = field(default_factory=dict)

    @property
    def classroom(self) -> bool:
        return self.mode == CLASSROOM


def read_access(environ: dict[str, str] | None = None) -> Access:
    """The mode and models the environment sets; AccessError when they cannot be used."""
    environ = os.environ if environ is None else environ
    mode = environ.get(MODE_ENV, "").strip().lower() or PERSONAL
    if mode not in (PERSONAL, CLASSROOM):
        raise AccessError(f"{MODE_ENV} is {mode!r}: use '{PERSONAL}' (the default) or '{CLASSROOM}'")
    if mode == PERSONAL:
        return Access(PERSONAL)
    listing = environ.get(MODELS_ENV, "").strip()
    return Access(CLASSROOM, read_models(Path(listing)) if listing else {DEFAULT_MODEL: DEFAULT_MODEL})


def read_models(path: Path) -> dict[str, str]:
    """The [models] table of an operator's TOML file: name = "folder or hub id". Relative folders are
    read from the file's own folder. The bundled default comes first, whatever the file says."""
    try:
        with path.open("rb") as file:
            table = tomllib.load(file).get("models")
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise AccessError(f"{MODELS_ENV}: cannot read {path}: {err}") from err
    if not isinstance(table, dict):
        raise AccessError(f'{MODELS_ENV}: {path} has no [models] table (lines such as name = "folder or hub id")')
    models = {DEFAULT_MODEL: DEFAULT_MODEL}
    for name, source in table.items():
        if name == DEFAULT_MODEL:
            raise AccessError(f"{MODELS_ENV}: {path} lists {DEFAULT_MODEL!r}, the bundled default, which is "
                              "always offered: give your model another name")
        if not isinstance(source, str) or not source.strip() or not name.strip():
            raise AccessError(f'{MODELS_ENV}: {path}: {name!r} must be a name = "folder or hub id"')
        folder = path.parent / Path(source).expanduser()
        if folder.is_dir():
            models[name] = str(folder)
        elif _is_hub_id(source) and in_hub_cache(source):
            models[name] = source
        else:  # a visitor's click must never be what downloads a model, or tries a mistyped folder on the hub
            raise AccessError(f"{MODELS_ENV}: {path}: {name!r} = {source!r} is neither a folder (looked for {folder}) "
                              "nor a hub id in the Hugging Face cache: download it first (`hf download ID`) or "
                              "correct the folder")
    return models


def _is_hub_id(source: str) -> bool:
    """'name' or 'owner/name' with the hub's characters; './x', '/x', '~/x', 'a/b/c' are paths."""
    return re.fullmatch(r"[\w.-]+(/[\w.-]+)?", source) is not None and not source.startswith(".")


def refusal(access: Access) -> str:
    """Why a name leads to no model, in words that are the same whether or not a path exists."""
    return NOT_OFFERED if access.classroom else NO_CHECKPOINT


def open_model(access: Access, name: str, *, download_progress: DownloadProgress | None = None):
    """(model, tokenizer) for a name a visitor chose, or LoadRefused; download_progress(done, total)
    follows the bytes of a hub download."""
    if access.classroom and name not in access.models:
        raise LoadRefused(name, NOT_OFFERED)
    source = access.models.get(name, name)
    if source == DEFAULT_MODEL:
        return load_model(DEFAULT_MODEL)
    try:
        folder = resolve_checkpoint(source, progress=download_progress)
    except Exception as err:  # a file, a missing path, an unknown hub id: all read the same
        log.warning("model %r: %s", name, err)
        raise LoadRefused(name, refusal(access)) from err
    if not _looks_like_checkpoint(folder):
        log.warning("model %r: %s has no config.json or no weight file", name, folder)
        raise LoadRefused(name, refusal(access))
    try:
        return load_model(str(folder))
    except Exception as err:  # any failure: the page falls back to the default model
        log.warning("model %r could not be loaded from %s", name, folder, exc_info=True)
        if access.classroom:  # the operator listed it: the details are for the server's log, not visitors
            raise LoadRefused(name, "its checkpoint failed to load (the server's log says why).") from err
        raise LoadRefused(name, "its checkpoint cannot be used:", str(err)) from err


def _looks_like_checkpoint(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any((folder / name).is_file() for name in WEIGHT_FILES)
