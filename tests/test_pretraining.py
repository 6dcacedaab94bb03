"""The Pre-training lab's analyses (app/pretraining.py) and `python -m app fill-mask|nsp|pll`.

Parity: random-weight BertForPreTraining checkpoints written with save_pretrained, read through our
loader, against transformers' BertForMaskedLM and BertForNextSentencePrediction reading the same
folder: probabilities within PROB_TOL (absolute), top-k tokens equal; the lens at every layer
against transformers' own MLM head on its hidden states within LOGIT_TOL; PLL within LOGP_TOL of a
plain loop over transformers, one forward per masked copy.
"""
from __future__ import annotations

import json
import math
import shlex

import pytest
import torch
import transformers

from app import pretraining as pt
from app.__main__ import main
from bert_core import load_pretrained
from tests.conftest import ROOT
from tests.pretraining_models import save_random_checkpoint

PROB_TOL = 1e-5
LOGIT_TOL = 1e-4
LOGP_TOL = 1e-4
MASKED = ["Istanbul is a great [MASK] to visit.", "If you don't [MASK] at the sign, you will get a [MASK].",
          "[MASK] [MASK] [MASK]"]


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    return save_random_checkpoint(tmp_path_factory.mktemp("tiny_pretraining"))


@pytest.fixture(scope="module")
def tiny(tiny_folder):
    return load_pretrained(tiny_folder, device="cpu")


def hf_masked_lm(folder):
    return transformers.BertForMaskedLM.from_pretrained(folder, attn_implementation="eager").eval()


def hf_next_sentence(folder):
    return transformers.BertForNextSentencePrediction.from_pretrained(folder, attn_implementation="eager").eval()


def assert_fill_mask_matches(model, tokenizer, hf, texts, k=5):
    for text in texts:
        masked = pt.mask_input(tokenizer, text)
        run = pt.run_fill_mask(model, masked)
        result = pt.fill_mask_json("m", run, tokenizer, k)
        batch = tokenizer(text, return_tensors="pt")
        assert result["tokens"] == tokenizer.convert_ids_to_tokens(batch["input_ids"][0])
        with torch.inference_mode():
            hf_out = hf(**batch, output_hidden_states=True)
        assert len(result["masks"]) == text.count("[MASK]")
        for mask in result["masks"]:
            position = mask["position"]
            assert result["tokens"][position] == "[MASK]"
            probs = torch.softmax(hf_out.logits[0, position], -1)
            best = torch.topk(probs, k)
            assert [p["token"] for p in mask["predictions"]] == tokenizer.convert_ids_to_tokens(best.indices)
            torch.testing.assert_close(torch.tensor([p["probability"] for p in mask["predictions"]]),
                                       best.values, atol=PROB_TOL, rtol=0)
            # The lens: transformers' own head on each layer's hidden state at this position.
            m = masked.positions.index(position)
            for layer in range(1, len(hf_out.hidden_states)):
                with torch.inference_mode():
                    theirs = hf.cls(hf_out.hidden_states[layer][0, position])
                torch.testing.assert_close(torch.from_numpy(run.logits[m, layer - 1]), theirs, atol=LOGIT_TOL, rtol=0)
            assert [entry["layer"] for entry in mask["layers"]] == list(range(1, len(hf_out.hidden_states)))
            assert mask["layers"][-1]["predictions"] == mask["predictions"]  # the lens at layer L is the prediction


def test_fill_mask_and_lens_match_transformers_masked_lm_tiny(tiny, tiny_folder):
    assert_fill_mask_matches(*tiny, hf_masked_lm(tiny_folder), MASKED)


