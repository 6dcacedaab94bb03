"""The syntactic-head probe: baselines worked out by hand, the selection rules, spaCy parses, and the
CLI on UD English EWT checked against an independent per-sentence implementation (transformers + numpy)."""
import json

import numpy as np
import pytest
import torch

from app.__main__ import main
from app.conllu import Treebank, read_conllu
from app.syntax import (
    OFFSETS,
    PARSE_BATCH,
    ProbeResult,
    analyse_sentence,
    attention_targets,
    load_parser,
    parse_lines,
    parse_text,
    prepare,
    probe,
)


def row(i, form, head, deprel):
    return f"{i}\t{form}\t_\t_\t_\t_\t{head}\t{deprel}\t_\t_"


# Scored instances (root and punct left out), with the offset from dependent to head:
#   s0: The→cat det +1, cat→chased nsubj +1, my→mouse nmod:poss +1, mouse→chased obj −2
#   s1: Dogs→bark nsubj +1, loudly→bark advmod −1
#   s2: a→b dep +1, c→b dep −1
TINY = "\n".join([
    row(1, "The", 2, "det"), row(2, "cat", 3, "nsubj"), row(3, "chased", 0, "root"),
    row(4, "my", 5, "nmod:poss"), row(5, "mouse", 3, "obj"), row(6, ".", 3, "punct"), "",
    row(1, "Dogs", 2, "nsubj"), row(2, "bark", 0, "root"), row(3, "loudly", 2, "advmod"), "",
    row(1, "a", 2, "dep"), row(2, "b", 0, "root"), row(3, "c", 2, "dep"), "",
])


@pytest.fixture(scope="module")
def tiny_result(default_model):
    model, tokenizer = default_model
    return probe(model, tokenizer, read_conllu(TINY))


def test_baselines_on_a_hand_written_treebank(tiny_result):
    table = tiny_result.relation_table(0)
    assert list(table) == ["all", "dep", "nsubj", "advmod", "det", "nmod:poss", "obj"]  # by count, then name
    expected = {  # relation: (count, best offset, baseline accuracy), by hand from the list above
        "all": (8, 1, 5 / 8),       # +1 ×5, −1 ×2, −2 ×1
        "nsubj": (2, 1, 1.0),
        "det": (1, 1, 1.0),
        "dep": (2, -1, 0.5),        # +1 and −1 tie: the nearer-left offset, −1, wins
        "advmod": (1, -1, 1.0),
        "nmod:poss": (1, 1, 1.0),
        "obj": (1, -2, 1.0),
    }
    for relation, (count, offset, accuracy) in expected.items():
        row_ = table[relation]
        assert (row_["count"], row_["baseline_offset"]) == (count, offset), relation
        assert row_["baseline_accuracy"] == pytest.approx(accuracy), relation
    assert "root" not in table and "punct" not in table
    assert tiny_result.sentences == 3 and tiny_result.skipped == 0


def test_held_out_chooses_on_even_sentences_and_scores_on_odd(tiny_result):
    held = tiny_result.held_out(0)
    # even: s0 and s2; odd: s1 (Dogs +1 nsubj, loudly −1 advmod)
    # all on even: +1 ×4, −1 ×1, −2 ×1 → +1; on s1 it gets Dogs, misses loudly → 1/2
    assert held["all"]["count"] == 2 and held["all"]["baseline_offset"] == 1
    assert held["all"]["baseline_accuracy"] == pytest.approx(0.5)
    assert held["nsubj"]["baseline_accuracy"] == pytest.approx(1.0)
    assert "advmod" not in held   # never seen on the even half: nothing to choose
    assert "det" not in held      # never seen on the odd half: nothing to score


