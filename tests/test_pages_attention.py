"""AppTest of the Tokens and embeddings, Inside one head and Head overview pages on the real
default model: what they show, bad input, and page state in the URL."""
import pytest
from streamlit.testing.v1 import AppTest

from tests.links import reopen, shared_link

TOKENS, INSIDE, OVERVIEW = "app/pages/tokens.py", "app/pages/inside_head.py", "app/pages/head_overview.py"
MY_PAGES = [TOKENS, INSIDE, OVERVIEW]


def open_page(page, query=None, text_a=None, text_b=""):
    at = AppTest.from_file("../router.py", default_timeout=180)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    if text_a is not None:
        at.query_params["a"], at.query_params["b"] = text_a, text_b
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements):
    return " ".join(str(e.value) for e in elements)


def test_tokens_page_shows_pieces_embedding_parts_and_the_model_card():
    at = open_page(TOKENS, text_a="Embeddings are fun", text_b="Yes")
    pieces = at.dataframe[0].value
    assert list(pieces["piece"]) == ["[CLS]", "em", "##bed", "##ding", "##s", "are", "fun", "[SEP]", "yes", "[SEP]"]
    assert list(pieces["segment"]) == ["A"] * 8 + ["B"] * 2
    assert "E = T + S + P" in texts(at.header)
    steps = at.dataframe[1].value  # the tokenizer, step by step (uncased: lower-cased by the normaliser)
    assert list(steps["result"])[0] == "embeddings are fun | yes"
    card = at.dataframe[2].value
    assert dict(zip(card.iloc[:, 0], card.iloc[:, 1], strict=True))["layers"] == "6"
    family = at.dataframe[3].value
    assert {"bert-tiny", "bert-base", "bert-large"} <= set(family["model"])
    assert len(at.get("plotly_chart")) == 2                       # stacked norms, vector heatmap
    labels = [b.label for b in at.get("download_button")]
    assert "Pieces and norms (CSV)" in labels and "Embedding vectors (JSON)" in labels
    at.radio(key="tokens_view").set_value("Share of E carried by each part").run()
    assert not at.exception


def test_inside_head_page_walks_through_and_checks_against_the_model():
    at = open_page(INSIDE, text_a="The cat sat on the mat.")
    assert [h.value for h in at.header] == ["1. The input X", "2. Queries, keys and values",
                                            "3. Scores: q·k / √dₖ, then softmax", "4. The weighted sum of V",
                                            "5. All heads together, then Wᴼ"]
    assert "match the model's own" in texts(at.success)
    assert len(at.get("plotly_chart")) == 7
    # Layers and heads are numbered from 1 on the page, as on the Syntax pages; the default is index 1.
    assert at.selectbox(key="layer").options == [str(n) for n in range(1, 7)]
    assert at.selectbox(key="head").options == [str(n) for n in range(1, 13)]
    assert "X is the input of layer 2: the output of layer 1" in texts(at.markdown)
    at.selectbox(key="layer").set_value(0).run()                # index 0: encoder layer 1, fed the embeddings
    assert "X is the input of layer 1: the embedding output (layer 0)" in texts(at.markdown)
    at.selectbox(key="layer").set_value(5).run()
    at.selectbox(key="head").set_value(11).run()
    assert not at.exception and "match the model's own" in texts(at.success)
    assert "X is the input of layer 6: the output of layer 5" in texts(at.markdown)
    assert "layer 0:" not in texts(at.markdown)                   # the old 0-based wording


def test_head_overview_shows_every_statistic_rollout_and_ablation():
    at = open_page(OVERVIEW, query={"off": ["1-2", "4-5", "0-3", "7-1"]})  # layer-head from 1; 0-3, 7-1 do not exist
    assert len(at.get("plotly_chart")) == 7 + 3 + 1 + 1           # 7 + 3 head grids, rollout, ablation bars
    assert at.multiselect(key="off").value == ["1-2", "4-5"]
    assert at.multiselect(key="off").options[0] == "1-1" and at.multiselect(key="off").options[-1] == "6-12"
    assert "Mean cosine similarity" in texts(at.caption)
    assert "Head statistics (CSV)" in [b.label for b in at.get("download_button")]
    assert at.get("page_link")[0].proto.page.endswith("inside_head")
    at.multiselect(key="off").set_value([]).run()
    assert "Pick one or more heads" in texts(at.info)


