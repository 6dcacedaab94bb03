"""AppTest of the Pre-training pages: with a checkpoint that has the heads (a tiny random
BertForPreTraining folder: its numbers are noise, the arithmetic is what is checked) and with the
default all-MiniLM-L6-v2, which has none (a clear message, the simulator, no traceback)."""
import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app import pretraining as pt
from bert_core import load_pretrained
from tests.pretraining_models import save_random_checkpoint

# The server sets its own thread count, so its float32 sums round differently from this process's.
SAME = dict(rel=1e-5, abs=1e-9)
MASKED, NEXT, DATA = "app/pages/masked_words.py", "app/pages/next_sentence.py", "app/pages/training_data.py"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return save_random_checkpoint(tmp_path_factory.mktemp("pretraining_pages"))


@pytest.fixture(scope="module")
def tiny(folder):
    return load_pretrained(folder, device="cpu")


def open_page(page, text_a, text_b="", model=None, query=None):
    at = AppTest.from_file("../router.py", default_timeout=180)
    at.query_params["a"], at.query_params["b"] = text_a, text_b
    if model is not None:
        at.query_params["model"] = str(model)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements):
    """The elements' text as a reader sees it (Markdown escapes removed)."""
    return " ".join(str(e.value) for e in elements).replace("\\", "")


