"""encode / encode_words: special tokens, segments, words ↔ word pieces and their character offsets."""
from __future__ import annotations

import logging

import pytest
import torch

from bench.ewt import read_sentences
from bert_core import PRESETS, BertModel, default_checkpoint, encode, encode_words, load_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(default_checkpoint())


def normalized(tokenizer, text: str) -> str:
    """What the checkpoint's tokenizer turns the text into before WordPiece (lowercase, no accents)."""
    return tokenizer.backend_tokenizer.normalizer.normalize_str(text)


def assert_words_map_back(tokenizer, enc, texts):
    """Each word's span is its text; its pieces lie inside it and spell it (unless a piece is [UNK])."""
    for word in enc.words:
        text = texts[word.segment]
        assert text[word.start:word.end] == word.text
        assert word.pieces == tuple(range(word.pieces[0], word.pieces[-1] + 1)), "a word's pieces are contiguous"
        for p in word.pieces:
            a, b = enc.offsets[p]
            assert word.start <= a < b <= word.end and enc.token_type_ids[p] == word.segment
        spelled = "".join(enc.tokens[p].removeprefix("##") for p in word.pieces)
        if "[UNK]" not in spelled:
            assert spelled == normalized(tokenizer, word.text)
    starts = [(w.segment, w.start) for w in enc.words]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_single_sentence_has_cls_first_and_sep_last(tokenizer):
    enc = encode(tokenizer, "The cat sat.")
    assert enc.tokens == ["[CLS]", "the", "cat", "sat", ".", "[SEP]"]
    assert enc.special == [True, False, False, False, False, True]
    assert enc.token_type_ids == [0] * 6 and enc.offsets[0] == enc.offsets[-1] == (0, 0)
    assert not enc.truncated and len(enc) == 6
    inputs = enc.to_tensors()
    assert inputs["input_ids"].tolist() == [tokenizer.convert_tokens_to_ids(enc.tokens)]
    assert inputs["attention_mask"].tolist() == [[1] * 6] and inputs["token_type_ids"].shape == (1, 6)


def test_pair_has_segments_and_offsets_in_its_own_sentence(tokenizer):
    enc = encode(tokenizer, "I love my pet Python", "I love coding in Python")
    seps = [i for i, t in enumerate(enc.tokens) if t == "[SEP]"]
    assert enc.tokens[0] == "[CLS]" and len(seps) == 2 and seps[1] == len(enc) - 1
    assert enc.token_type_ids == [0] * (seps[0] + 1) + [1] * (len(enc) - seps[0] - 1)
    assert [i for i, s in enumerate(enc.special) if s] == [0, *seps]
    assert [(w.text, w.segment) for w in enc.words] == [
        ("I", 0), ("love", 0), ("my", 0), ("pet", 0), ("Python", 0),
        ("I", 1), ("love", 1), ("coding", 1), ("in", 1), ("Python", 1)]
    assert enc.words[5].start == 0 and enc.words[-1].start == len("I love coding in ")
    assert_words_map_back(tokenizer, enc, ("I love my pet Python", "I love coding in Python"))


@pytest.mark.parametrize("blank", ["", "  ", "\t\n"])
def test_a_blank_second_sentence_is_no_second_sentence(tokenizer, blank):
    enc = encode(tokenizer, "Hello there", blank)
    assert enc.tokens == ["[CLS]", "hello", "there", "[SEP]"] and set(enc.token_type_ids) == {0}


def test_a_word_split_into_several_pieces(tokenizer):
    enc = encode(tokenizer, "Unbelievably good")
    first = enc.words[0]
    assert first.text == "Unbelievably" and len(first.pieces) > 1
    assert not enc.tokens[first.pieces[0]].startswith("##")
    assert all(enc.tokens[p].startswith("##") for p in first.pieces[1:])
    assert enc.words[1].pieces == (first.pieces[-1] + 1,)
    assert_words_map_back(tokenizer, enc, ("Unbelievably good", ""))


def test_repeated_words_are_separate_words(tokenizer):
    enc = encode(tokenizer, "the the  the")
    assert [(w.text, w.start, w.pieces) for w in enc.words] == [("the", 0, (1,)), ("the", 4, (2,)), ("the", 9, (3,))]


def test_punctuation_is_split_off_as_words(tokenizer):
    enc = encode(tokenizer, "Hello, world! (Isn't it?)")
    assert [w.text for w in enc.words] == ["Hello", ",", "world", "!", "(", "Isn", "'", "t", "it", "?", ")"]
    assert_words_map_back(tokenizer, enc, ("Hello, world! (Isn't it?)", ""))


def test_uncased_pieces_keep_the_original_word_text(tokenizer):
    upper, lower = encode(tokenizer, "The CAT Café"), encode(tokenizer, "the cat cafe")
    assert upper.input_ids == lower.input_ids
    assert [w.text for w in upper.words] == ["The", "CAT", "Café"]


def test_offsets_map_back_on_treebank_sentences(tokenizer, ewt_dev):
    texts = read_sentences(ewt_dev, 300)
    for text in texts:
        enc = encode(tokenizer, text)
        assert enc.words, text
        assert_words_map_back(tokenizer, enc, (text, ""))
        covered = {p for w in enc.words for p in w.pieces}
        assert covered == {i for i, s in enumerate(enc.special) if not s}, "every piece belongs to a word"


