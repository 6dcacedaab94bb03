"""Fine-tuning (app/finetune.py) on the `test` preset with random weights and a toy set that a
classifier can separate (does the text say "cat" or "dog"?); the shipped data set's shape; bad input.

Every figure asserted is measured here: the majority-class share from the toy set's test split, the
parameters each approach trains from the values that changed, transformers' logits from its own class.
"""
from __future__ import annotations

import csv
import io
import random
import zipfile

import numpy as np
import pytest
import torch
import transformers

from app import finetune as ft
from bert_core import load_pretrained, task_head_of
from bert_core.task_heads import new_task_head
from tests.test_bert_parity import hf_config, randomize, save_checkpoint

FILLER = ["the", "sat", "on", "mat", "a", "b", "c", "."]


def toy_rows(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """Texts of 4-9 filler words with 'cat' or 'dog' somewhere: the label says which."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        animal = "cat" if i % 3 else "dog"   # two cats to one dog: majority share about 2/3
        words = [rng.choice(FILLER) for _ in range(rng.randint(4, 9))]
        words.insert(rng.randrange(len(words) + 1), animal)
        rows.append((" ".join(words), animal))
    return rows


def to_csv(rows, header=("text", "label")) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(model, tokenizer, folder) of a random `test`-preset BERT with a pooler, saved by transformers."""
    folder = tmp_path_factory.mktemp("tiny")
    hf = transformers.BertModel(hf_config("test"))
    randomize(hf, 1)
    save_checkpoint(hf, folder, "safetensors")
    model, tokenizer = load_pretrained(folder, device="cpu")
    return model, tokenizer, folder


@pytest.fixture(scope="module")
def toy():
    return ft.read_labelled(to_csv(toy_rows(150)), "toy.csv", seed=0)


FAST = ft.Settings(epochs=1, learning_rate=3e-3, batch_size=16)


def test_loss_falls_and_accuracy_beats_majority(tiny, toy):
    model, tokenizer, _ = tiny
    result = ft.fine_tune(model, tokenizer, toy, ft.Settings(epochs=6, learning_rate=3e-3, patience=6))
    _, test_labels = toy.part("test")
    majority = max(np.bincount(test_labels)) / len(test_labels)
    first, last = result.history[0]["train_loss"], result.history[-1]["train_loss"]
    assert last < 0.7 * first, result.history
    assert result.test.accuracy > majority, (result.test.accuracy, majority)
    assert result.test.confusion.sum() == len(test_labels)
    assert np.allclose(result.test.probabilities.sum(1), 1, atol=1e-5)
    assert result.epochs_run == len(result.history) >= 1


def test_the_model_passed_in_is_not_changed(tiny, toy):
    model, tokenizer, _ = tiny
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ft.fine_tune(model, tokenizer, toy, FAST)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert task_head_of(model) is None


@pytest.mark.parametrize("approach", ["all", "top:1", "head"])
def test_approaches_train_exactly_the_parameters_they_claim(tiny, toy, approach):
    model, tokenizer, _ = tiny
    settings = ft.Settings(approach=approach, epochs=1, learning_rate=3e-3)
    result = ft.fine_tune(model, tokenizer, toy, settings)
    before = dict(model.named_parameters())
    head_init = new_task_head(model.config, "sequence", toy.label_names, seed=settings.seed)
    before.update({f"task_head.{k}": v for k, v in head_init.named_parameters()})
    changed = {name: int((p != before[name]).sum()) for name, p in result.model.named_parameters()}
    assert sum(changed.values()) == result.trained_parameters
    assert result.total_parameters == sum(p.numel() for p in result.model.parameters())
    layers = model.config.num_hidden_layers
    frozen_prefixes = {"all": (), "top:1": ("embeddings.", *(f"encoder.layer.{i}." for i in range(layers - 1))),
                       "head": ("embeddings.", "encoder.", "pooler.")}[approach]
    assert all(changed[n] == 0 for n in changed if n.startswith(frozen_prefixes) and frozen_prefixes)
    assert changed["task_head.classifier.weight"] > 0
    if approach == "head":
        assert result.trained_parameters == (model.config.hidden_size + 1) * 2


def test_stop_mid_epoch_keeps_what_was_trained(tiny, toy):
    model, tokenizer, _ = tiny
    asked = []

    def stop_after_three():
        asked.append(1)
        return len(asked) > 3

    steps = []
    result = ft.fine_tune(model, tokenizer, toy, ft.Settings(epochs=3, learning_rate=3e-3),
                          progress=steps.append, should_stop=stop_after_three)
    assert result.stopped and len(steps) == 3 and steps[-1].step == 3
    assert result.history == [pytest.approx(result.history[0])] and result.history[0]["partial"]
    moved = ft.weight_movement(model, result.model)
    assert all(part["relative_change"] > 0 for part in moved)  # three steps of "all" moved every part


def test_schedule_warms_up_then_decays():
    factors = [ft._lr_factor(s, 10, 2) for s in range(11)]
    assert factors[:3] == [0.0, 0.5, 1.0] and factors[-1] == 0.0
    assert all(a >= b for a, b in zip(factors[2:], factors[3:], strict=False))


def test_saved_checkpoint_gives_the_same_logits_in_transformers(tiny, toy, tmp_path):
    model, tokenizer, _ = tiny
    result = ft.fine_tune(model, tokenizer, toy, FAST)
    folder = ft.save_checkpoint(result.model, tokenizer, tmp_path / "spam-classifier")
    texts = toy.part("test")[0][:6]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    hf = transformers.AutoModelForSequenceClassification.from_pretrained(folder).eval()
    assert hf.config.id2label == dict(enumerate(toy.label_names))
    reloaded, reloaded_tokenizer = load_pretrained(folder, device="cpu")
    with torch.no_grad():
        ours = result.model.task_head(result.model(**batch))
        theirs = hf(**batch).logits
        again = task_head_of(reloaded)(reloaded(**reloaded_tokenizer(texts, padding=True, return_tensors="pt")))
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=0)
    torch.testing.assert_close(ours, again, atol=1e-5, rtol=0)
    names = zipfile.ZipFile(io.BytesIO(ft.zip_folder(folder))).namelist()
    assert {"spam-classifier/config.json", "spam-classifier/model.safetensors",
            "spam-classifier/vocab.txt", "spam-classifier/tokenizer.json"} <= set(names)