def decoded(value):
    """A plotly array as a list: plotly 6 sends numeric arrays as base64 typed arrays."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return array.reshape([int(n) for n in str(value.get("shape", len(array))).split(",")]).tolist()
    return value


def chart(at, index, trace=0):
    data = json.loads(at.get("plotly_chart")[index].proto.spec)["data"][trace]
    return {name: decoded(value) for name, value in data.items()}


def test_masked_words_shows_the_cli_numbers_lens_and_pins(folder, tiny):
    text = "Istanbul is a great [MASK] to visit."
    at = open_page(MASKED, text, model=folder)
    model, tokenizer = tiny
    expected = pt.fill_mask_json(str(folder), pt.run_fill_mask(model, pt.mask_input(tokenizer, text)), tokenizer)
    (mask,) = expected["masks"]
    assert "Mask 1: piece 5" in texts(at.subheader)
    bars = chart(at, 0)
    assert bars["y"] == [p["token"] for p in mask["predictions"]]
    assert bars["x"] == pytest.approx([p["probability"] for p in mask["predictions"]], **SAME)
    lens = chart(at, 1)
    assert lens["y"] == ["1", "2"] and lens["z"][1] == pytest.approx(bars["x"], **SAME)  # layer L = final
    assert lens["z"][0] == pytest.approx([p["probability"] for p in mask["layers"][0]["predictions"]], **SAME)
    assert len(at.get("plotly_chart")) == 4                                   # bars, lens, rank and probability
    labels = [b.label for b in at.get("download_button")]
    assert any(label.startswith("Predictions and the lens (JSON") for label in labels)
    assert any(label.startswith("Scores (JSON") for label in labels)
    assert len(at.metric) == 2 and "PLL-word-l2r" in texts(at.markdown)       # the two default PLL sentences
    pll = pt.pll_word_l2r(model, tokenizer, "The keys to the cabinet are on the table.")
    assert at.metric[0].value == f"{pll.pll:.2f}"

    at.slider(key="temp").set_value(2.0).run()
    hot = chart(at, 0)
    assert max(hot["x"]) < max(bars["x"])                                     # a higher temperature flattens
    at.text_input(key="targets").set_value("city, place").run()
    assert sorted(chart(at, 0)["y"]) == ["city", "place"]
    at.text_input(key="pin").set_value("paris").run()
    assert chart(at, 2, trace=1)["name"] == "paris"


def test_masked_words_picks_whole_words_and_opens_the_attention_view_on_the_masked_sentence(folder):
    at = open_page(MASKED, "Tokenization is hard.", model=folder)
    assert "nothing is masked" in texts(at.error) and len(at.metric) == 2    # PLL still works
    at.multiselect(key="mask").set_value([0]).run()                            # "Tokenization": two pieces
    assert not at.error and texts(at.subheader[:2]) == "Mask 1: piece 1 (hid token) Mask 2: piece 2 (hid ##ization)"
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["text_a"] == "[MASK][MASK] is hard."
    assert at.title[0].value == "Attention views"


@pytest.mark.parametrize("text, message", [
    ("[MASK] " * 20, "20 pieces are masked: at most 10"),
    ("[CLS] is a [MASK]", "[CLS] is typed in the text"),
    ("word " * 600 + "[MASK]", "BERT reads at most 512"),
])
def test_masked_words_bad_input_is_a_message_and_the_rest_works(folder, text, message):
    at = open_page(MASKED, text, model=folder)
    assert message in texts(at.error) and len(at.metric) == 2


def test_next_sentence_shows_p_is_next_for_b_and_alternatives(folder, tiny):
    a, b = "The man went to the store.", "He bought a gallon of milk."
    at = open_page(NEXT, a, b, model=folder)
    results = pt.next_sentence(*tiny, a, [b, "Penguins are flightless."])
    assert at.metric[0].value == f"{results[0].is_next:.4f}"
    bars = chart(at, 0)
    assert bars["x"] == pytest.approx([r.is_next for r in results], **SAME)
    assert len(chart(at, 1)["z"][0]) == 32                                     # the pooled vector, hidden size
    at.selectbox(key="nsp_pair").set_value(0).run()                           # a course pair goes to the sidebar
    assert at.session_state["text_a"] == "I love my pet Python" and not at.exception


@pytest.mark.parametrize("page, head", [(MASKED, "masked-LM head"), (NEXT, "next-sentence head")])
def test_pages_explain_a_model_without_heads_and_show_the_simulator(page, head):
    at = open_page(page, "Istanbul is a great [MASK] to visit.", "It is big.")
    warning = texts(at.warning)
    assert f"has no {head}" in warning and "bert-base-uncased" in warning and "BertForPreTraining" in warning
    assert not at.get("plotly_chart") and not at.metric                      # no prediction of any kind
    table = at.dataframe[0].value
    assert "[MASK]" in set(table["model reads"]) or "random token" in set(table["what happened"]) or \
        "kept" in set(table["what happened"])
    assert at.get("page_link")[0].proto.page.endswith("training_data")


def test_training_data_page_simulates_masking_and_pairs_with_the_default_model():
    text = "The keys to the cabinet are on the table, said the tokenization expert."
    at = open_page(DATA, text)
    _, tokenizer = load_pretrained(device="cpu")
    table = at.dataframe[0].value
    assert table.to_dict("records") == pt.simulate_masking(tokenizer, text, seed=0)
    at.button(key="mask_reroll").click().run()
    assert at.number_input(key="mask_seed").value == 1
    assert at.dataframe[0].value.to_dict("records") == pt.simulate_masking(tokenizer, text, seed=1)
    at.toggle(key="mask_wwm").set_value(True).run()
    assert at.dataframe[0].value.to_dict("records") == pt.simulate_masking(tokenizer, text, seed=1, whole_word=True)
    pair = pt.make_nsp_pair(pt.read_corpus(), 0)
    assert f"A:** {pair.text_a}" in texts(at.markdown)
    pieces = at.dataframe[1].value
    assert pieces["piece"].iloc[0] == "[CLS]" and set(pieces["segment id"]) == {0, 1}


def test_a_masked_lm_checkpoint_fills_masks_but_has_no_next_sentence_head(tmp_path):
    import transformers

    folder = save_random_checkpoint(tmp_path, cls=transformers.BertForMaskedLM)
    at = open_page(MASKED, "Istanbul is a great [MASK] to visit.", model=folder)
    assert "Mask 1: piece 5" in texts(at.subheader) and not at.warning
    at = open_page(NEXT, "The man went to the store.", "He bought a gallon of milk.", model=folder)
    assert "has no next-sentence head" in texts(at.warning) and not at.metric