def test_next_sentence_matches_transformers_tiny(tiny, tiny_folder):
    model, tokenizer = tiny
    hf = hf_next_sentence(tiny_folder)
    candidates = ["He bought a gallon of milk.", "Penguins are flightless."]
    results = pt.next_sentence(model, tokenizer, "The man went to the store.", candidates)
    for result, b in zip(results, candidates, strict=True):
        with torch.inference_mode():
            batch = tokenizer("The man went to the store.", b, return_tensors="pt")
            theirs = torch.softmax(hf(**batch).logits, -1)[0, 0]
            pooled = hf.bert(**batch).pooler_output[0]
        assert abs(result.is_next - float(theirs)) < PROB_TOL
        torch.testing.assert_close(torch.from_numpy(result.pooled), pooled, atol=LOGIT_TOL, rtol=0)
    assert results[0].is_next != results[1].is_next


@pytest.mark.slow
def test_fill_mask_and_next_sentence_match_transformers_base_shaped(tmp_path):
    folder = save_random_checkpoint(tmp_path, shape="base")
    model, tokenizer = load_pretrained(folder, device="cpu")
    assert_fill_mask_matches(model, tokenizer, hf_masked_lm(folder), ["the cat sat on the [MASK] .", "[MASK] dog !"])
    hf = hf_next_sentence(folder)
    result = pt.next_sentence(model, tokenizer, "the cat sat .", ["the dog sat on a mat ."])[0]
    with torch.inference_mode():
        theirs = torch.softmax(hf(**tokenizer("the cat sat .", "the dog sat on a mat .", return_tensors="pt")).logits,
                               -1)[0, 0]
    assert abs(result.is_next - float(theirs)) < PROB_TOL


def test_lens_at_the_last_layer_is_the_models_own_prediction(tiny):
    model, tokenizer = tiny
    masked = pt.mask_input(tokenizer, "The keys to the cabinet [MASK] on the table.", words=(1,))
    run = pt.run_fill_mask(model, masked)
    assert run.logits.shape == (2, model.config.num_hidden_layers, model.config.vocab_size)
    with torch.inference_mode():
        out = model(**masked.encoding.to_tensors())
        final = model.mlm_logits(out.last_hidden_state)[0, list(masked.positions)]
    torch.testing.assert_close(torch.from_numpy(run.logits[:, -1]), final, atol=1e-5, rtol=0)


def test_temperature_targets_and_pinned_ranks(tiny):
    model, tokenizer = tiny
    run = pt.run_fill_mask(model, pt.mask_input(tokenizer, "Istanbul is a great [MASK] to visit."))
    logits = run.logits[0, -1]
    for t in (0.5, 1.0, 2.0):
        probs = pt.probabilities(logits, t)
        expected = torch.softmax(torch.from_numpy(logits).double() / t, -1).numpy()
        assert abs(probs - expected).max() < 1e-12 and abs(probs.sum() - 1) < 1e-9
    cold, hot = pt.probabilities(logits, 0.5), pt.probabilities(logits, 2.0)
    assert cold.max() > pt.probabilities(logits).max() > hot.max()  # lower temperature: sharper
    ids, notes = pt.target_ids(tokenizer, ["city", "place", "Paris", "city"])
    assert ids == tokenizer.convert_tokens_to_ids(["city", "place", "paris"]) and "'paris'" in notes[0]
    restricted = pt.top_k(pt.probabilities(logits), tokenizer, 5, targets=ids)
    assert sorted(p.token for p in restricted) == ["city", "paris", "place"]
    assert [p.probability for p in restricted] == sorted((float(pt.probabilities(logits)[i]) for i in ids),
                                                          reverse=True)  # not renormalised among the targets
    probs = pt.probabilities(run.logits[0])
    ranks, chance = pt.pinned(probs, ids)
    for layer in range(probs.shape[0]):
        order = list((-probs[layer]).argsort(kind="stable"))
        assert [int(r) for r in ranks[layer]] == [order.index(i) + 1 for i in ids]
        assert list(chance[layer]) == [probs[layer, i] for i in ids]


