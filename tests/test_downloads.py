"""Hub downloads report their bytes: bert_core.weights.resolve_checkpoint passes them to a callback,
the CLI draws them on stderr and the app's model service as a progress bar. No network: a fake
snapshot_download drives huggingface_hub's progress bars the way the real one does (bars made on
the calling thread, bytes added from its download threads) and returns the bundled checkpoint."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import huggingface_hub
import pytest
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from app import services
from app.__main__ import main
from bert_core import default_checkpoint
from bert_core.weights import resolve_checkpoint
from tests.conftest import ROOT

HUB_ID = "bert-explorer-tests/not-cached"
CHUNK = 1 << 20


@pytest.fixture
def fake_hub(monkeypatch):
    """A hub id that is not in the cache and downloads, returning the bundled checkpoint's folder."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    folder = default_checkpoint()
    sizes = [path.stat().st_size for path in sorted(folder.iterdir()) if path.is_file()]
    downloads = []

    def snapshot_download(repo_id, *, allow_patterns, cache_dir, local_files_only=False, tqdm_class=None):
        if local_files_only:
            raise FileNotFoundError(f"{repo_id} is not in the cache")
        downloads.append(repo_id)
        network = tqdm_class(total=0, initial=0, unit="B", unit_scale=True, desc="Downloading bytes")
        written = tqdm_class(total=0, initial=0, unit="B", unit_scale=True, desc="Reconstructing (incomplete total...)")
        written.total = sum(sizes)

        def fetch(size):
            for start in range(0, size, CHUNK):
                network.update(min(CHUNK, size - start) // 2)   # compressed on the wire
                written.update(min(CHUNK, size - start))

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(tqdm_class(pool.map(fetch, sizes), total=len(sizes), desc=f"Fetching {len(sizes)} files"))
        return str(folder)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    return folder, sum(sizes), downloads


def test_resolve_checkpoint_reports_the_bytes_written(fake_hub, capsys):
    folder, total, downloads = fake_hub
    reports = []
    assert resolve_checkpoint(HUB_ID, progress=lambda done, expected: reports.append((done, expected))) == folder
    assert downloads == [HUB_ID] and reports[-1] == (total, total)
    done = [d for d, _ in reports]
    assert done == sorted(done) and len(reports) > 5                 # bytes, as they come
    assert {expected for _, expected in reports} == {total}           # not the network bar's guessed total
    assert capsys.readouterr().err == ""                              # the callback shows it; tqdm draws nothing


def test_the_command_line_draws_the_download_on_stderr(fake_hub, tmp_path, capsys):
    out = tmp_path / "o.json"
    assert main(["probe", "--conllu", str(ROOT / "data" / "syntax_sample.conllu"), "--max-sentences", "2",
                 "--model", HUB_ID, "--json", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"downloading {HUB_ID}" in err and "100%" in err and out.exists()


def test_the_app_shows_the_download_as_a_progress_bar(fake_hub, monkeypatch):
    _, total, downloads = fake_hub
    shown = []
    draw = DeltaGenerator.progress

    def recorded(self, value, text=None):
        shown.append((value, text))
        return draw(self, value, text=text)

    monkeypatch.setattr(DeltaGenerator, "progress", recorded)
    services.get_model.clear()
    try:
        at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=180)
        at.query_params["model"] = HUB_ID
        at.run()
    finally:
        services.get_model.clear()
    assert not at.exception and not at.sidebar.error and downloads == [HUB_ID]
    texts = [text for _, text in shown if text and text.startswith(f"Downloading {HUB_ID}")]
    assert texts and texts[-1].endswith(f"{total / 1e6:,.1f} of {total / 1e6:,.1f} MB")
    assert [value for value, text in shown if text in texts][-1] == 1.0
