"""bert_core's tokenizer against transformers' AutoTokenizer loaded from the same files, call by call."""
from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest
import torch
from transformers import AutoTokenizer

from bert_core import WordPieceTokenizer, default_checkpoint, load_tokenizer
from tests.conftest import ROOT

SENTENCES = ["I love my pet Python.", "Héllo, wörld! Ça va?", "東京は大きい city", "[MASK] is the word",
             "don't stop-believing 3.14", "  spaces\tand\nlines  ", "unbelievableness xyzzyqq"]
PAIRS = [("The cat sat.", "On the mat, it slept for a long while."), ("Élan vital", "日本語 text")]
WORDS = [["The", "cat", "sat", "."], ["Ça", "va", "東京", "ok"], ["unbelievable", "xyzzyqq", "!"]]
# Each: (positional args, keyword args) of one call, as the code base and its tests make them.
CALLS = [((s,), {}) for s in SENTENCES] + [((a, b), {}) for a, b in PAIRS] + [
    ((SENTENCES,), {"padding": True}),
    ((SENTENCES,), {"padding": True, "return_tensors": "pt"}),
    (([a for a, _ in PAIRS], [b for _, b in PAIRS]), {"padding": True, "return_tensors": "pt"}),
    ((SENTENCES[0],), {"return_tensors": "pt"}),
    ((SENTENCES[3],), {"add_special_tokens": False}),
    ((PAIRS[0][0], PAIRS[0][1]), {"add_special_tokens": False, "return_special_tokens_mask": True}),
    ((SENTENCES[4],), {"truncation": True, "max_length": 5}),
    ((PAIRS[0][0], PAIRS[0][1]), {"truncation": "longest_first", "max_length": 8,
                                  "return_offsets_mapping": True, "return_special_tokens_mask": True}),
    ((SENTENCES,), {"truncation": True, "max_length": 6, "padding": True, "return_tensors": "pt"}),
    ((SENTENCES,), {"padding": "max_length", "max_length": 24}),
    ((SENTENCES[1],), {"truncation": False, "return_offsets_mapping": True, "return_special_tokens_mask": True}),
    ((WORDS[0],), {"is_split_into_words": True, "return_offsets_mapping": True}),
    ((WORDS,), {"is_split_into_words": True, "padding": True, "return_tensors": "pt"}),
    ((WORDS[2],), {"is_split_into_words": True, "truncation": "longest_first", "max_length": 4,
                   "return_offsets_mapping": True, "return_special_tokens_mask": True}),
]


def plain(value):
    return value.tolist() if isinstance(value, torch.Tensor) else [list(x) if isinstance(x, tuple) else x
                                                                    for x in value]


def assert_same_calls(ours, theirs):
    for args, kwargs in CALLS:
        mine, hf = ours(*args, **kwargs), theirs(*args, **kwargs)
        where = f"{args!r} {kwargs!r}"
        assert set(mine) == set(hf), where
        for name in hf:
            assert plain(mine[name]) == plain(hf[name]), f"{name} of {where}"
            assert type(mine[name]) is type(hf[name]), f"{name} of {where}"
        assert len(mine.encodings) == len(hf.encodings), where
        for i, (a, b) in enumerate(zip(mine.encodings, hf.encodings, strict=True)):
            assert mine.word_ids(i) == hf.word_ids(i) and mine.sequence_ids(i) == hf.sequence_ids(i), where
            assert a.tokens == b.tokens and [o.ids for o in a.overflowing] == [o.ids for o in b.overflowing], where
    truncated = ours(SENTENCES[4], truncation=True, max_length=5)
    assert truncated.encodings[0].overflowing, "a cut input is flagged"
    assert not ours(SENTENCES[4], truncation=True, max_length=50).encodings[0].overflowing