def shown(selectbox) -> str:
    """The option a selectbox shows (its label), not the index it holds."""
    return selectbox.options[selectbox.index]


def test_url_opens_inside_head_at_layer_head_and_token_and_follows_changes():
    at = open_page(INSIDE, query={"layer": "3", "head": "7", "token": "2"})  # layer and head numbered from 1
    layer, head, token = (at.selectbox(key=name) for name in ("layer", "head", "token"))
    assert (shown(layer), shown(head), token.value) == ("3", "7", 2)
    assert (layer.value, head.value) == (2, 6)                    # the 0-based indices behind them
    assert at.selectbox(key="layer").proto.query_param_key == "layer"   # bound: the browser writes ?layer=
    at.selectbox(key="head").set_value(3).run()
    assert shared_link(at)["head"] == "4" and shared_link(at)["layer"] == "3" and shared_link(at)["token"] == "2"


def test_bad_url_values_fall_back_silently():
    at = open_page(INSIDE, query={"layer": "abc", "head": "99", "token": "-5"})
    assert shown(at.selectbox(key="layer")) == "2"            # the default
    assert shown(at.selectbox(key="head")) == "2"             # no head 99: the default (a bound widget ignores it)
    assert at.selectbox(key="token").value == 0              # clamped to the first token
    assert not at.error and not at.warning
    at = open_page(INSIDE, query={"layer": "0", "head": "0"})    # numbered from 1: 0 is not a layer or head
    assert (shown(at.selectbox(key="layer")), shown(at.selectbox(key="head"))) == ("2", "2")


def test_url_opens_head_overview_at_the_chosen_head():
    at = open_page(OVERVIEW, query={"pick_layer": "4", "pick_head": "9"})
    assert (shown(at.selectbox(key="pick_layer")), shown(at.selectbox(key="pick_head"))) == ("4", "9")
    links = [link.proto for link in at.get("page_link")]
    assert [link.page.rsplit("/", 1)[-1] for link in links] == ["inside_head", "attention"]
    assert all("layer 4, head 9" in link.label for link in links)
    assert all({"layer=4", "head=9"} <= set(link.query_string.split("&")) for link in links)
    assert at.dataframe[0].value.columns[1] == "layer 4, head 9"


@pytest.mark.parametrize("page", MY_PAGES)
def test_more_than_512_pieces_is_announced_on_every_page(page):
    at = open_page(page, text_a="word " * 2_000)                 # 10,000 characters
    assert "truncated to 512" in texts(at.warning)


def test_control_characters_emoji_and_rtl_get_messages_not_exceptions():
    at = open_page(INSIDE, text_a="I love 🐍\x00 Python שלום")
    assert "control or format character" in texts(at.warning)
    assert "emoji" in texts(at.info) and "right-to-left" in texts(at.info)


def test_empty_sentence_is_refused_and_the_previous_one_kept():
    at = open_page(TOKENS, text_a="Paris is nice")
    at.sidebar.text_area[0].set_value("   ")
    at.sidebar.button[1].click().run()                            # Run
    assert not at.exception and "Sentence A is empty" in texts(at.error)
    assert "paris" in list(at.dataframe[0].value["piece"])


def test_empty_sentence_in_the_url_falls_back_to_an_example():
    at = open_page(TOKENS, text_a="")
    assert "Sentence A is empty" in texts(at.warning)
    assert len(at.dataframe[0].value) > 3


def test_uploaded_csv_with_a_sentence_column_offers_its_sentences():
    at = open_page(TOKENS)
    at.sidebar.file_uploader[0].set_value(("mine.csv", b"id,sentence\n1,Cats purr loudly.\n2,Dogs bark.\n",
                                           "text/csv")).run()
    choice = at.sidebar.selectbox(key="uploaded_choice")
    assert choice.options == ["Cats purr loudly.", "Dogs bark."]
    choice.set_value("Dogs bark.").run()
    assert not at.exception
    assert list(at.dataframe[0].value["piece"]) == ["[CLS]", "dogs", "bark", ".", "[SEP]"]


