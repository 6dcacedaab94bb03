"""Shared fixtures: the real default model (loaded once) and the repository's paths."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.component_scan import skip_component_scan
from bench.ewt import EWT_DEV

ROOT = Path(__file__).resolve().parents[1]
skip_component_scan()  # as the server does: AppTest would otherwise scan every package at every run


@pytest.fixture(scope="session")
def default_model():
    """(model, tokenizer) of the bundled all-MiniLM-L6-v2, on the CPU, in float32."""
    from bert_core import load_pretrained

    return load_pretrained(device="cpu")


@pytest.fixture(scope="session")
def ewt_dev() -> Path:
    assert EWT_DEV.is_file(), f"UD English EWT dev set expected at {EWT_DEV}"
    return EWT_DEV


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    """Where browser tests save their screenshots: a temporary folder, or $SCREENSHOTS_DIR
    (`SCREENSHOTS_DIR=docs/screenshots python -m pytest -m browser` refreshes the README's pictures)."""
    import os

    chosen = os.environ.get("SCREENSHOTS_DIR")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def chromium():
    """Debian's headless Chromium through Playwright; skipped where it is missing, except in CI."""
    import os

    from bench.browser import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()