def test_what_changed_inside_top_layer_only(tiny, toy):
    model, tokenizer, _ = tiny
    result = ft.fine_tune(model, tokenizer, toy, ft.Settings(approach="top:1", epochs=1, learning_rate=3e-3))
    moved = {m["part"]: m["relative_change"] for m in ft.weight_movement(model, result.model)}
    assert moved["embeddings"] == 0 and moved["layer 1"] == 0 and moved["layer 2"] > 0 and moved["pooler"] > 0
    ids = ft.encode_texts(tokenizer, toy.part("dev")[0], 512).ids
    divergence = ft.attention_divergence(model, result.model, ids)
    assert divergence.shape == (2, 4)
    assert np.all(divergence[0] == 0) and np.all(divergence[1] > 0) and np.all(divergence <= np.log(2))
    vectors = ft.sentence_vectors(result.model, ids)
    assert vectors.shape == (len(ids), model.config.hidden_size)


# ------------------------------------------------------------------------------------------ data and input

def test_shipped_set_has_two_classes_and_three_splits():
    data = ft.read_labelled(ft.SPAM_DATA.read_bytes(), ft.SPAM_DATA.name)
    counts = data.counts()
    assert len(data.texts) >= 600 and len(set(data.texts)) == len(data.texts)
    assert data.label_names == ["ham", "spam"] and data.split_given and not data.notices
    assert all(counts[s][label] >= 20 for s in ft.SPLITS for label in data.label_names)


def test_without_a_split_column_the_split_is_seeded_80_10_10():
    rows = toy_rows(200)
    a = ft.read_labelled(to_csv(rows), "t.csv", seed=4)
    b = ft.read_labelled(to_csv(rows), "t.csv", seed=4)
    c = ft.read_labelled(to_csv(rows), "t.csv", seed=5)
    assert a.splits == b.splits != c.splits and not a.split_given
    assert [a.splits.count(s) for s in ft.SPLITS] == [160, 20, 20]


def test_split_column_values_are_used_and_bad_ones_left_out():
    splits = ["train", "dev", "test", "TRAIN", "holdout"]
    rows = [(t, label, splits[i % 5]) for i, (t, label) in enumerate(toy_rows(50))]
    data = ft.read_labelled(to_csv(rows, ("text", "label", "split")), "t.csv")
    assert len(data.texts) == 40 and data.splits.count("train") == 20
    assert any("other than train, dev or test" in n.text for n in data.notices)


@pytest.mark.parametrize("rows, header, message", [
    ([("a cat", "cat"), ("the cat", "cat")], ("text", "label"), "at least two classes"),
    ([("a cat", "cat")], ("text", "kind"), "needs a `text` column and a `label` column"),
    ([("a cat", ""), ("a dog", "")], ("text", "label"), "No row has both a text and a label"),
])
def test_unusable_sets_are_refused_with_a_reason(rows, header, message):
    with pytest.raises(ft.DataError, match=message):
        ft.read_labelled(to_csv(rows, header), "t.csv")


def test_rows_without_labels_are_left_out_and_counted():
    rows = toy_rows(40) + [("a text with no label", "")] * 3
    data = ft.read_labelled(to_csv(rows), "t.csv")
    assert len(data.texts) == 40 and any("3 rows have no label" in n.text for n in data.notices)


