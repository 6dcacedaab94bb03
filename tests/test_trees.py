"""Trees from attention: MST decoding on hand-made matrices, against scipy on random ones, UUAS on a
treebank against a straightforward per-sentence computation written here (piece loops + scipy), the
baselines, the skips, and the `trees` command."""
import json

import numpy as np
import pytest
import torch
from scipy.sparse.csgraph import minimum_spanning_tree

from app.__main__ import main
from app.conllu import read_conllu
from app.trees import (
    baselines,
    decode_sentence,
    decode_treebank,
    directed_tree,
    gold_edges,
    max_spanning_tree,
    tree_edges,
)
from bert_core import encode_words
from tests.conftest import ROOT

SAMPLE = ROOT / "data" / "syntax_sample.conllu"


def row(i, form, head, deprel="dep"):
    return f"{i}\t{form}\t_\tX\t_\t_\t{head}\t{deprel}\t_\t_"


def matrix(n, edges, strong=1.0, weak=0.1):
    m = np.full((n, n), weak)
    for a, b in edges:
        m[a, b] = m[b, a] = strong
    return torch.tensor(m)


def test_mst_finds_hand_made_trees_in_one_padded_batch():
    chain = [(0, 1), (1, 2), (2, 3)]
    star = [(2, 0), (2, 1), (2, 3), (2, 4)]
    crossing = [(0, 2), (1, 3), (0, 1)]
    scores = torch.zeros(3, 5, 5, dtype=torch.float64)
    scores[0, :4, :4] = matrix(4, chain)
    scores[1] = matrix(5, star)
    scores[2, :4, :4] = matrix(4, crossing)
    valid = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1], [1, 1, 1, 1, 0]], dtype=torch.bool)
    parent = max_spanning_tree(scores, valid)
    assert tree_edges(parent[0].tolist()) == {tuple(sorted(e)) for e in chain}
    assert tree_edges(parent[1].tolist()) == {tuple(sorted(e)) for e in star}
    assert tree_edges(parent[2].tolist()) == {tuple(sorted(e)) for e in crossing}
    assert parent[0, 4] == -1 and parent[2, 4] == -1 and (parent[:, 0] == -1).all()  # padding, node 0: none
    # a minimum spanning tree is the maximum one of the negated weights
    assert tree_edges(max_spanning_tree(-matrix(4, chain, strong=0.0, weak=1.0)[None])[0].tolist()) == \
        {tuple(sorted(e)) for e in chain}


def test_mst_agrees_with_scipy_on_random_matrices():
    rng = np.random.default_rng(3)
    for n in (2, 3, 7, 20, 45):
        weights = rng.random((30, n, n))
        weights = (weights + weights.mT) / 2
        parents = max_spanning_tree(torch.from_numpy(weights))
        for w, parent in zip(weights, parents, strict=True):
            reference = minimum_spanning_tree(-w).toarray()        # scipy: minimum over negated weights
            expected = {(min(a, b), max(a, b)) for a, b in zip(*np.nonzero(reference), strict=True)}
            assert tree_edges(parent.tolist()) == expected


def straightforward_found(model, tokenizer, sentence) -> np.ndarray:
    """(L, nh + 1) gold edges found, one sentence at a time: piece loops for word-level attention
    (TO = sum, FROM = mean, no [CLS]/[SEP]), scipy for the tree."""
    enc = encode_words(tokenizer, list(sentence.words))
    with torch.inference_mode():
        out = model(torch.tensor([enc.input_ids]), output_attentions=True)
    gold = gold_edges(sentence)
    W = len(sentence.words)
    found = []
    for layer in out.attentions:
        a = layer[0].double().numpy()
        words = np.zeros((a.shape[0], W, W))
        for i, wi in enumerate(enc.words):
            for j, wj in enumerate(enc.words):
                words[:, i, j] = np.mean([a[:, p, wj.pieces].sum(-1) for p in wi.pieces], axis=0)
        row_ = []
        for m in [*words, words.mean(0)]:
            tree = minimum_spanning_tree(-(m + m.T) / 2).toarray()
            row_.append(len({(min(x, y), max(x, y)) for x, y in zip(*np.nonzero(tree), strict=True)} & gold))
        found.append(row_)
    return np.array(found)


