"""Word vectors, occurrences, table reading, sense scores and the polysemy CLI."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from app import inputs, polysemy
from app.__main__ import main
from app.sentence_embeddings import sentence_embeddings
from app.vectors import cosine_matrix, similarity_by_layer
from bert_core import DEFAULT_MODEL, default_checkpoint, encode

# ------------------------------------------------------------------------------------------------
# Occurrences and word pieces


def test_occurrences_are_whole_words_in_any_case():
    sentence = "Python, python and PYTHON! Pythonic pythons aren't python-like; (python)"
    spans = polysemy.find_occurrences(sentence, "python")
    assert [sentence[a:b] for a, b in spans] == ["Python", "python", "PYTHON", "python", "python"]
    assert spans[3][0] == sentence.index("python-like")       # punctuation ends a word, letters do not
    assert polysemy.find_occurrences("The banks embank it", "bank") == []
    assert polysemy.find_occurrences("New York's fair", "new york") == [(0, 8)]
    assert polysemy.find_occurrences("anything", "  ") == []


def test_a_word_of_several_pieces_gets_all_its_pieces(default_model):
    _, tokenizer = default_model
    target = polysemy.locate(tokenizer, "Contextual embeddings, unlike word2vec's.", "embeddings")
    pieces = [target.encoding.tokens[p] for p in target.pieces]
    assert len(pieces) > 1 and "".join(p.removeprefix("##") for p in pieces) == "embeddings"
    assert "," not in pieces


def test_repeated_word_picks_the_asked_occurrence(default_model):
    _, tokenizer = default_model
    sentence = "The bank said the river bank flooded."
    first, second = (polysemy.locate(tokenizer, sentence, "BANK", k) for k in (0, 1))
    assert first.encoding.tokens[first.pieces[0]] == second.encoding.tokens[second.pieces[0]] == "bank"
    assert first.pieces[0] < second.pieces[0] and (first.start, second.start) == (4, 24)
    assert polysemy.locate(tokenizer, sentence, "bank", 2) is None
    assert polysemy.locate(tokenizer, "no such word here", "bank") is None


def test_word_vector_is_the_mean_of_its_pieces_at_every_layer_in_padded_batches(default_model):
    model, tokenizer = default_model
    sentences = ["Tokenization splits words.", "A much longer sentence, so that the first one gets padded "
                 "in the batch: tokenization again.", "tokenization"]
    targets = [polysemy.locate(tokenizer, s, "tokenization") for s in sentences]
    vectors = polysemy.word_vectors(model, targets, batch_size=2)
    assert vectors.shape == (3, model.config.num_hidden_layers + 1, model.config.hidden_size)
    for row, target in enumerate(targets):
        assert len(target.pieces) >= 2
        with torch.inference_mode():
            states = model(**target.encoding.to_tensors(), output_hidden_states=True).hidden_states
        expected = np.stack([h[0, list(target.pieces)].mean(0).numpy() for h in states])
        np.testing.assert_allclose(vectors[row], expected, atol=2e-5)


def test_forwards_run_on_the_sorted_order_cut_every_batch_size(default_model):
    model, tokenizer = default_model
    sentences = ["A bank.", "The bank by the long and winding river was muddy.", "Bank it.", "The old bank closed.",
                 "We sat on the grassy bank of the river all afternoon.", "A bank again.", "My bank."]
    targets = [polysemy.locate(tokenizer, s, "bank") for s in sentences]
    lengths = [len(t.encoding) for t in targets]
    order = sorted(range(len(targets)), key=lambda i: (lengths[i], i))
    expected = [(3, max(lengths[i] for i in order[0:3])), (3, max(lengths[i] for i in order[3:6])),
                (1, lengths[order[6]])]
    shapes = []
    hook = model.register_forward_pre_hook(lambda module, args: shapes.append(tuple(args[0].shape)))
    try:
        vectors = polysemy.word_vectors(model, targets, batch_size=3)
    finally:
        hook.remove()
    assert shapes == expected
    # each batch's rows land back in table order: a sentence's vector does not depend on its batch
    alone = np.concatenate([polysemy.word_vectors(model, [t]) for t in targets])
    np.testing.assert_allclose(vectors, alone, atol=2e-5)


# ------------------------------------------------------------------------------------------------
# Reading tables


def test_table_reads_tsv_and_csv_with_quotes_bom_and_optional_sense():
    tsv = polysemy.read_table(b"word\tsense\tsentence\nbank\tmoney\tThe bank, closed.\n\n", "x.tsv")
    assert tsv.has_senses and tsv.rows == [polysemy.Row(2, "bank", "money", "The bank, closed.")]
    csv = polysemy.read_table('\ufeffSentence,Word\n"The bank, by the river",bank\n'.encode(), "x.csv")
    assert not csv.has_senses and csv.rows[0].sentence == "The bank, by the river" and csv.rows[0].sense is None


def test_table_skips_bad_rows_with_their_line_numbers_and_keeps_the_rest():
    data = (b"word,sense,sentence\n"
            b"bank,money,I went to the bank.\n"        # 2 kept
            b"bank,river,no such word here\n"          # 3 word missing
            b"bank,money\n"                            # 4 too few fields
            b",money,The bank.\n"                      # 5 empty word
            b"bank,,The bank.\n"                       # 6 empty sense
            b"bank,river,The bank of the river.\n"     # 7 kept
            ) + b"bank,river,The caf\xe9 bank.\n"  # 8 Latin-1, not UTF-8
    table = polysemy.read_table(data, "t.csv")
    assert [r.line for r in table.rows] == [2, 7]
    reasons = {s.line: s.reason for s in table.skipped}
    assert sorted(reasons) == [3, 4, 5, 6, 8]
    assert "does not occur" in reasons[3] and "fields" in reasons[4] and "empty" in reasons[5]
    assert "sense" in reasons[6] and "UTF-8" in reasons[8]


def test_table_reads_semicolons_like_every_other_upload():
    data = b"word;sense;sentence\nbank;money;The bank, closed.\nbank;river;\"The bank; the river\"\n"
    table = polysemy.read_table(data, "semicolons.csv")
    assert not table.skipped and table.has_senses
    assert table.rows == [polysemy.Row(2, "bank", "money", "The bank, closed."),
                          polysemy.Row(3, "bank", "river", "The bank; the river")]
    rows, columns, _ = inputs.read_csv(data.decode(), "semicolons.csv")     # the sidebar's reading agrees
    assert columns == ["word", "sense", "sentence"]
    assert [r["sentence"] for r in rows] == [r.sentence for r in table.rows]
    with pytest.raises(polysemy.TableError, match="semicolon-separated"):
        polysemy.read_table(b"word;text\nbank;the bank\n", "t.csv")


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"word,text\nbank,The bank\n", "missing column(s) sentence"),
    ("word\tsentence\n".encode("utf-16"), "UTF-16"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
    (b"w\xe9rd,sentence\n", "header is not UTF-8"),
])
def test_unreadable_tables_raise_a_clear_error(data, message):
    with pytest.raises(polysemy.TableError, match=re.escape(message)):
        polysemy.read_table(data, "t.csv")


def test_thousands_of_rows_and_a_very_long_sentence(default_model):
    model, tokenizer = default_model
    rows = "".join(f"bank\t{'money' if i % 2 else 'river'}\tSentence {i} about the bank.\n" for i in range(5000))
    long_tail = "word " * 600
    data = f"word\tsense\tsentence\n{rows}bank\triver\t{long_tail} the bank\nbank\tmoney\tthe bank {long_tail}\n"
    table = polysemy.read_table(data.encode(), "t.tsv")
    assert len(table.rows) == 5002 and not table.skipped
    small = polysemy.Table(table.rows[:4] + table.rows[-2:], [], True)
    analysis = polysemy.analyse_table(model, tokenizer, small, model_name="m")
    assert [r.line for r in analysis.rows] == [2, 3, 4, 5, 5003]          # the bank after 600 words is cut
    assert [(s.line, "512" in s.reason) for s in analysis.skipped] == [(5002, True)]


def test_a_field_over_csvs_default_limit_is_read_without_changing_the_limit_per_call(monkeypatch):
    long_sentence = "the bank " + "word " * 30_000             # 150,009 characters: over csv's default 131,072
    assert len(long_sentence) > 131_072
    data = f"word,sentence\nbank,{long_sentence}\nbank,the river bank\n".encode()
    calls = []
    monkeypatch.setattr(polysemy.csv, "field_size_limit", lambda *args: calls.append(args))
    table = polysemy.read_table(data, "t.csv")
    assert not calls                                            # the process-wide limit is set on import only
    assert not table.skipped and [r.sentence for r in table.rows] == [long_sentence.strip(), "the river bank"]


# ------------------------------------------------------------------------------------------------
# Sense scores


def test_nearest_neighbour_ties_go_to_the_earliest_row():
    # Row 2 is equally far from rows 0 and 1: it takes row 0's sense, so it is right; rows 0 and
    # 1 are each other's neighbours with different senses, so both are wrong: 1/3.
    vectors = np.array([[[1.0, 0.0]], [[1.0, 0.0]], [[0.0, 1.0]]])
    layers, _ = polysemy.sense_scores(vectors, ["w", "w", "w"], ["x", "y", "x"])
    assert layers[0]["accuracy"] == pytest.approx(1 / 3)
    assert list(polysemy.loo_nearest_neighbours(cosine_matrix(vectors[:, 0]))) == [1, 0, 0]
    # Swap the first two rows: now the earliest tied row has the other sense and row 2 is wrong too.
    layers, _ = polysemy.sense_scores(vectors, ["w", "w", "w"], ["y", "x", "x"])
    assert layers[0]["accuracy"] == 0


def test_one_sense_only_is_not_scored_and_said_so():
    vectors = np.random.default_rng(0).normal(size=(6, 2, 4))
    words = ["Bat", "bat", "bat", "seal", "seal", "seal"]
    senses = ["animal", "sports", "animal", "animal", "animal", "animal"]
    layers, per_word = polysemy.sense_scores(vectors, words, senses)
    assert set(layers[0]["per_word"]) == {"bat", "seal"} and layers[1]["per_word"]["seal"] is None
    assert layers[1]["accuracy"] == layers[1]["per_word"]["bat"]          # only bat's rows count
    assert per_word["seal"]["within"] == [None, None]
    table = polysemy.Table([], [], True)
    analysis = polysemy.SenseAnalysis("m", [], [], vectors, layers, per_word)
    assert any("one sense only" in note and "seal" in note for note in polysemy.summary_messages(analysis, table))


# ------------------------------------------------------------------------------------------------
# The CLI against an independent computation with transformers


SMALL_TABLE = """word\tsense\tsentence
bank\tmoney\tShe deposited the cheque at the bank.
bank\triver\tWe sat on the grassy bank of the river.
bank\tmoney\tThe bank raised its interest rates.
bank\triver\tThe boat drifted toward the muddy Bank.
bank\tmoney\tHe robbed a bank, then the bank next door.
bank\triver\tReeds grew along the bank.
mouse\tanimal\tA mouse ran across the kitchen floor.
mouse\tcomputer\tClick the left mouse button.
mouse\tanimal\tThe cat caught a mouse in the barn.
mouse\tcomputer\tMy wireless mouse needs new batteries.
mouse\tanimal\tThe owl swooped on the mouse.
mouse\tcomputer\tPlug the mouse into the USB port.
bank\tmoney\tThis sentence has no such word.
"""


def _expected_with_transformers(rows):
    """Straightforward reference: one sentence at a time through transformers' BertModel."""
    from transformers import AutoTokenizer, BertModel

    tokenizer = AutoTokenizer.from_pretrained(str(default_checkpoint()))
    model = BertModel.from_pretrained(str(default_checkpoint())).eval()
    vectors = []
    for word, _, sentence in rows:
        lower, start = sentence.lower(), 0
        while True:  # first occurrence not glued to letters or digits on either side
            start = lower.index(word, start)
            end = start + len(word)
            if (start == 0 or not lower[start - 1].isalnum()) and (end == len(lower) or not lower[end].isalnum()):
                break
            start += 1
        batch = tokenizer(sentence, return_offsets_mapping=True, return_tensors="pt")
        offsets = batch.pop("offset_mapping")[0].tolist()
        pieces = [i for i, (a, b) in enumerate(offsets) if b > a and a < end and b > start]
        with torch.no_grad():
            states = model(**batch, output_hidden_states=True).hidden_states
        vectors.append([h[0, pieces].mean(0).numpy() for h in states])
    vectors = np.array(vectors, dtype=np.float64)
    n_layers = vectors.shape[1]
    layers, words = [], {}
    for layer in range(n_layers):
        unit = vectors[:, layer] / np.linalg.norm(vectors[:, layer], axis=1, keepdims=True)
        correct, per_word = 0, {}
        for word in dict.fromkeys(r[0] for r in rows):
            idx = [i for i, r in enumerate(rows) if r[0] == word]
            hits, within, between = 0, [], []
            for i in idx:
                best, best_sim = None, -2.0
                for j in idx:
                    sim = float(unit[i] @ unit[j])
                    if j != i and sim > best_sim:   # strictly greater: ties keep the earlier row
                        best, best_sim = j, sim
                    if j > i:
                        (within if rows[i][1] == rows[j][1] else between).append(sim)
                hits += rows[best][1] == rows[i][1]
            per_word[word] = hits / len(idx)
            correct += hits
            words.setdefault(word, {"within": [], "between": []})
            words[word]["within"].append(np.mean(within))
            words[word]["between"].append(np.mean(between))
        layers.append({"layer": layer, "accuracy": correct / len(rows), "per_word": per_word})
    return layers, words