def test_pll_word_l2r_equals_a_plain_loop(tiny, tiny_folder):
    model, tokenizer = tiny
    hf = hf_masked_lm(tiny_folder)
    text = "Tokenization of the keys is surprisingly hard."
    result = pt.pll_word_l2r(model, tokenizer, text, batch_size=3)  # several batches
    enc = tokenizer(text, return_offsets_mapping=True)
    word_ids = enc.word_ids(0)
    words: dict[int, list[int]] = {}
    for position, w in enumerate(word_ids):
        if w is not None:
            words.setdefault(w, []).append(position)
    assert any(len(p) > 1 for p in words.values()), "the sentence must have a word of several pieces"
    expected = []
    for pieces in words.values():
        total = 0.0
        for i, position in enumerate(pieces):
            ids = torch.tensor([enc["input_ids"]])
            ids[0, pieces[i:]] = tokenizer.mask_token_id  # this piece and the later ones of its word
            with torch.inference_mode():
                logp = torch.log_softmax(hf(ids).logits[0, position], -1)
            total += float(logp[enc["input_ids"][position]])
        expected.append(total)
    assert [w.word for w in result.words] == [text[enc["offset_mapping"][p[0]][0]:enc["offset_mapping"][p[-1]][1]]
                                              for p in words.values()]
    for word, score in zip(result.words, expected, strict=True):
        assert abs(word.score - score) < LOGP_TOL
    assert abs(result.pll - sum(expected)) < LOGP_TOL * len(expected)


SIM_TEXT = "The keys to the cabinet are on the table, said the tokenization expert unbelievably calmly."


def test_masking_simulator_follows_berts_recipe_over_10000_draws(tiny):
    tokenizer = tiny[1]
    enc_tokens = tokenizer(SIM_TEXT)["input_ids"]
    n = len(enc_tokens) - 2
    chosen_per_draw = max(1, round(0.15 * n))
    draws = 10_000
    counts = {pt.MASKED: 0, pt.RANDOM: 0, pt.KEPT: 0}
    per_position = [0] * len(enc_tokens)
    for seed in range(draws):
        rows = pt.simulate_masking(tokenizer, SIM_TEXT, seed=seed)
        picked = [r for r in rows if r["label"]]
        assert len(picked) == chosen_per_draw and rows[0]["label"] == rows[-1]["label"] == ""  # never [CLS]/[SEP]
        for r in picked:
            counts[r["what happened"]] += 1
            per_position[r["position"]] += 1
            if r["what happened"] == pt.MASKED:
                assert r["model reads"] == "[MASK]"
            if r["what happened"] == pt.KEPT:
                assert r["model reads"] == r["piece"]
    total = draws * chosen_per_draw
    # Tolerance: 5 binomial standard deviations (a false alarm about once in 3 million runs).
    for kind, share in ((pt.MASKED, 0.8), (pt.RANDOM, 0.1), (pt.KEPT, 0.1)):
        assert abs(counts[kind] / total - share) < 5 * math.sqrt(share * (1 - share) / total), (kind, counts)
    rate = chosen_per_draw / n  # every piece equally likely to be chosen
    for count in per_position[1:-1]:
        assert abs(count / draws - rate) < 5 * math.sqrt(rate * (1 - rate) / draws)


def test_masking_simulator_is_deterministic_per_seed_and_whole_word_keeps_words_whole(tiny):
    tokenizer = tiny[1]
    assert pt.simulate_masking(tokenizer, SIM_TEXT, seed=7) == pt.simulate_masking(tokenizer, SIM_TEXT, seed=7)
    assert len({str(pt.simulate_masking(tokenizer, SIM_TEXT, seed=s)) for s in range(20)}) > 10
    enc = tokenizer(SIM_TEXT)
    words = {}
    for position, w in enumerate(enc.word_ids(0)):
        if w is not None:
            words.setdefault(w, []).append(position)
    split_word_seen = False
    for seed in range(300):
        picked = {r["position"] for r in pt.simulate_masking(tokenizer, SIM_TEXT, seed=seed, whole_word=True)
                  if r["label"]}
        for pieces in words.values():
            assert set(pieces) <= picked or not set(pieces) & picked, (seed, pieces)
            split_word_seen |= len(pieces) > 1 and set(pieces) <= picked
    assert split_word_seen  # a word of several pieces was chosen whole at least once