def test_emoji_become_unknown_pieces_of_their_own_word(tokenizer):
    text = "I ❤ pizza 😀!"
    enc = encode(tokenizer, text)
    assert [w.text for w in enc.words] == ["I", "❤", "pizza", "😀", "!"]
    emoji = enc.words[3]
    assert [enc.tokens[p] for p in emoji.pieces] == ["[UNK]"] and text[emoji.start:emoji.end] == "😀"
    assert_words_map_back(tokenizer, enc, (text, ""))


def test_control_characters_are_dropped_and_spans_still_map(tokenizer):
    text = "a\x00b\x07 c\u200b d\tend"
    enc = encode(tokenizer, text)
    assert not any(ch in token for token in enc.tokens for ch in "\x00\x07\u200b\t")
    assert [w.text for w in enc.words] == ["a\x00b", "c", "d", "end"]
    assert_words_map_back(tokenizer, enc, (text, ""))


@pytest.mark.parametrize("text", ["", "   ", "\x07\x00"])
def test_empty_input_is_just_the_special_tokens(tokenizer, text):
    enc = encode(tokenizer, text)
    assert enc.tokens == ["[CLS]", "[SEP]"] and enc.words == [] and not enc.truncated


def test_over_512_pieces_are_truncated_with_a_warning(tokenizer, caplog):
    with caplog.at_level(logging.WARNING, logger="bert_core"):
        enc = encode(tokenizer, "word " * 600)
    assert enc.truncated and len(enc) == 512 and enc.tokens[-1] == "[SEP]"
    assert len(enc.words) == 510 and enc.words[-1].pieces == (510,)
    assert any("truncated" in r.getMessage() and "512" in r.getMessage() for r in caplog.records)


def test_exactly_512_pieces_are_not_truncated(tokenizer, caplog):
    with caplog.at_level(logging.WARNING, logger="bert_core"):
        fits = encode(tokenizer, "word " * 510)
    assert len(fits) == 512 and not fits.truncated and not caplog.records
    assert encode(tokenizer, "word " * 511).truncated


def test_long_pair_is_truncated_in_both_sentences(tokenizer):
    enc = encode(tokenizer, "alpha " * 400, "beta " * 400)
    assert enc.truncated and len(enc) == 512 and enc.tokens.count("[SEP]") == 2
    assert {w.text for w in enc.words if w.segment == 0} == {"alpha"}
    assert {w.text for w in enc.words if w.segment == 1} == {"beta"}


def test_the_model_refuses_untruncated_input_clearly():
    model = BertModel(PRESETS["test"]).eval()
    with pytest.raises(ValueError, match="600 tokens, but the model has 512 positions"):
        model(torch.ones(1, 600, dtype=torch.long))


def test_max_length_is_respected(tokenizer):
    enc = encode(tokenizer, "one two three four five six", max_length=5)
    assert enc.truncated and enc.tokens == ["[CLS]", "one", "two", "three", "[SEP]"]


def test_encoding_runs_through_the_model(default_model):
    model, tokenizer = default_model
    enc = encode(tokenizer, "Dogs bark.", "Cats meow.")
    with torch.inference_mode():
        ours = model(**enc.to_tensors())
        theirs = model(**tokenizer("Dogs bark.", "Cats meow.", return_tensors="pt"))
    assert torch.equal(ours.last_hidden_state, theirs.last_hidden_state)


# ---------------------------------------------------------------- encode_words

def test_encode_words_keeps_the_given_words_and_offsets_map_into_the_joined_text(tokenizer):
    words = ["Unbelievably", ",", "it", "works", "don't"]
    enc = encode_words(tokenizer, words)
    joined = " ".join(words)
    assert [w.text for w in enc.words] == words and all(w.segment == 0 for w in enc.words)
    assert len(enc.words[0].pieces) > 1 and len(enc.words[4].pieces) == 3  # don ' t: one treebank word
    assert_words_map_back(tokenizer, enc, (joined, ""))
    for token, (a, b), special in zip(enc.tokens, enc.offsets, enc.special, strict=True):
        if not special:
            assert token.removeprefix("##") == normalized(tokenizer, joined[a:b])


def test_encode_words_marks_words_the_tokenizer_drops(tokenizer):
    words = ["The", "\x07", "cat", "", "\u200b", "sat"]
    enc = encode_words(tokenizer, words)
    assert [w.text for w in enc.words] == words
    assert [bool(w.pieces) for w in enc.words] == [True, False, True, False, False, True]
    assert [enc.tokens[p] for w in enc.words for p in w.pieces] == ["the", "cat", "sat"]


def test_encode_words_truncation_leaves_the_cut_words_without_pieces(tokenizer, caplog):
    with caplog.at_level(logging.WARNING, logger="bert_core"):
        enc = encode_words(tokenizer, ["word"] * 600)
    assert enc.truncated and len(enc) == 512 and len(enc.words) == 600
    assert all(w.pieces for w in enc.words[:510]) and not any(w.pieces for w in enc.words[510:])
    assert any("truncated" in r.getMessage() for r in caplog.records)


def test_encode_words_on_treebank_sentences(tokenizer, ewt_dev):
    sentence_words, words = [], []
    for line in ewt_dev.read_text(encoding="utf-8").splitlines():
        if not line:
            if words:
                sentence_words.append(words)
            words = []
            if len(sentence_words) == 100:
                break
        elif not line.startswith("#") and line.split("\t")[0].isdigit():  # skip multiword and empty nodes
            words.append(line.split("\t")[1])
    for words in sentence_words:
        enc = encode_words(tokenizer, words)
        assert [w.text for w in enc.words] == words
        assert all(w.pieces for w in enc.words), words
        assert_words_map_back(tokenizer, enc, (" ".join(words), ""))
