"""Structural and linear probes: gold tree distances by hand, a probe on vectors built to encode tree
distance finds every tree, one on random vectors stays at the random-tree baseline, control labels are
fixed per word type, word vectors are the mean of their pieces, and the two commands."""
import json

import numpy as np
import pytest
import torch

from app import probes
from app.__main__ import main
from app.conllu import read_conllu
from app.probes import Features, control_labels, extract_features, structural_probe, tree_depths, tree_distances
from app.trees import baselines
from bert_core import encode_words
from tests.conftest import ROOT

SAMPLE = ROOT / "data" / "syntax_sample.conllu"


def row(i, form, head, upos="X", deprel="dep"):
    return f"{i}\t{form}\t_\t{upos}\t_\t_\t{head}\t{deprel}\t_\t_"


def random_treebank(count: int, seed: int):
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(count):
        n = int(rng.integers(5, 13))
        order = rng.permutation(n)                        # the root anywhere, heads before dependents in `order`
        heads = [0] * n
        for k in range(1, n):
            heads[order[k]] = int(order[rng.integers(0, k)]) + 1
        lines += [row(i + 1, f"w{i}", h) for i, h in enumerate(heads)] + [""]
    return read_conllu("\n".join(lines))


def tree_vectors(sentence, dims: int) -> np.ndarray:
    """(1, n, dims): word i is the sum of one unit vector per word on its path to the root (itself
    included, the root excluded), so squared distances are tree distances and squared norms depths."""
    n = len(sentence.words)
    vectors = np.zeros((1, n, dims), dtype=np.float16)
    for i in range(n):
        word = i
        while sentence.heads[word] != 0:
            vectors[0, i, word] = 1
            word = sentence.heads[word] - 1
    return vectors


def test_tree_distances_and_depths_by_hand():
    heads = [2, 0, 2, 3]                 # 1 → 2 ← 3 ← 4 (2 the root)
    np.testing.assert_array_equal(tree_distances(heads), [[0, 1, 2, 3], [1, 0, 1, 2], [2, 1, 0, 1], [3, 2, 1, 0]])
    np.testing.assert_array_equal(tree_depths(heads), [1, 0, 1, 2])


def test_a_probe_on_vectors_that_encode_tree_distance_recovers_every_tree():
    train, held = random_treebank(300, 0), random_treebank(60, 1)
    dims = 12
    features = [Features("synthetic", tuple(t.sentences), tuple(tree_vectors(s, dims) for s in t.sentences), 0, ())
                for t in (train, held)]
    scores = structural_probe(features[:1], features[1:], rank=dims, epochs=10, learning_rate=0.03)[0]
    assert scores["uuas"] == [1.0]
    assert scores["root_accuracy"] == [1.0]
    assert scores["dspr"][0] > 0.95 and scores["nspr"][0] > 0.95


def test_a_probe_on_random_vectors_stays_near_the_random_baseline():
    train, held = random_treebank(200, 2), random_treebank(100, 3)
    rng = np.random.default_rng(0)
    features = [Features("random", tuple(t.sentences), tuple(rng.standard_normal((1, len(s.words), 16))
                                                             .astype(np.float16) for s in t.sentences), 0, ())
                for t in (train, held)]
    uuas = structural_probe(features[:1], features[1:], rank=16, epochs=3)[0]["uuas"][0]
    _, random_found = baselines(held.sentences)
    chance = random_found / sum(len(s.words) - 1 for s in held.sentences)
    assert abs(uuas - chance) < 0.06


def test_control_labels_are_fixed_per_word_type():
    train = read_conllu("\n".join([row(1, "the", 2, "DET"), row(2, "dog", 0, "NOUN"), "",
                                   row(1, "the", 2, "DET"), row(2, "cat", 0, "NOUN"), row(3, "the", 2, "DET"), ""]))
    held = read_conllu("\n".join([row(1, "the", 2, "DET"), row(2, "dog", 0, "NOUN"), row(3, "emu", 2, "NOUN"), ""]))
    fit, evaluation = control_labels(train.sentences, held.sentences, "upos", seed=5)
    forms = [w for s in train.sentences for w in s.words] + [w for s in held.sentences for w in s.words]
    assigned = {}
    for form, label in zip(forms, fit + evaluation, strict=True):
        assert assigned.setdefault(form, label) == label           # one label per type, train and eval alike
        assert label in {"DET", "NOUN"}                             # drawn from the task's labels
    assert control_labels(train.sentences, held.sentences, "upos", seed=5) == (fit, evaluation)