def test_cli_matches_an_independent_transformers_computation(tmp_path):
    path = tmp_path / "senses.tsv"
    path.write_text(SMALL_TABLE, encoding="utf-8")
    out = tmp_path / "out.json"
    assert main(["polysemy", "--data", str(path), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    rows = [line.split("\t") for line in SMALL_TABLE.strip().splitlines()[1:-1]]
    layers, words = _expected_with_transformers(rows)

    assert result["model"] == DEFAULT_MODEL and result["items"] == 12
    assert len(result["skipped"]) == 1 and result["skipped"][0]["line"] == 14
    assert [entry["layer"] for entry in result["layers"]] == list(range(7))
    for got, want in zip(result["layers"], layers, strict=True):
        assert got["accuracy"] == pytest.approx(want["accuracy"])
        assert got["per_word"] == pytest.approx(want["per_word"])
    for word in ("bank", "mouse"):
        np.testing.assert_allclose(result["words"][word]["within"], words[word]["within"], atol=1e-4)
        np.testing.assert_allclose(result["words"][word]["between"], words[word]["between"], atol=1e-4)
    assert result["layers"][-1]["accuracy"] > result["layers"][0]["accuracy"]


@pytest.mark.parametrize("content", [None, b"word,text\nbank,the bank\n", b"word,sentence\nbank,no such word\n"])
def test_cli_exits_2_with_a_message_on_bad_files(tmp_path, caplog, content):
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_bytes(content)
    assert main(["polysemy", "--data", str(path), "--json", str(tmp_path / "o.json")]) == 2
    assert "bad.csv" in caplog.text and not (tmp_path / "o.json").exists()


def test_cli_exits_2_when_the_model_cannot_be_loaded(tmp_path, caplog):
    path = tmp_path / "ok.tsv"
    path.write_text("word\tsentence\nbank\tthe bank\n", encoding="utf-8")
    args = ["polysemy", "--data", str(path), "--model", str(tmp_path / "no_such_model"),
            "--json", str(tmp_path / "o.json")]
    assert main(args) == 2
    assert "cannot load the model" in caplog.text and not (tmp_path / "o.json").exists()


def test_cli_exits_2_when_the_json_cannot_be_written(tmp_path, caplog):
    path = tmp_path / "ok.tsv"
    path.write_text("word\tsentence\nbank\tthe bank\n", encoding="utf-8")
    out = tmp_path / "no_such_folder" / "o.json"
    assert main(["polysemy", "--data", str(path), "--json", str(out)]) == 2
    assert f"cannot write {out}" in caplog.text


# ------------------------------------------------------------------------------------------------
# On the real default model


def test_python_pet_and_python_language_drift_apart_in_the_top_layers(default_model):
    model, tokenizer = default_model
    targets = [polysemy.locate(tokenizer, s, "Python") for s in ("I love my pet Python", "I love coding in Python")]
    similarity = similarity_by_layer(polysemy.word_vectors(model, targets))[:, 0, 1]
    assert similarity[-1] < similarity[0] and similarity[-2] < similarity[0]
    static = cosine_matrix(polysemy.static_vectors(model, targets))
    assert static[0, 1] == pytest.approx(1.0)       # a static table gives the same vector in both


def test_nearest_tokens_of_the_embedding_output_include_the_word_itself(default_model):
    model, tokenizer = default_model
    target = polysemy.locate(tokenizer, "A bat flew out of the cave.", "bat")
    static = polysemy.static_vectors(model, [target])[0]
    nearest = polysemy.nearest_tokens(polysemy.vocabulary(model, tokenizer), static, k=5)
    assert nearest[0] == ("bat", pytest.approx(1.0, abs=1e-5)) and len(nearest) == 5
    assert not any(tok.startswith("[") for tok, _ in nearest)


def test_mean_pooling_matches_sentence_transformers_recipe(default_model):
    model, tokenizer = default_model
    sentences = ["A short one.", "A somewhat longer sentence to force padding in the batch."]
    mean = sentence_embeddings(model, tokenizer, sentences, "mean")
    cls = sentence_embeddings(model, tokenizer, sentences, "cls")
    top = sentence_embeddings(model, tokenizer, sentences, "max")
    for i, sentence in enumerate(sentences):
        with torch.inference_mode():
            last = model(**encode(tokenizer, sentence).to_tensors()).last_hidden_state[0].numpy()
        np.testing.assert_allclose(mean[i, -1], last.mean(0), atol=2e-5)   # every unpadded token, specials too
        np.testing.assert_allclose(cls[i, -1], last[0], atol=2e-5)
        np.testing.assert_allclose(top[i, -1], last.max(0), atol=2e-5)


def test_a_large_table_reports_its_tokenizing_then_its_batches(default_model):
    model, tokenizer = default_model
    rows = "".join(f"bank\t{'money' if i % 2 else 'river'}\tThe bank {i}.\n" for i in range(450))
    table = polysemy.read_table(f"word\tsense\tsentence\n{rows}".encode(), "t.tsv")
    tokenized, embedded = [], []
    polysemy.analyse_table(model, tokenizer, table, model_name="m", batch_size=200,
                           tokenize_progress=lambda done, total: tokenized.append((done, total)),
                           progress=lambda done, total: embedded.append((done, total, len(tokenized))))
    assert tokenized == [(0, 450), (200, 450), (400, 450), (450, 450)]
    assert [(done, total) for done, total, _ in embedded] == [(0, 450), (200, 450), (400, 450), (450, 450)]
    assert all(seen == 4 for *_, seen in embedded)                     # the model runs after the tokenizing