def test_head_accuracy_is_consistent_with_the_table(tiny_result, default_model):
    model, _ = default_model
    heads = tiny_result.head_accuracy(0)
    for direction in (0, 1):
        table = tiny_result.relation_table(direction)
        for relation, summary in table.items():
            grid = np.array(tiny_result.head_accuracy(direction)[relation])
            assert grid.shape == (model.config.num_hidden_layers, model.config.num_attention_heads)
            layer, head = (int(x) - 1 for x in summary["best_head"].split("-"))
            assert grid[layer, head] == summary["accuracy"] == grid.max()
    # "all" pools the relations: its hits are the count-weighted sum of theirs
    counts = {r: v["count"] for r, v in tiny_result.relation_table(0).items()}
    pooled = sum(np.array(heads[r]) * counts[r] for r in counts if r != "all")
    assert np.allclose(np.array(heads["all"]) * counts["all"], pooled)


def test_best_head_ties_go_to_the_lowest_layer_then_head():
    hits = np.zeros((2, 2, 3, 4, 2), dtype=np.int64)    # (direction, half, L, nh, R)
    hits[0, 0, 2, 0, 1] = 3                              # layer 3 head 1: 3 of 4
    hits[0, 1, 1, 3, 1] = 3                              # layer 2 head 4: 3 of 4 (ties), lower layer
    hits[0, 0, 1, 2, 1] = 1
    hits[0, 1, 1, 2, 1] = 2                              # layer 2 head 3: 3 of 4 (ties), lowest head there
    hits[..., 0] = hits[..., 1]
    counts = np.array([[3, 3], [3, 3]])
    result = ProbeResult("m", 2, 0, (), ("all", "x"), counts, hits, np.zeros((2, len(OFFSETS), 2), dtype=np.int64))
    assert result.relation_table(0)["x"]["best_head"] == "2-3"
    assert result.relation_table(0)["x"]["accuracy"] == 0.5
    # held out: chosen on half 0, where layer 3 head 1 is best alone, and scored on half 1
    assert result.held_out(0)["x"]["best_head"] == "3-1"
    assert result.held_out(0)["x"]["accuracy"] == 0.0


def test_long_sentence_is_skipped_and_counted(default_model):
    model, tokenizer = default_model
    long = "\n".join(row(i, "word", 0 if i == 1 else 1, "root" if i == 1 else "dep") for i in range(1, 600))
    result = probe(model, tokenizer, read_conllu(TINY + "\n" + long + "\n"))
    assert result.sentences == 3 and result.skipped == 1
    assert any("over 510 word pieces" in note and note.startswith("line 16:") for note in result.notes)


def test_word_the_tokenizer_drops_counts_as_a_miss(default_model):
    model, tokenizer = default_model
    # U+200B (zero width space) has no word piece: it attends nowhere, so its head is never found
    text = "\n".join([row(1, "Look", 0, "root"), row(2, "\u200b", 1, "dep"), row(3, "here", 1, "advmod"), ""])
    result = probe(model, tokenizer, read_conllu(text))
    grid = np.array(result.head_accuracy(0)["dep"])
    assert grid.max() == 0.0 and result.relation_table(0)["dep"]["count"] == 1


def test_one_sentence_runs_the_model_once_and_scores_as_the_probe_does(default_model):
    model, tokenizer = default_model
    treebank = read_conllu(TINY)
    sentence = treebank.sentences[0]
    forwards = []
    hook = model.register_forward_pre_hook(lambda module, args: forwards.append(tuple(args[0].shape)))
    try:
        analysis = analyse_sentence(model, tokenizer, sentence)
    finally:
        hook.remove()
    assert forwards == [(1, 8)]                     # [CLS] The cat chased my mouse . [SEP], once
    alone = probe(model, tokenizer, Treebank([sentence]))
    assert (analysis.result.sentences, analysis.result.skipped, analysis.result.notes) == (1, 0, ())
    assert analysis.result.relations == alone.relations
    for name in ("counts", "hits", "baseline_hits"):
        np.testing.assert_array_equal(getattr(analysis.result, name), getattr(alone, name))
    expected = np.stack([t[0].numpy() for t in attention_targets(model, [prepare(tokenizer, sentence)])])
    np.testing.assert_array_equal(analysis.targets, expected)
    # (direction, layer, head, word): one guess per word of the sentence
    assert analysis.targets.shape == (2, model.config.num_hidden_layers, model.config.num_attention_heads, 6)


@pytest.fixture(scope="module")
def nlp():
    return load_parser()