def test_uploaded_csv_without_the_expected_column_says_so_and_lets_the_user_pick():
    at = open_page(TOKENS)
    at.sidebar.file_uploader[0].set_value(("mine.csv", b"id,words\n1,Hello there\n2,Good night\n", "text/csv")).run()
    assert "No 'sentence' or 'text' column in mine.csv" in texts(at.sidebar.warning)
    assert at.sidebar.selectbox(key="upload_column").value == "words"
    assert at.sidebar.selectbox(key="uploaded_choice").options == ["Hello there", "Good night"]


@pytest.mark.parametrize("name, data, message", [
    ("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", "binary"),
    ("broken.csv", b'only_header\n', "no header row"),
])
def test_bad_uploads_get_a_clear_error(name, data, message):
    at = open_page(TOKENS)
    at.sidebar.file_uploader[0].set_value((name, data, "application/octet-stream")).run()
    assert not at.exception and message in texts(at.sidebar.error)


def test_typed_sentence_outlives_a_picked_example_and_later_reruns():
    at = open_page(INSIDE)
    at.sidebar.selectbox(key="example_choice").set_value(at.sidebar.selectbox(key="example_choice").options[2]).run()
    assert at.query_params["a"] == "The man went to the store."
    at.sidebar.text_area[0].set_value("Owls hunt at night")
    at.sidebar.text_area[1].set_value("")
    at.sidebar.button[1].click().run()
    assert at.sidebar.selectbox(key="example_choice").value == "(your own)"
    at.selectbox(key="layer").set_value(4).run()               # a rerun that is not a submit
    assert at.query_params["a"] == "Owls hunt at night" and at.query_params["b"] == ""
    assert "owls" in at.selectbox(key="token").options[1]


def test_links_of_tokens_inside_one_head_and_head_overview_reopen_the_same_view():
    at = open_page(TOKENS, text_a="Links keep state")
    at.slider(key="dims").set_value(48).run()
    link = shared_link(at)
    assert link["dims"] == "48" and link["a"] == "Links keep state"
    again = reopen(link, TOKENS)
    assert again.slider(key="dims").value == 48 and len(again.get("plotly_chart")[1].proto.spec) > 0
    assert "the first 48 of 384 dimensions" in again.get("plotly_chart")[1].proto.spec

    at = open_page(INSIDE, text_a="Links keep state")
    at.selectbox(key="layer").set_value(4).run()
    at.selectbox(key="token").set_value(3).run()
    link = shared_link(at)
    assert (link["layer"], link["token"]) == ("5", "3") and "head" not in link   # head 2 is the default
    again = reopen(link, INSIDE)
    assert (shown(again.selectbox(key="layer")), shown(again.selectbox(key="head"))) == ("5", "2")
    assert again.selectbox(key="token").value == 3 and "X is the input of layer 5" in texts(again.markdown)

    at = open_page(OVERVIEW, text_a="Links keep state")
    at.selectbox(key="pick_layer").set_value(2).run()
    at.selectbox(key="pick_head").set_value(5).run()
    at.slider(key="rollout").set_value(2).run()
    at.multiselect(key="off").set_value(["1-1", "6-12"]).run()
    link = shared_link(at)
    assert {name: link[name] for name in ("pick_layer", "pick_head", "rollout", "off")} == {
        "pick_layer": "3", "pick_head": "6", "rollout": "2", "off": ["1-1", "6-12"]}
    again = reopen(link, OVERVIEW)
    assert again.dataframe[0].value.columns[1] == "layer 3, head 6"
    assert again.multiselect(key="off").value == ["1-1", "6-12"] and again.slider(key="rollout").value == 2
    assert "Rollout after layer 2" in again.get("plotly_chart")[7 + 3].proto.spec  # after 7 + 3 head grids
    # The links to the other pages carry their own names for the chosen head.
    assert all({"layer=3", "head=6"} <= set(link.proto.query_string.split("&")) for link in again.get("page_link"))