def assert_same_vocabulary(ours, theirs):
    assert len(ours) == len(theirs) and ours.vocab_size == theirs.vocab_size
    for name in ("unk_token", "pad_token", "cls_token", "sep_token", "mask_token"):
        assert getattr(ours, name) == getattr(theirs, name)
        assert getattr(ours, f"{name}_id") == getattr(theirs, f"{name}_id")
    assert dict(zip(ours.all_special_tokens, ours.all_special_ids, strict=True)) == dict(
        zip(theirs.all_special_tokens, theirs.all_special_ids, strict=True))
    ids = list(range(0, len(theirs), max(1, len(theirs) // 500)))
    assert ours.convert_ids_to_tokens(ids) == theirs.convert_ids_to_tokens(ids)
    assert ours.convert_ids_to_tokens(torch.tensor(ids[:5])) == theirs.convert_ids_to_tokens(ids[:5])
    assert ours.convert_ids_to_tokens(ids[1]) == theirs.convert_ids_to_tokens(ids[1])
    tokens = ["the", "##s", "[CLS]", "notawordatall", "日"]
    assert ours.convert_tokens_to_ids(tokens) == theirs.convert_tokens_to_ids(tokens)
    assert ours.convert_tokens_to_ids("the") == theirs.convert_tokens_to_ids("the")


def test_default_checkpoint_matches_transformers():
    ours, theirs = load_tokenizer(default_checkpoint()), AutoTokenizer.from_pretrained(str(default_checkpoint()))
    assert ours.model_max_length == theirs.model_max_length == 512
    assert_same_vocabulary(ours, theirs)
    assert_same_calls(ours, theirs)


def test_an_empty_second_text_is_read_as_transformers_reads_it():
    ours, theirs = load_tokenizer(default_checkpoint()), AutoTokenizer.from_pretrained(str(default_checkpoint()))
    for pair in ("", None):                                     # alone: no second sentence
        assert ours("h\u00e9llo", pair)["input_ids"] == theirs("h\u00e9llo", pair)["input_ids"]
    batch_ours, batch_theirs = ours(["a b", "c"], ["", "d"]), theirs(["a b", "c"], ["", "d"])
    assert batch_ours["input_ids"] == batch_theirs["input_ids"]  # in a batch: a pair, as transformers
    assert batch_ours["token_type_ids"] == batch_theirs["token_type_ids"]


def test_default_checkpoint_ignores_the_truncation_and_padding_in_its_tokenizer_json():
    """Its tokenizer.json says "truncate and pad to 128"; transformers (and we) do neither unless asked."""
    settings = json.loads((default_checkpoint() / "tokenizer.json").read_text(encoding="utf-8"))
    assert settings["truncation"]["max_length"] == 128 and settings["padding"] is not None
    long_text = " ".join(["word"] * 300)
    assert len(load_tokenizer(default_checkpoint())(long_text)["input_ids"]) == 302


# Random checkpoints written here: a small vocabulary with accents, Chinese characters and pieces.
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "The", "cat", "sat", "on", "mat", "it", "for", "a",
         "long", "while", "i", "I", "love", "my", "pet", "python", "Python", ".", ",", "!", "?", "'", "-", "t", "don",
         "stop", "believing", "3", "14", "un", "##believ", "##able", "##ness", "hello", "héllo", "Héllo", "world",
         "wörld", "ça", "Ça", "ca", "va", "東", "京", "は", "大", "き", "い", "city", "elan", "élan", "Élan", "vital",
         "日", "本", "語", "text", "is", "word", "spaces", "and", "lines", "ok", "##s", "##e", "##l", "##o", "x", "##y"]


def write_vocab(folder, **config):
    folder.mkdir()
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "BertTokenizer", **config}),
                                                  encoding="utf-8")
    return folder


@pytest.mark.parametrize("config", [
    {"do_lower_case": True, "model_max_length": 64},
    {"do_lower_case": False, "strip_accents": False},
    {"do_lower_case": True, "strip_accents": False, "tokenize_chinese_chars": False},
], ids=["uncased", "cased", "uncased-keeping-accents"])
def test_vocab_txt_checkpoints_match_transformers(tmp_path, config):
    folder = write_vocab(tmp_path / "ckpt", **config)
    ours, theirs = WordPieceTokenizer.from_folder(folder), AutoTokenizer.from_pretrained(str(folder))
    assert ours.model_max_length == theirs.model_max_length
    assert_same_vocabulary(ours, theirs)
    assert_same_calls(ours, theirs)


