"""The family's tokenizers, always the checkpoint's own: WordPiece (BERT), byte-level BPE (RoBERTa's "Ġ")
and SentencePiece Unigram (ALBERT's and XLM-R's "▁"), trained offline on a few sentences; our tokenizer
against transformers' on the same files, and word ↔ piece alignment with character offsets per kind."""
from __future__ import annotations

import pytest
import transformers

from bert_core import encode, encode_words, load_pretrained, load_tokenizer
from tests.family import CORPUS, FAMILIES, make_checkpoint, save_tokenizer

KINDS = ["bert", "roberta", "xlm-roberta", "albert"]  # WordPiece, BPE, Unigram (XLM-R's and ALBERT's)
TEXTS = ["Café Dupont's dogs, sat.", "  The   mat  was wet!", "Nobody knows why."]


@pytest.fixture(scope="module", params=KINDS)
def tokenizers(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    save_tokenizer(folder, request.param)
    return request.param, load_tokenizer(folder), transformers.AutoTokenizer.from_pretrained(folder)


def test_ids_offsets_words_and_segments_match_transformers(tokenizers):
    _, ours, theirs = tokenizers
    for a, b in zip(TEXTS, TEXTS[::-1] + ["?"], strict=False):
        for pair in (None, b):
            mine = ours(a, pair, return_offsets_mapping=True)
            reference = theirs(a, pair, return_offsets_mapping=True)
            assert mine["input_ids"] == reference["input_ids"]
            assert [tuple(o) for o in mine["offset_mapping"]] == [tuple(o) for o in reference["offset_mapping"]]
            assert mine.word_ids() == reference.word_ids()
            if "token_type_ids" in reference:  # transformers 5 leaves them out for some tokenizers
                assert mine["token_type_ids"] == reference["token_type_ids"]


def test_word_pieces_marks_by_kind(tokenizers):
    kind, ours, _ = tokenizers
    tokens = encode(ours, "the dogs sat on the mat").tokens
    marker = {"bert": "##", "roberta": "Ġ", "xlm-roberta": "▁", "albert": "▁"}[kind]
    assert any(marker in token for token in tokens), tokens
    specials = FAMILIES[kind].specials
    assert tokens[0] == specials["cls_token"] and tokens[-1] == specials["sep_token"]


@pytest.mark.parametrize("text", TEXTS)
def test_each_word_is_its_text_span_and_owns_its_pieces(tokenizers, text):
    kind, ours, _ = tokenizers
    encoding = encode(ours, text, "The dog sat.")
    texts = (text, "The dog sat.")
    owned = sorted(p for w in encoding.words for p in w.pieces)
    assert owned == [i for i, special in enumerate(encoding.special) if not special], "every piece, once"
    for word in encoding.words:
        assert word.text == texts[word.segment][word.start:word.end]
        assert word.text.strip() == word.text != "", f"{kind}: a word never starts or ends with a space: {word}"
        for piece in word.pieces:
            start, end = encoding.offsets[piece]
            # inside its word, or in the spaces just before it (a "Ġ"/"▁" carries the space)
            assert end <= word.end and not texts[word.segment][min(end, word.start):word.start].strip()
    if kind in ("xlm-roberta", "albert"):  # SentencePiece splits on whitespace only
        assert [w.text for w in encode(ours, "Dogs, cats!").words] == ["Dogs,", "cats!"]
    else:
        assert [w.text for w in encode(ours, "Dogs, cats!").words] == ["Dogs", ",", "cats", "!"]


def test_pre_split_words_get_their_word_marker(tokenizers):
    """encode_words: each given word is tokenized as a word of running text (with its space before it),
    so its pieces are those of " " + the words joined by spaces, as transformers' add_prefix_space does."""
    kind, ours, _ = tokenizers
    words = ["Café", "Dupont", "'s", "dogs", ",", "sat"]
    encoding = encode_words(ours, words)
    assert [w.text for w in encoding.words] == words and all(w.pieces for w in encoding.words)
    joined = ours(" " + " ".join(words))
    if kind == "bert":  # WordPiece has no word marker: the pieces are the same either way
        assert encoding.tokens == joined.tokens()
    else:
        assert encoding.tokens == joined.tokens(), kind
        for word in encoding.words:  # and every word starts with its marker
            assert encoding.tokens[word.pieces[0]][0] in "Ġ▁", (word, encoding.tokens)
    for word in encoding.words:  # offsets in " ".join(words)
        text = " ".join(words)
        assert text[word.start:word.end] == word.text


@pytest.mark.parametrize("model_type", ["roberta", "albert"])
def test_special_tokens_come_from_the_family_without_a_tokenizer_config(tmp_path, model_type):
    """roberta-base on the hub has tokenizer.json but no tokenizer_config.json: its special tokens are
    transformers' RobertaTokenizer's, chosen by config.json's model_type."""
    make_checkpoint(tmp_path / "ckpt", model_type, tokenizer_config=False)
    _, tokenizer = load_pretrained(tmp_path / "ckpt", device="cpu")
    specials = FAMILIES[model_type].specials
    for name, token in specials.items():
        assert getattr(tokenizer, name) == token
        assert getattr(tokenizer, f"{name}_id") == tokenizer.convert_tokens_to_ids(token) is not None
    batch = tokenizer([CORPUS[1], CORPUS[0]], padding=True)
    assert batch["input_ids"][1][-1] == tokenizer.pad_token_id