def test_uuas_matches_a_straightforward_computation(default_model):
    model, tokenizer = default_model
    treebank = read_conllu(SAMPLE.read_bytes(), max_sentences=8)
    result = decode_treebank(model, tokenizer, treebank)
    expected = sum(straightforward_found(model, tokenizer, s) for s in treebank.sentences)
    np.testing.assert_array_equal(result.found, expected)
    edges = sum(len(s.words) - 1 for s in treebank.sentences)
    assert result.edges == edges and result.sentences == 8 and result.skipped == 0
    payload = result.to_json()
    np.testing.assert_allclose(payload["heads"], expected[:, :-1] / edges)
    np.testing.assert_allclose(payload["layer_mean"], expected[:, -1] / edges)
    heads = expected[:, :-1]
    layer, head = next((l_, h) for l_ in range(heads.shape[0]) for h in range(heads.shape[1])
                       if heads[l_, h] == heads.max())                  # first in layer, then head order
    assert payload["best_head"] == f"{layer + 1}-{head + 1}"
    # one sentence alone gives the same trees
    alone = decode_sentence(model, tokenizer, treebank.sentences[0])
    np.testing.assert_allclose(alone.uuas(), straightforward_found(model, tokenizer, treebank.sentences[0])
                               / (len(treebank.sentences[0].words) - 1))


def test_baselines_by_hand_and_random_trees_near_chance():
    # a → b → c ← d: edges (0,1), (1,2), (2,3) all between neighbours; e f g with f the root: (0,1), (1,2)
    treebank = read_conllu("\n".join([row(1, "a", 2), row(2, "b", 3), row(3, "c", 0), row(4, "d", 3), "",
                                      row(1, "e", 3), row(2, "f", 0), row(3, "g", 2), ""]))
    right, _ = baselines(treebank.sentences)
    assert right == 3 + 1          # second sentence: only f–g is between neighbours
    # random trees: every gold edge is in a random spanning tree with probability 2/n
    rng = np.random.default_rng(0)
    lines = []
    for _ in range(300):
        heads = [0] + [int(rng.integers(1, i + 1)) for i in range(1, 10)]   # a random tree on 10 words
        lines += [row(i + 1, f"w{i}", h) for i, h in enumerate(heads)] + [""]
    many = read_conllu("\n".join(lines)).sentences
    _, found = baselines(many, seed=1)
    assert found / (9 * len(many)) == pytest.approx(0.2, abs=0.02)
    assert baselines(many, seed=1) == baselines(many, seed=1)                # seeded


def test_skips_one_word_and_overlong_sentences_and_counts_them(default_model):
    model, tokenizer = default_model
    long_sentence = [row(1, "start", 0)] + [row(i, "extraordinarily", 1) for i in range(2, 400)]
    text = "\n".join([row(1, "Alone", 0), "", *long_sentence, "", row(1, "Dogs", 2), row(2, "bark", 0), "",
                      row(1, "broken", "x"), ""])
    result = decode_treebank(model, tokenizer, read_conllu(text))
    assert result.sentences == 1 and result.skipped == 3 and result.edges == 1
    assert any("one word" in n for n in result.notes) and any("510 word pieces" in n for n in result.notes)
    with pytest.raises(ValueError, match="one word"):
        decode_sentence(model, tokenizer, read_conllu(row(1, "Alone", 0)).sentences[0])


def test_directed_tree_from_a_hand_made_matrix():
    # dependent → head weights: 0 → 1, 2 → 1, 3 → 2 strongest; 1 is the root
    a = np.full((4, 4), 0.05)
    a[0, 1] = a[2, 1] = a[3, 2] = 0.9
    assert directed_tree(a) == [2, 0, 2, 3]


def test_trees_command_writes_the_issue_shape(tmp_path, caplog):
    out = tmp_path / "trees.json"
    assert main(["trees", "--conllu", str(SAMPLE), "--max-sentences", "3", "--json", str(out)]) == 0
    payload = json.loads(out.read_text())
    assert set(payload) == {"model", "sentences", "skipped", "edges", "heads", "layer_mean", "best_head", "baselines"}
    assert set(payload["baselines"]) == {"right_branching", "random"}
    assert payload["sentences"] == 3 and len(payload["heads"]) == len(payload["layer_mean"]) == 6
    assert len(payload["heads"][0]) == 12
    no_heads = tmp_path / "no_heads.conllu"
    no_heads.write_text("1\tDogs\t_\t_\t_\t_\t_\t_\t_\t_\n2\tbark\t_\t_\t_\t_\t_\t_\t_\t_\n")
    assert main(["trees", "--conllu", str(no_heads), "--json", str(tmp_path / "x.json")]) == 2
    assert "no valid sentence" in caplog.text and "HEAD '_'" in caplog.text