def test_spacy_silver_parse(nlp):
    [sentence] = parse_text(nlp, "The cat  sat on the mat.")
    assert sentence.words == ("The", "cat", "sat", "on", "the", "mat", ".")  # the double space is dropped
    assert sentence.heads[2] == 0 and sentence.deprels[2] == "root"
    assert sentence.heads[0] == 2 and sentence.deprels[0] == "det"
    with pytest.raises(ValueError, match="no text"):
        parse_text(nlp, "   ")


def test_spacy_lines_keep_line_numbers(nlp):
    treebank = parse_lines(nlp, "Dogs bark.\n\n   \nCats sleep all day.\n")
    assert [s.line for s in treebank.sentences] == [1, 4]
    assert treebank.sentences[1].words[0] == "Cats"


def test_spacy_parsing_reports_progress_up_to_the_total(nlp):
    lines = [f"Dog number {n} barks at the cat." for n in range(PARSE_BATCH * 2 + 37)] + ["", "  "]
    calls = []
    treebank = parse_lines(nlp, "\n".join(lines), progress=lambda done, total: calls.append((done, total)))
    total = PARSE_BATCH * 2 + 37                     # blank lines are not counted
    assert len(treebank.sentences) == total
    assert [done for done, _ in calls] == [PARSE_BATCH, 2 * PARSE_BATCH, total]
    assert {t for _, t in calls} == {total}
    # with a sentence limit it stops early, and says how far it got
    calls.clear()
    limited = parse_lines(nlp, "\n".join(lines), max_sentences=5, progress=lambda d, t: calls.append((d, t)))
    assert len(limited.sentences) == 5 and calls == [(5, total)]


# --- the CLI against an independent implementation -------------------------------------------------

