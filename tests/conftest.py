"""Shared fixtures: the real default model (loaded once) and the repository's paths."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EWT_DEV = ROOT.parent / "shared" / "data" / "ud-english-ewt" / "en_ewt-ud-dev.conllu"


@pytest.fixture(scope="session")
def default_model():
    """(model, tokenizer) of the bundled all-MiniLM-L6-v2, on the CPU, in float32."""
    from bert_core import load_pretrained

    return load_pretrained(device="cpu")


@pytest.fixture(scope="session")
def ewt_dev() -> Path:
    assert EWT_DEV.is_file(), f"UD English EWT dev set expected at {EWT_DEV}"
    return EWT_DEV
