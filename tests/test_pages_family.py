"""Every page on a small random model of each family, loaded from its folder through the URL (?model=)
in personal mode, as a visitor would. The default suite runs each page at least once on a model
other than BERT and each family on the pages that depend most on it; `-m slow` runs every pair."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.family import FAMILIES, make_checkpoint

PAGES = ["home", "tokens", "attention", "inside_head", "head_overview", "word_in_context", "word_senses",
         "sentence_embeddings", "syntax_sentence", "syntax_corpus", "masked_words", "next_sentence", "training_data",
         "compare", "contributions", "corpus_search", "syntax_trees", "syntax_probes", "finetune", "task_heads",
         "lesson"]
# Each family on the pages where it differs most; each page once on some family other than BERT.
DEFAULT = {(family, "tokens") for family in FAMILIES if family != "bert"} | {
    ("roberta", "attention"), ("albert", "attention"),
    ("albert", "word_in_context"), ("albert", "compare"), ("roberta", "head_overview"), ("distilbert", "home"),
    ("electra", "inside_head"), ("xlm-roberta", "word_senses"), ("distilbert", "sentence_embeddings"),
    ("roberta", "syntax_sentence"), ("albert", "syntax_corpus"), ("roberta", "masked_words"),
    ("albert", "next_sentence"), ("xlm-roberta", "training_data"), ("roberta", "contributions"),
    ("electra", "corpus_search"), ("xlm-roberta", "syntax_trees"), ("albert", "syntax_probes"),
    ("distilbert", "finetune"), ("distilbert", "task_heads"), ("roberta", "lesson")}
CASES = [pytest.param(family, page, id=f"{family}-{page}",
                      marks=() if (family, page) in DEFAULT else pytest.mark.slow)
         for family in FAMILIES if family != "bert" for page in PAGES]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folders = {}

    def folder(family: str):
        if family not in folders:
            folders[family] = tmp_path_factory.mktemp(family) / "ckpt"
            make_checkpoint(folders[family], family, "tiny")
        return folders[family]
    return folder


@pytest.mark.parametrize("family, page", CASES)
def test_every_page_works_with_every_family(checkpoints, monkeypatch, tmp_path, family, page):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("BERT_EXPLORER_INDEX_DIR", str(tmp_path / "indexes"))  # Search a corpus builds one
    folder = checkpoints(family)
    specials = FAMILIES[family].specials
    at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=120)
    at.query_params["model"] = str(folder)
    second = "albert" if family == "distilbert" else "distilbert"
    if page == "compare":
        at.query_params["model_b"] = str(checkpoints(second))
    if page == "masked_words":  # the family's own mask token, typed
        at.query_params["a"], at.query_params["b"] = f"The cat sat on the {specials['mask_token']}.", ""
    at.run()
    at.switch_page(f"app/pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["model_name"] == str(folder), "the family's model was loaded, not the default"
    warnings = " ".join(w.value for w in at.warning)
    if page == "masked_words":
        assert ("has no masked" in warnings) if family == "electra" else at.dataframe  # ELECTRA: detection only
    elif family in ("roberta", "xlm-roberta"):  # one segment embedding: the sidebar's sentence B is left out
        assert "single segment embedding" in warnings
    elif family == "distilbert":
        assert "no segment embeddings" in warnings
    if page == "tokens":
        pieces = next(df.value for df in at.dataframe if "piece" in df.value.columns)
        steps = next(df.value for df in at.dataframe if "step" in df.value.columns)
        assert list(pieces["piece"])[0] == specials["cls_token"]
        assert {"special", "word start"} <= set(pieces["kind"])
        assert list(steps["step"]) == ["1. normaliser", "2. pre-tokeniser", "3. model", "4. post-processor"]
        assert steps["result"].iloc[-1].startswith(specials["cls_token"])
    if page == "attention":
        assert any(t.label == f"Hide {specials['cls_token']}/{specials['sep_token']}" for t in at.toggle)
    if page == "compare":
        parts = [df.value for df in at.dataframe if "part" in df.value.columns]
        assert len(parts) == 2  # the two models side by side
        assert any(p["part"].str.contains("shared").any() for p in parts) == ("albert" in (family, second))