def test_word_vectors_are_the_mean_of_their_pieces(default_model):
    model, tokenizer = default_model
    treebank = read_conllu(SAMPLE.read_bytes(), max_sentences=2)
    features = extract_features(model, tokenizer, treebank)
    sentence = treebank.sentences[1]
    enc = encode_words(tokenizer, list(sentence.words))
    with torch.inference_mode():
        hidden = model(torch.tensor([enc.input_ids]), output_hidden_states=True).hidden_states
    for layer, states in enumerate(hidden):
        expected = np.stack([states[0, list(w.pieces)].mean(0).numpy() for w in enc.words])
        np.testing.assert_allclose(features.vectors[1][layer], expected, atol=2e-2, rtol=1e-2)  # stored as float16
    assert features.layers == model.config.num_hidden_layers + 1


def test_layer_probe_scores_every_layer_and_combination(default_model):
    model, tokenizer = default_model
    data = read_conllu(SAMPLE.read_bytes())
    train = extract_features(model, tokenizer, type(data)(data.sentences[::2]))
    held = extract_features(model, tokenizer, type(data)(data.sentences[1::2]))
    result = probes.layer_probe(train, held, epochs=2)
    L = model.config.num_hidden_layers
    for task in probes.TASKS:
        layers = result["layers"][task]
        assert len(layers["accuracy"]) == L + 1
        np.testing.assert_allclose(layers["selectivity"],
                                   np.array(layers["accuracy"]) - np.array(layers["control_accuracy"]))
        assert result["combinations"]["last"][task]["accuracy"] == layers["accuracy"][L]
        assert result["combinations"]["second_to_last"][task]["accuracy"] == layers["accuracy"][L - 1]
    assert set(result["combinations"]) == set(probes.COMBINATIONS)


def test_probe_commands_write_their_json(tmp_path, caplog):
    out = tmp_path / "structural.json"
    assert main(["structural-probe", "--train", str(SAMPLE), "--eval", str(SAMPLE), "--max-train-sentences", "10",
                 "--epochs", "1", "--rank", "8", "--json", str(out)]) == 0
    payload = json.loads(out.read_text())
    assert {"model", "rank", "seed", "epochs", "train", "eval", "layers", "random_model"} <= set(payload)
    assert payload["train"]["sentences"] == 10 and payload["eval"]["sentences"] == 30
    for part in (payload["layers"], payload["random_model"]):
        assert all(len(part[key]) == 7 for key in ("uuas", "dspr", "root_accuracy", "nspr"))
    out = tmp_path / "layers.json"
    assert main(["layer-probe", "--train", str(SAMPLE), "--eval", str(SAMPLE), "--epochs", "1",
                 "--json", str(out)]) == 0
    payload = json.loads(out.read_text())
    assert {"layers", "combinations", "majority_baseline", "train", "eval"} <= set(payload)
    one_word = tmp_path / "one_word.conllu"
    one_word.write_text(row(1, "Hello", 0) + "\n")
    assert main(["layer-probe", "--train", str(one_word), "--eval", str(SAMPLE), "--json", str(out)]) == 2
    assert "no sentence of two words" in caplog.text


@pytest.mark.slow
def test_structural_probe_on_ewt_finds_more_than_the_baselines(default_model, ewt_dev):
    model, tokenizer = default_model
    train = extract_features(model, tokenizer, read_conllu(ewt_dev.with_name("en_ewt-ud-train.conllu").read_bytes(),
                                                           1000))
    held = extract_features(model, tokenizer, read_conllu(ewt_dev.read_bytes(), 300))
    uuas = structural_probe([train], [held], epochs=3)[0]["uuas"]
    _, random_found = baselines(held.sentences)
    assert max(uuas) > 2 * random_found / sum(len(s.words) - 1 for s in held.sentences)