def reference_probe(path, max_sentences):
    """Clark et al.'s analysis, one sentence at a time, with transformers' BertModel and numpy loops."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one tiny sentence at a time: a second thread only adds waiting
    try:
        return _reference_probe(path, max_sentences)
    finally:
        torch.set_num_threads(threads)


def _reference_probe(path, max_sentences):
    from transformers import AutoTokenizer, BertModel

    from bert_core import default_checkpoint

    tokenizer = AutoTokenizer.from_pretrained(str(default_checkpoint()))
    model = BertModel.from_pretrained(str(default_checkpoint()), attn_implementation="eager").eval()
    sentences, block = [], []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if line.strip():
            if not line.startswith("#"):
                block.append(line.split("\t"))
            continue
        if block:
            words = [c for c in block if c[0].isdigit()]  # no "1-2" ranges, no "1.1" empty nodes
            sentences.append(([c[1] for c in words], [int(c[6]) for c in words], [c[7] for c in words]))
            block = []
        if max_sentences and len(sentences) == max_sentences:
            break
    L, H = model.config.num_hidden_layers, model.config.num_attention_heads
    hits = {0: {}, 1: {}}          # direction → relation → (L, H) hits
    base, count = {}, {}           # relation → {offset: hits}, relation → instances
    for words, heads, relations in sentences:
        encoded = tokenizer(words, is_split_into_words=True, return_tensors="pt")
        with torch.no_grad():
            attentions = model(**encoded, output_attentions=True).attentions
        tokens = np.stack([a[0].double().numpy() for a in attentions])         # (L, H, T, T)
        word_of = encoded.word_ids()
        n = len(words)
        pieces = [[t for t, w in enumerate(word_of) if w == i] for i in range(n)]
        attention = np.zeros((L, H, n, n))
        for i in range(n):
            for j in range(n):  # FROM word i: mean over its pieces; TO word j: sum over its pieces
                attention[:, :, i, j] = tokens[:, :, pieces[i]][:, :, :, pieces[j]].sum(-1).mean(-1)
        for d in range(n):
            if heads[d] == 0 or relations[d] in ("root", "punct"):
                continue
            h = heads[d] - 1
            for relation in (relations[d], "all"):
                count[relation] = count.get(relation, 0) + 1
                for offset in OFFSETS:
                    base.setdefault(relation, dict.fromkeys(OFFSETS, 0))
                    base[relation][offset] += int(0 <= d + offset < n and d + offset == h)
                for direction in (0, 1):
                    grid = hits[direction].setdefault(relation, np.zeros((L, H), dtype=int))
                    if direction == 0:
                        scores = attention[:, :, d, :].copy()   # (L, H, n): what d attends to
                    else:
                        scores = attention[:, :, :, d].copy()   # (L, H, n): who attends to d
                    scores[:, :, d] = 0.0
                    grid += np.argmax(scores, axis=-1) == h     # np.argmax: the first maximum
    return len(sentences), count, base, hits


def check_against_reference(result, path, max_sentences):
    n, count, base, hits = reference_probe(path, max_sentences)
    assert result["sentences"] == n and result["skipped"] == 0
    for direction, part in ((0, result), (1, result["head_to_dependent"])):
        assert set(part["relations"]) == set(count)
        for relation, summary in part["relations"].items():
            assert summary["count"] == count[relation]
            best_offset = max(OFFSETS, key=lambda o: (base[relation][o], -OFFSETS.index(o)))
            assert summary["baseline_offset"] == best_offset
            assert summary["baseline_accuracy"] == pytest.approx(base[relation][best_offset] / count[relation])
            expected = hits[direction][relation] / count[relation]
            got = np.array(part["heads"][relation])
            # float32 batches vs float64 per sentence: a near-tie may flip one word, never more
            assert np.abs(got - expected).max() <= 1.0 / count[relation] + 1e-9, relation
            assert summary["accuracy"] == pytest.approx(expected.max(), abs=1.0 / count[relation] + 1e-9)
        assert part["relations"]["all"]["accuracy"] == np.max(part["heads"]["all"])


def test_cli_on_ewt_dev_matches_an_independent_implementation(ewt_dev, tmp_path):
    out = tmp_path / "probe.json"
    assert main(["probe", "--conllu", str(ewt_dev), "--max-sentences", "120", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert list(result) == ["model", "sentences", "skipped", "relations", "heads", "head_to_dependent"]
    assert result["model"] == "all-MiniLM-L6-v2"
    assert set(result["relations"]["det"]) == {"count", "best_head", "accuracy", "baseline_offset",
                                               "baseline_accuracy"}
    check_against_reference(result, ewt_dev, 120)


@pytest.mark.slow
def test_cli_on_the_whole_ewt_dev_set(ewt_dev, tmp_path):
    out = tmp_path / "probe.json"
    assert main(["probe", "--conllu", str(ewt_dev), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["sentences"] == 2001
    check_against_reference(result, ewt_dev, None)


def test_cli_exits_2_on_bad_files(tmp_path, caplog):
    empty = tmp_path / "empty.conllu"
    empty.write_bytes(b"")
    assert main(["probe", "--conllu", str(empty), "--json", str(tmp_path / "o.json")]) == 2
    assert "empty" in caplog.text
    assert main(["probe", "--conllu", str(tmp_path / "missing.conllu"), "--json", str(tmp_path / "o.json")]) == 2
    broken = tmp_path / "broken.conllu"
    broken.write_text(row(1, "a", 1, "dep") + "\n")
    assert main(["probe", "--conllu", str(broken), "--json", str(tmp_path / "o.json")]) == 2
    assert "line 1: cycle" in caplog.text
    assert not (tmp_path / "o.json").exists()


def test_cli_exits_2_for_a_model_or_an_output_path_it_cannot_use(tmp_path, caplog):
    good = tmp_path / "good.conllu"
    good.write_text(row(1, "Dogs", 2, "nsubj") + "\n" + row(2, "bark", 0, "root") + "\n\n")
    args = ["probe", "--conllu", str(good), "--json", str(tmp_path / "o.json")]
    assert main([*args, "--model", str(tmp_path / "no_such_model")]) == 2
    assert "cannot load the model" in caplog.text and not (tmp_path / "o.json").exists()
    out = tmp_path / "no_such_folder" / "o.json"
    assert main(["probe", "--conllu", str(good), "--json", str(out)]) == 2
    assert f"cannot write {out}" in caplog.text