def test_a_hundred_thousand_rows_are_capped_with_a_message():
    rows = [(f"text {i}", "ab"[i % 2]) for i in range(100_000)]
    data = ft.read_labelled(to_csv(rows), "big.csv")
    assert len(data.texts) == ft.MAX_ROWS
    assert any("100,000 rows" in n.text and f"first {ft.MAX_ROWS:,}" in n.text for n in data.notices)


def test_texts_over_512_pieces_are_truncated_and_counted(tiny):
    model, tokenizer, _ = tiny
    long_text = " ".join(["the cat"] * 400)
    encoded = ft.encode_texts(tokenizer, [long_text, "a dog"], 512)
    assert encoded.truncated == 1 and len(encoded.ids[0]) == 512 and len(encoded.ids[1]) < 10
    assert encoded.ids[0][-1] == tokenizer.convert_tokens_to_ids("[SEP]")
    rows = toy_rows(40) + [(long_text, "cat")]
    data = ft.read_labelled(to_csv(rows), "t.csv")
    result = ft.fine_tune(model, tokenizer, data, FAST)
    assert result.truncated == 1 and "cut to its first 512" in result.notices[0]


def test_parse_approach():
    assert ft.parse_approach("TOP:2", 6) == "top:2" and ft.parse_approach("head", 6) == "head"
    for bad in ("top:0", "top:7", "some", "top:x"):
        with pytest.raises(ValueError):
            ft.parse_approach(bad, 6)


# ------------------------------------------------------------------------------ token classification (UPOS)

CONLLU = """# sent_id = a
1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
1\tdo\tdo\tAUX\t_\t_\t0\troot\t_\t_
2\tn't\tnot\tPART\t_\t_\t1\tadvmod\t_\t_
3\tcats\tcat\tNOUN\t_\t_\t1\tobj\t_\t_
3.1\tx\tx\tX\t_\t_\t_\t_\t_\t_

# sent_id = b (no UPOS on a word: skipped)
1\tthe\tthe\t_\t_\t_\t0\troot\t_\t_

1\tthe\tthe\tDET\t_\t_\t2\tdet\t_\t_
2\tmat\tmat\tNOUN\t_\t_\t0\troot\t_\t_
"""


def test_read_tagged_keeps_words_and_upos_and_skips_what_is_not_a_word():
    data = ft.read_tagged(CONLLU.encode(), "t.conllu")
    assert data.sentences == [["do", "n't", "cats"], ["the", "mat"]]
    assert [[data.label_names[t] for t in s] for s in data.tags] == [["AUX", "PART", "NOUN"], ["DET", "NOUN"]]
    assert "1 sentence with a malformed line or no UPOS tag" in data.notices[0].text


def test_shipped_upos_sample():
    data = ft.read_tagged(ft.UPOS_DATA.read_bytes(), ft.UPOS_DATA.name)
    assert len(data.sentences) == 400 and not data.notices
    assert {"NOUN", "VERB", "DET", "PUNCT", "ADP"} <= set(data.label_names) and len(data.label_names) <= 18
    assert [data.splits.count(s) for s in ft.SPLITS] == [320, 40, 40]


def test_encode_tagged_labels_each_words_first_piece(tiny):
    _, tokenizer, _ = tiny
    encoded = ft.encode_tagged(tokenizer, [["the", "cats", "sat"]], [[0, 1, 2]], 512)
    pieces = tokenizer.convert_ids_to_tokens(encoded.ids[0])
    assert pieces == ["[CLS]", "the", "cat", "##s", "sat", "[SEP]"]
    assert encoded.targets[0] == [ft.IGNORE, 0, 1, ft.IGNORE, 2, ft.IGNORE]


@pytest.fixture(scope="module")
def tagged():
    data = ft.read_tagged(ft.UPOS_DATA.read_bytes(), ft.UPOS_DATA.name)
    keep = 100  # fast: the first 100 sentences
    return ft.TaggedData(data.sentences[:keep], data.tags[:keep], data.splits[:keep], data.label_names)


def test_token_tagger_learns_and_trains_what_it_claims(tiny, tagged):
    model, tokenizer, _ = tiny
    result = ft.fine_tune(model, tokenizer, tagged, ft.Settings(epochs=3, learning_rate=1e-2, batch_size=8, patience=3))
    test_tags = [t for sentence in tagged.part("test")[1] for t in sentence]
    majority = max(np.bincount(test_tags)) / len(test_tags)
    assert result.history[-1]["train_loss"] < 0.9 * result.history[0]["train_loss"]
    assert result.test.accuracy > majority and result.test.confusion.sum() == len(test_tags)
    assert len(result.test_texts) == len(test_tags) == len(result.test.predictions)
    assert task_head_of(result.model).task == "token"
    changed = sum(int((p != dict(model.named_parameters()).get(n, torch.zeros(0))).sum())
                  for n, p in result.model.named_parameters() if not n.startswith("task_head."))
    head = result.model.task_head.classifier
    assert changed + head.weight.numel() + head.bias.numel() == result.trained_parameters
    assert not any(p.requires_grad for p in result.model.parameters())