def test_nsp_pairs_are_half_true_next_half_random_from_another_document(tiny):
    documents = pt.read_corpus()
    assert len(documents) >= 4 and all(len(d) >= 2 for d in documents)
    labels = []
    for seed in range(2000):
        pair = pt.make_nsp_pair(documents, seed)
        home = next(d for d in documents if pair.text_a in d)
        if pair.is_next:
            assert home[home.index(pair.text_a) + 1] == pair.text_b
        else:
            assert pair.text_b not in home
        labels.append(pair.is_next)
    assert abs(sum(labels) / len(labels) - 0.5) < 5 * math.sqrt(0.25 / len(labels))
    rows = pt.pair_rows(tiny[1], pt.make_nsp_pair(documents, 3))
    pieces = [r["piece"] for r in rows]
    assert pieces[0] == "[CLS]" and pieces.count("[SEP]") == 2 and pieces[-1] == "[SEP]"
    first_sep = pieces.index("[SEP]")
    assert [r["segment id"] for r in rows] == [0] * (first_sep + 1) + [1] * (len(rows) - first_sep - 1)


@pytest.mark.parametrize("kwargs, message", [
    ({"text_a": "Istanbul is a great city to visit."}, "nothing is masked"),
    ({"text_a": "[MASK] " * 20}, "20 pieces are masked: at most 10"),
    ({"text_a": "Istanbul is great.", "pieces": (0,)}, "piece 0 is [CLS]"),
    ({"text_a": "[CLS] is a [MASK]"}, "[CLS] is typed in the text"),
    ({"text_a": "word " * 600 + "[MASK]"}, "603 word pieces long; BERT reads at most 512"),
])
def test_bad_fill_mask_input_is_refused_with_a_reason(tiny, kwargs, message):
    with pytest.raises(pt.PretrainingError, match=message.replace("[", r"\[").replace("]", r"\]")):
        pt.mask_input(tiny[1], **kwargs)


def test_a_model_without_heads_is_refused(default_model):
    model, tokenizer = default_model
    for head, name in (("mlm", "masked-LM head"), ("nsp", "next-sentence head")):
        with pytest.raises(pt.PretrainingError, match=f"no {name}.*bert-base-uncased"):
            pt.require_head(model, head, "all-MiniLM-L6-v2")


# ------------------------------------------------------------------------------- command line