def test_special_tokens_come_from_special_tokens_map(tmp_path):
    folder = write_vocab(tmp_path / "ckpt", do_lower_case=False)
    (folder / "special_tokens_map.json").write_text(json.dumps({"unk_token": {"content": "x", "special": True}}),
                                                    encoding="utf-8")
    ours, theirs = WordPieceTokenizer.from_folder(folder), AutoTokenizer.from_pretrained(str(folder))
    assert ours.unk_token == theirs.unk_token == "x"
    assert ours("zzz qqq")["input_ids"] == theirs("zzz qqq")["input_ids"]


def test_a_tokenizer_json_checkpoint_matches_transformers(tmp_path):
    source = write_vocab(tmp_path / "source", do_lower_case=False, strip_accents=False)
    AutoTokenizer.from_pretrained(str(source)).save_pretrained(str(tmp_path / "saved"))
    folder = tmp_path / "json_only"
    folder.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (folder / name).write_bytes((tmp_path / "saved" / name).read_bytes())
    ours, theirs = WordPieceTokenizer.from_folder(folder), AutoTokenizer.from_pretrained(str(folder))
    assert ours("Héllo")["input_ids"] != load_tokenizer(write_vocab(tmp_path / "lower"))("Héllo")["input_ids"]
    assert_same_vocabulary(ours, theirs)
    assert_same_calls(ours, theirs)


def test_save_pretrained_round_trips_through_transformers(tmp_path):
    ours = WordPieceTokenizer.from_folder(write_vocab(tmp_path / "ckpt", do_lower_case=False, model_max_length=32))
    ours.save_pretrained(tmp_path / "saved")
    assert_same_calls(ours, AutoTokenizer.from_pretrained(str(tmp_path / "saved")))
    assert_same_calls(ours, WordPieceTokenizer.from_folder(tmp_path / "saved"))


def test_threads_with_different_truncation_each_get_their_own():
    tokenizer = load_tokenizer(default_checkpoint())
    text = " ".join(["word"] * 200)
    wrong = []

    def encode(limit):
        for _ in range(50):
            got = len(tokenizer(text, truncation=True, max_length=limit)["input_ids"])
            if got != limit or len(tokenizer(text)["input_ids"]) != 202:
                wrong.append((limit, got))

    threads = [threading.Thread(target=encode, args=(limit,)) for limit in (8, 16, 32, 64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_bad_arguments_are_refused_with_a_message():
    tokenizer = load_tokenizer(default_checkpoint())
    with pytest.raises(ValueError, match="padding=True"):
        tokenizer(["a", "a b c"], return_tensors="pt")
    with pytest.raises(ValueError, match="truncation"):
        tokenizer("a", truncation="sideways")
    with pytest.raises(ValueError, match="2 texts but 1"):
        tokenizer(["a", "b"], ["c"])


def test_the_attention_views_page_needs_no_transformers():
    """The router, the sidebar and the Attention views page, drawn on the default model, leave transformers
    (over a second to import) and the modules only other pages need (the corpus index's pyarrow and
    LanceDB, the probes' scipy, the tables' pandas) unloaded."""
    code = """
import sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("router.py", default_timeout=240)
at.query_params["a"] = "The cat sat."
at.switch_page("app/pages/attention.py").run()
assert not at.exception, at.exception
assert [t.value for t in at.title] == ["Attention views"], [t.value for t in at.title]
frames = [e.proto.srcdoc for e in at.main if getattr(e, "type", None) == "iframe"]
assert any("<title>Head view, layer 1<" in html for html in frames), "no head view"
heavy = ("transformers", "bertviz", "umap", "sklearn", "spacy", "pyarrow", "lancedb", "ray", "scipy", "pandas")
print(",".join(sorted(m for m in heavy if m in sys.modules)) or "none")
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "none"
