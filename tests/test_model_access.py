"""Who may load what (app/model_access.py): the modes, the operator's TOML list, and a classroom
server that never opens a path or hub id a visitor names."""
from __future__ import annotations

import json
import re

import pytest

from app import model_access, services
from app.model_access import Access, AccessError, LoadRefused, read_access
from bert_core import DEFAULT_MODEL
from tests.conftest import ROOT
from tests.test_sidebar_model import app, param, sidebar_errors, tiny_checkpoint, unescaped  # noqa: F401

NOT_OFFERED = "Cannot load {!r}: not a model this server offers. Using all-MiniLM-L6-v2 instead."


@pytest.fixture(autouse=True)
def fresh_access():
    """The server reads its mode once; each test here starts and ends with a fresh read."""
    services.server_access.clear()
    yield
    services.server_access.clear()


@pytest.fixture
def classroom(tmp_path, monkeypatch, tiny_checkpoint):  # noqa: F811
    """A classroom server offering the default and "Tiny (course)", a folder named relative to the TOML file."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "tiny").symlink_to(tiny_checkpoint)
    listing = tmp_path / "models.toml"
    listing.write_text('[models]\n"Tiny (course)" = "models/tiny"\n')
    monkeypatch.setenv("BERT_EXPLORER_MODE", "classroom")
    monkeypatch.setenv("BERT_EXPLORER_MODELS", str(listing))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return listing


def test_personal_is_the_default_mode():
    assert read_access({}) == Access("personal")
    assert read_access({"BERT_EXPLORER_MODE": " Personal "}).mode == "personal"


def test_classroom_reads_the_operators_list(tmp_path, hub_cache):
    hub_cache("google-bert/bert-base-uncased")
    (tmp_path / "local").mkdir()
    listing = tmp_path / "models.toml"
    listing.write_text('[models]\n"Local one" = "local"\n"BERT base" = "google-bert/bert-base-uncased"\n')
    access = read_access({"BERT_EXPLORER_MODE": "classroom", "BERT_EXPLORER_MODELS": str(listing)})
    assert access.classroom
    assert access.models == {DEFAULT_MODEL: DEFAULT_MODEL, "Local one": str(tmp_path / "local"),
                             "BERT base": "google-bert/bert-base-uncased"}
    assert read_access({"BERT_EXPLORER_MODE": "classroom"}).models == {DEFAULT_MODEL: DEFAULT_MODEL}


@pytest.mark.parametrize("mode, listing, message", [
    ("clasroom", None, "BERT_EXPLORER_MODE is 'clasroom'"),
    ("classroom", "missing.toml", "cannot read"),
    ("classroom", "[models\n", "cannot read"),
    ("classroom", 'models = "x"\n', "has no [models] table"),
    ("classroom", f'[models]\n"{DEFAULT_MODEL}" = "/elsewhere"\n', "always offered"),
    ("classroom", '[models]\n"x" = 3\n', "must be a name"),
])
def test_settings_that_cannot_be_used_are_refused(tmp_path, mode, listing, message):
    environ = {"BERT_EXPLORER_MODE": mode}
    if listing is not None:
        path = tmp_path / "models.toml"
        if listing != "missing.toml":
            path.write_text(listing)
        environ["BERT_EXPLORER_MODELS"] = str(path)
    with pytest.raises(AccessError, match=message.replace("[", r"\[")):
        read_access(environ)


def test_classroom_opens_nothing_a_visitor_names(tmp_path, monkeypatch, tiny_checkpoint):  # noqa: F811
    opened = []
    monkeypatch.setattr(model_access, "resolve_checkpoint", lambda source: opened.append(source))
    monkeypatch.setattr(model_access, "load_model", lambda source: opened.append(source))
    access = Access("classroom", {DEFAULT_MODEL: DEFAULT_MODEL})
    for name in [str(tiny_checkpoint), str(tmp_path / "missing"), "google-bert/bert-base-uncased", "nope"]:
        with pytest.raises(LoadRefused) as refused:
            model_access.open_model(access, name)
        assert str(refused.value) == f"Cannot load {name!r}: not a model this server offers."
    assert opened == []


def test_a_classroom_offers_its_models_in_a_select_box(classroom):
    at = app().run()
    assert not at.exception and not at.sidebar.error
    assert at.sidebar.text_input == []                        # nothing to type a path into
    box = at.sidebar.selectbox(key="model_select")
    assert box.options == [DEFAULT_MODEL, "Tiny (course)"] and box.value == DEFAULT_MODEL
    box.set_value("Tiny (course)").run()
    assert not at.exception and not at.sidebar.error
    assert "2 layers × 4 heads · 32 wide" in " ".join(str(c.value) for c in at.sidebar.caption)
    assert param(at, "model") == "Tiny (course)"
    at.switch_page("app/pages/tokens.py").run()                # the choice holds across pages
    assert not at.exception and at.sidebar.selectbox(key="model_select").value == "Tiny (course)"
    linked = app({"model": "Tiny (course)"}).run()              # and a link can name it
    assert not linked.exception and linked.sidebar.selectbox(key="model_select").value == "Tiny (course)"


def test_a_classroom_link_to_a_path_hub_id_or_unknown_name_gets_one_message(classroom, tmp_path, tiny_checkpoint):  # noqa: F811
    for name in [str(tiny_checkpoint), str(tmp_path / "missing"), str(tmp_path / "models" / "tiny"), "models/tiny",
                 "google-bert/bert-base-uncased", "Tiny", "[click](https://x.example)"]:
        at = app({"model": name}).run()
        assert not at.exception, name
        assert unescaped(sidebar_errors(at)) == NOT_OFFERED.format(name), name
        assert param(at, "model") == DEFAULT_MODEL
        assert at.sidebar.selectbox(key="model_select").value == DEFAULT_MODEL


def test_a_listed_model_that_fails_keeps_its_details_in_the_log(classroom, tmp_path, tiny_checkpoint, caplog):  # noqa: F811
    broken = tmp_path / "broken"
    broken.mkdir()
    for file in tiny_checkpoint.iterdir():
        (broken / file.name).write_bytes(file.read_bytes())
    config = json.loads((broken / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**config, "vocab_size": 100_000_000}))
    classroom.write_text(f'[models]\n"Broken" = "{broken}"\n')
    at = app({"model": "Broken"}).run()
    assert not at.exception
    assert unescaped(sidebar_errors(at)) == ("Cannot load 'Broken': its checkpoint failed to load (the server's log "
                                             f"says why). Using {DEFAULT_MODEL} instead.")
    assert str(broken) not in sidebar_errors(at) and "BERT_EXPLORER_MAX_PARAMETERS" in caplog.text


def test_settings_that_cannot_be_used_stop_the_page_with_a_message(monkeypatch):
    monkeypatch.setenv("BERT_EXPLORER_MODE", "open-to-all")
    at = app().run()
    assert not at.exception
    assert "This server is not set up correctly: BERT_EXPLORER_MODE is 'open-to-all'" in unescaped(
        " ".join(e.value for e in at.error))


def test_the_readme_example_list_reads_as_documented(tmp_path, hub_cache):
    hub_cache("google-bert/bert-base-uncased")  # "a hub id, already in the cache", as the example says
    readme = (ROOT / "README.md").read_text()
    example = next(block for block in re.findall(r"```toml\n(.*?)```", readme, re.S) if "[models]" in block)
    (tmp_path / "checkpoints" / "course-bert").mkdir(parents=True)
    (tmp_path / "models.toml").write_text(example)
    models = model_access.read_models(tmp_path / "models.toml")
    assert models == {DEFAULT_MODEL: DEFAULT_MODEL, "BERT base (uncased)": "google-bert/bert-base-uncased",
                      "Course model": str(tmp_path / "checkpoints" / "course-bert")}


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An empty Hugging Face cache; cache(hub_id) puts a checkpoint's config.json in it, as a download would."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def cache(hub_id: str) -> None:
        repo = tmp_path / "hub" / ("models--" + hub_id.replace("/", "--"))
        commit = "0123456789abcdef0123456789abcdef01234567"
        (repo / "snapshots" / commit).mkdir(parents=True)
        (repo / "snapshots" / commit / "config.json").write_text("{}")
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(commit)
    return cache


@pytest.mark.parametrize("source", ["./checkpoints/gone", "/srv/models/gone", "~/gone", "checkpoints/course/gone",
                                    "../gone", "checkpoints/gone", "google-bert/bert-base-uncassed"])
def test_an_operator_entry_that_is_no_folder_and_not_in_the_cache_is_named_at_start(tmp_path, hub_cache, source):
    (tmp_path / "models.toml").write_text(f'[models]\n"Course model" = "{source}"\n')
    with pytest.raises(model_access.AccessError, match="neither a folder .* nor a hub id in the Hugging Face cache"):
        model_access.read_models(tmp_path / "models.toml")


def test_an_operator_hub_id_in_the_cache_stays_a_hub_id(tmp_path, hub_cache):
    hub_cache("google-bert/bert-base-uncased")
    hub_cache("distilroberta-base")
    listing = '[models]\nbase = "google-bert/bert-base-uncased"\nsolo = "distilroberta-base"\n'
    (tmp_path / "models.toml").write_text(listing)
    models = model_access.read_models(tmp_path / "models.toml")
    assert models["base"] == "google-bert/bert-base-uncased" and models["solo"] == "distilroberta-base"