def test_cli_fill_mask_writes_the_documented_shape(tiny_folder, tmp_path, tiny):
    out = tmp_path / "fill.json"
    text = "Istanbul is a great [MASK] to visit."
    assert main(["fill-mask", "--text", text, "--model", str(tiny_folder), "--top-k", "3", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert set(data) == {"model", "tokens", "masks"} and data["model"] == str(tiny_folder)
    assert data["tokens"][0] == "[CLS]" and data["tokens"][5] == "[MASK]"
    (mask,) = data["masks"]
    assert set(mask) == {"position", "predictions", "layers"} and mask["position"] == 5
    assert len(mask["predictions"]) == 3 and set(mask["predictions"][0]) == {"token", "probability"}
    probs = [p["probability"] for p in mask["predictions"]]
    assert probs == sorted(probs, reverse=True)
    assert [entry["layer"] for entry in mask["layers"]] == [1, 2]
    model, tokenizer = tiny
    assert data == pt.fill_mask_json(str(tiny_folder), pt.run_fill_mask(model, pt.mask_input(tokenizer, text)),
                                     tokenizer, 3)


def test_cli_nsp_and_pll_write_the_documented_shapes(tiny_folder, tmp_path, tiny):
    out = tmp_path / "nsp.json"
    assert main(["nsp", "--a", "The man went to the store.", "--b", "Penguins are flightless.",
                 "--model", str(tiny_folder), "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert set(data) == {"model", "is_next"} and 0 < data["is_next"] < 1
    sentences = tmp_path / "s.txt"
    sentences.write_text("The keys to the cabinet are on the table.\n\nThe keys to the cabinet is on the table.\n",
                         encoding="utf-8")
    assert main(["pll", "--data", str(sentences), "--model", str(tiny_folder), "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert set(data) == {"model", "sentences"} and len(data["sentences"]) == 2
    first = data["sentences"][0]
    assert set(first) == {"text", "pll", "words"} and set(first["words"][0]) == {"word", "score"}
    assert abs(first["pll"] - sum(w["score"] for w in first["words"])) < 1e-9
    assert first == pt.pll_word_l2r(*tiny, first["text"]).to_json()


@pytest.mark.parametrize("argv, message", [
    (["fill-mask", "--text", "Istanbul is a great [MASK] to visit."], "has no masked-LM head"),
    (["nsp", "--a", "A man.", "--b", "A dog."], "has no next-sentence head"),
])
def test_cli_refuses_a_model_without_the_head(tmp_path, caplog, argv, message):
    assert main([*argv, "--json", str(tmp_path / "o.json")]) == 2
    assert message in caplog.text and not (tmp_path / "o.json").exists()


@pytest.mark.parametrize("text, message", [
    ("no mask here", "nothing is masked"), ("[MASK] " * 20, "at most 10"), ("[CLS] [MASK]", "[CLS] is typed"),
    ("word " * 600 + "[MASK]", "BERT reads at most 512")])
def test_cli_fill_mask_bad_text_exits_2_with_one_line(tiny_folder, tmp_path, caplog, text, message):
    assert main(["fill-mask", "--text", text, "--model", str(tiny_folder), "--json", str(tmp_path / "o.json")]) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and message in errors[0] and "\n" not in errors[0]


def test_cli_pll_refuses_an_empty_file_and_a_long_line(tiny_folder, tmp_path, caplog):
    data = tmp_path / "s.txt"
    data.write_text("\n  \n", encoding="utf-8")
    assert main(["pll", "--data", str(data), "--model", str(tiny_folder), "--json", str(tmp_path / "o.json")]) == 2
    assert "no sentences" in caplog.text
    data.write_text("A short one.\n" + "word " * 600 + "\n", encoding="utf-8")
    assert main(["pll", "--data", str(data), "--model", str(tiny_folder), "--json", str(tmp_path / "o.json")]) == 2
    assert "line 2" in caplog.text and not (tmp_path / "o.json").exists()


def test_masked_texts_read_back_as_the_masked_input(tiny):
    tokenizer = tiny[1]
    a, b = "Tokenization is surprisingly hard, said the [MASK].", "The keys are on the table."
    words = (0, 2, 9)  # "Tokenization" (two pieces), "surprisingly", and "keys" in sentence B
    masked = pt.mask_input(tokenizer, a, b, words=words)
    text_a, text_b = pt.masked_texts(tokenizer, a, b, words)
    assert "[MASK]" in text_b and text_a.startswith("[MASK][MASK] is [MASK]")
    again = pt.mask_input(tokenizer, text_a, text_b)
    assert again.encoding.input_ids == masked.encoding.input_ids and again.positions == masked.positions


def test_the_readme_commands_run_as_written_on_a_checkpoint_with_heads(tiny_folder, tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("### Pre-training: masked words")
    section = readme[start:readme.index("\n### ", start + 1)]  # up to the next section
    commands = [line for line in section.splitlines() if line.startswith("python -m app ")]
    assert [shlex.split(c)[3] for c in commands] == ["fill-mask", "nsp", "pll"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sentences.txt").write_text("The keys to the cabinet are on the table.\n", encoding="utf-8")
    for command in commands:
        argv = [str(tiny_folder) if word == "bert-base-uncased" else word for word in shlex.split(command)[3:]]
        assert main(argv) == 0, command
    assert set(json.loads((tmp_path / "fill.json").read_text())) == {"model", "tokens", "masks"}
    assert set(json.loads((tmp_path / "nsp.json").read_text())) == {"model", "is_next"}
    assert set(json.loads((tmp_path / "pll.json").read_text())) == {"model", "sentences"}
