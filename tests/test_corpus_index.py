"""The corpus index (local engine) on a tiny random model: rows, search against brute force, ANN recall,
the manifest's refusals, half-written and corrupt indexes, and the command line's answers to bad input."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pyarrow as pa
import pytest

from app import corpus_index
from app.__main__ import main
from app.corpus import CorpusError, read_corpus
from bert_core import encode, encode_words, load_pretrained
from tests.corpus_helpers import corpus_folder, tiny_checkpoint


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "model", seed=0)


@pytest.fixture(scope="module")
def loaded(tiny):
    return load_pretrained(tiny, device="cpu")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return read_corpus(corpus_folder(tmp_path_factory.mktemp("corpus") / "c"))


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny, loaded, corpus):
    folder = tmp_path_factory.mktemp("index") / "idx"
    model, tokenizer = loaded
    corpus_index.build_index(corpus, folder, model=model, tokenizer=tokenizer, model_name=str(tiny), layers=[0, 2])
    return folder


def brute_force(index: corpus_index.CorpusIndex, vector: np.ndarray, layer: int, k: int):
    keys, stored = index.vectors(layer)
    unit = stored / np.linalg.norm(stored, axis=1, keepdims=True)
    similarity = unit @ (vector / np.linalg.norm(vector))
    order = np.argsort(-similarity, kind="stable")[:k]
    rows = list(zip(keys["sentence_id"].to_pylist(), keys["word_index"].to_pylist(), strict=True))
    return [rows[i] for i in order], similarity[order]


def test_every_word_is_a_row_with_its_metadata_and_the_mean_of_its_pieces(built, corpus, loaded):
    model, tokenizer = loaded
    index = corpus_index.CorpusIndex(built)
    table = index.table.to_arrow().sort_by([("sentence_id", "ascending"), ("word_index", "ascending")])
    # text lines: the tokenizer's words; CoNLL-U: the treebank's words with UPOS and relation
    expected = []
    for sentence in corpus.sentences:
        encoding = encode(tokenizer, sentence.text) if sentence.words is None else encode_words(tokenizer,
                                                                                                  list(sentence.words))
        expected += [(sentence.sentence_id, i, w.text) for i, w in enumerate(encoding.words) if w.pieces]
    assert list(zip(table["sentence_id"].to_pylist(), table["word_index"].to_pylist(), table["word"].to_pylist(),
                    strict=True)) == expected
    assert index.rows == len(expected) == index.manifest["words"]
    conllu = [row for row in table.to_pylist() if row["source"].startswith("b.conllu")]
    assert [r["upos"] for r in conllu[:4]] == ["DET", "NOUN", "VERB", "PUNCT"]
    assert [r["deprel"] for r in conllu[:4]] == ["det", "nsubj", "root", "punct"]
    assert all(r["lower"] == r["word"].lower() == r["sentence"][r["start"]:r["end"]].lower()
               for r in table.to_pylist())
    assert table.schema.field("vec_2").type == pa.list_(pa.float16(), 32)
    # one word recomputed independently: the mean of its pieces' hidden states at layer 2
    sentence = corpus.sentences[3]
    encoding = encode(tokenizer, sentence.text)
    import torch
    with torch.inference_mode():
        states = model(**encoding.to_tensors(), output_hidden_states=True).hidden_states[2][0]
    word = encoding.words[5]
    mean = states[list(word.pieces)].mean(0).numpy()
    row = next(r for r in table.to_pylist() if (r["sentence_id"], r["word_index"]) == (3, 5))
    np.testing.assert_allclose(np.asarray(row["vec_2"], dtype=np.float32), mean, rtol=2e-3, atol=2e-3)
    manifest = index.manifest
    assert manifest["layers"] == [0, 2] and manifest["corpus"]["files"] == ["a.txt", "b.conllu"]
    assert manifest["conventions"]["storage"] == "float16" and manifest["complete"]


def test_search_equals_a_brute_force_numpy_search_over_the_stored_vectors(built, loaded):
    model, tokenizer = loaded
    index = corpus_index.CorpusIndex(built)
    for text, word, layer in (("the cat sat on a dog", "cat", 2), ("A mat!", "mat", 0), ("dog dog", "dog", 2)):
        query = corpus_index.query_word(model, tokenizer, text, word)
        hits = index.search(query.vectors[layer], layer, k=8)
        keys, similarity = brute_force(index, query.vectors[layer], layer, 8)
        np.testing.assert_allclose([h.similarity for h in hits], similarity, atol=1e-4)
        assert [h.similarity for h in hits] == sorted((h.similarity for h in hits), reverse=True)
        # the same rows, except where two similarities tie within rounding
        assert {(h.sentence_id, h.word_index) for h in hits if h.similarity > similarity[-1] + 1e-4} <= set(keys)


def test_a_corpus_sentence_finds_its_own_word_first(built, loaded, corpus):
    model, tokenizer = loaded
    index = corpus_index.CorpusIndex(built)
    sentence = corpus.sentences[3]  # "The dog sat on a mat, then the cat sat on the dog."
    query = corpus_index.query_word(model, tokenizer, sentence.text, "dog", occurrence=2)
    assert query.position == 13  # The dog sat on a mat , then the cat sat on the dog .
    top = index.search(query.vectors[2], 2, k=1)[0]
    assert (top.sentence_id, top.word_index, top.word) == (3, 13, "dog") and top.similarity > 0.999


def test_filters_keep_one_word_or_the_others_or_a_tag(built, loaded):
    model, tokenizer = loaded
    index = corpus_index.CorpusIndex(built)
    vector = corpus_index.query_word(model, tokenizer, "the cat", "cat").vectors[2]
    same = index.search(vector, 2, k=50, where=corpus_index.filter_sql(word="CAT", same_word=True))
    others = index.search(vector, 2, k=50, where=corpus_index.filter_sql(word="cat", same_word=False))
    nouns = index.search(vector, 2, k=50, where=corpus_index.filter_sql(upos=["NOUN"]))
    assert same and {h.word.lower() for h in same} == {"cat"}
    assert len(same) + len(others) == index.rows and "cat" not in {h.word.lower() for h in others}
    assert sorted(h.word for h in nouns) == ["cat", "cat", "dog"]


def test_the_ann_index_finds_most_of_the_exact_neighbours_of_synthetic_rows(tmp_path, monkeypatch):
    """Two layers' indexes (built together), 100 partitions of which a query scans 16: recall@10 ≥ 0.9."""
    monkeypatch.setattr(corpus_index, "ROWS_PER_PARTITION", 40)
    rng = np.random.default_rng(0)
    n, width = 4000, 32
    centres = rng.standard_normal((40, width))
    layers = {3: (centres[rng.integers(0, 40, n)] + 0.5 * rng.standard_normal((n, width))).astype(np.float16),
              5: (centres[rng.integers(0, 40, n)] + 0.5 * rng.standard_normal((n, width))).astype(np.float16)}
    schema = corpus_index.row_schema(list(layers), width)
    columns = {"sentence_id": np.arange(n), "word_index": np.zeros(n, np.int32), "word": ["w"] * n,
               "lower": ["w"] * n, "start": np.zeros(n, np.int32), "end": np.ones(n, np.int32),
               "sentence": ["w"] * n, "source": ["x"] * n, "upos": [""] * n, "deprel": [""] * n}
    arrays = [pa.array(columns[f.name], f.type) for f in schema if f.name in columns]
    arrays += [pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel(), pa.float16()), width)
               for vectors in layers.values()]
    import lancedb
    table = lancedb.connect(str(tmp_path)).create_table("words", pa.Table.from_arrays(arrays, schema=schema))
    ann = corpus_index.build_ann(table, list(layers), n)
    assert ann["type"] == "IVF_FLAT" and ann["partitions"] == 100
    assert sorted(i.columns[0] for i in table.list_indices()) == ["vec_3", "vec_5"]
    queries = rng.standard_normal((30, width)).astype(np.float32) + centres[rng.integers(0, 40, 30)]
    for layer, vectors in layers.items():  # recall measured here, independently of build_ann's own figure
        unit = vectors.astype(np.float32) / np.linalg.norm(vectors.astype(np.float32), axis=1, keepdims=True)
        found = 0
        for query in queries:
            exact = set(np.argsort(-(unit @ query))[:10].tolist())
            approximate = corpus_index._search(table, query, f"vec_{layer}", 10, None, exact=False)
            found += len(exact & set(approximate["sentence_id"].to_pylist()))
        recall = found / (10 * len(queries))
        assert recall >= 0.9 and ann["recall_at_10"][str(layer)] >= 0.9, (layer, recall, ann)
    # build_ann's recall asks all its queries in one batched search: the same rows as one search each
    batched = corpus_index._ann_keys(table, queries, "vec_3", 10)
    assert batched == [corpus_index._keys(corpus_index._search(table, q, "vec_3", 10, None, exact=False))
                       for q in queries]
    assert corpus_index._ann_keys(table, queries[:1], "vec_3", 10) == batched[:1]  # a list of one is a plain query


def test_an_index_refuses_another_model_and_a_build_never_mixes_two(built, tmp_path, corpus, loaded, tiny, caplog):
    other = tiny_checkpoint(tmp_path / "other", seed=1)
    index = corpus_index.CorpusIndex(built)
    index.check_model(str(tiny))  # its own model is fine
    with pytest.raises(corpus_index.ModelMismatch, match="built with"):
        index.check_model(str(other))
    assert main(["search", "--index", str(built), "--text", "the cat", "--word", "cat", "--layer", "2",
                 "--model", str(other), "--json", str(tmp_path / "o.json")]) == 2
    assert "weights differ" in caplog.text and not (tmp_path / "o.json").exists()
    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    other_model, other_tokenizer = load_pretrained(other, device="cpu")
    with pytest.raises(corpus_index.CorpusIndexError, match="built differently: model"):
        corpus_index.build_index(corpus, copy, model=other_model, tokenizer=other_tokenizer, model_name=str(other),
                                 layers=[0, 2])
    with pytest.raises(corpus_index.CorpusIndexError, match="layers"):
        corpus_index.build_index(corpus, copy, model=loaded[0], tokenizer=loaded[1], model_name=str(tiny), layers=[1])
    manifest = corpus_index.build_index(corpus, copy, model=other_model, tokenizer=other_tokenizer,
                                        model_name=str(other), layers=[1], replace=True)
    assert manifest["layers"] == [1] and corpus_index.CorpusIndex(copy).rows == corpus_index.CorpusIndex(built).rows
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(corpus_index.CorpusIndexError, match="not empty"):
        corpus_index.build_index(corpus, tmp_path / "mine", model=loaded[0], tokenizer=loaded[1],
                                 model_name=str(tiny), layers=[0], replace=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_a_half_written_index_is_refused_then_resumed_to_the_same_rows(built, tmp_path, corpus, loaded, tiny,
                                                                       monkeypatch):
    model, tokenizer = loaded
    monkeypatch.setattr(corpus_index, "CHUNK_SENTENCES", 2)

    def stop_after_first_chunk(done, total):
        if done >= 4:  # reported while the second chunk is embedded, before it is written
            raise KeyboardInterrupt

    folder = tmp_path / "half"
    with pytest.raises(KeyboardInterrupt):
        corpus_index.build_index(corpus, folder, model=model, tokenizer=tokenizer, model_name=str(tiny),
                                 layers=[0, 2], progress=stop_after_first_chunk)
    with pytest.raises(corpus_index.CorpusIndexError, match="half-written: 2 of 7 sentences"):
        corpus_index.CorpusIndex(folder)
    seen = []
    corpus_index.build_index(corpus, folder, model=model, tokenizer=tokenizer, model_name=str(tiny), layers=[0, 2],
                             progress=lambda done, total: seen.append(done))
    assert seen[0] == 2 and seen == sorted(seen) and seen[-1] == len(corpus.sentences)  # resumed, not restarted
    resumed, whole = corpus_index.CorpusIndex(folder), corpus_index.CorpusIndex(built)
    order = [("sentence_id", "ascending"), ("word_index", "ascending")]
    ours, theirs = (i.table.to_arrow().sort_by(order) for i in (resumed, whole))
    meta = list(corpus_index.META_COLUMNS)
    assert ours.select(meta).equals(theirs.select(meta)) and resumed.rows == whole.rows
    for layer in resumed.layers:  # other batches, other padding: equal up to float16 rounding
        np.testing.assert_allclose(resumed.vectors(layer)[1], whole.vectors(layer)[1], rtol=1e-2, atol=1e-2)


def test_a_corrupt_index_gives_a_clear_error(built, tmp_path, caplog):
    cases = {}
    for case in ("manifest", "table", "rows"):
        folder = tmp_path / case
        shutil.copytree(built, folder)
        cases[case] = folder
    (cases["manifest"] / "manifest.json").write_text('{"format": "bert-explorer-corpus-index/1", "lay')
    shutil.rmtree(cases["table"] / "words.lance")
    manifest = json.loads((cases["rows"] / "manifest.json").read_text())
    (cases["rows"] / "manifest.json").write_text(json.dumps({**manifest, "words": manifest["words"] + 5}))
    messages = {"manifest": "manifest.json is corrupt", "table": "no words.lance table", "rows": "is damaged"}
    for case, folder in cases.items():
        with pytest.raises(corpus_index.CorpusIndexError, match=messages[case]):
            corpus_index.CorpusIndex(folder)
        assert main(["search", "--index", str(folder), "--text", "a cat", "--word", "cat", "--layer", "2",
                     "--json", str(tmp_path / "o.json")]) == 2
        assert messages[case] in caplog.text
    with pytest.raises(corpus_index.CorpusIndexError, match="not a corpus index"):
        corpus_index.CorpusIndex(tmp_path)


def test_the_command_line_builds_and_searches_with_the_documented_json(tmp_path, tiny, capsys):
    corpus = corpus_folder(tmp_path / "c")
    out = tmp_path / "idx"
    assert main(["index", "--corpus", str(corpus), "--layers", "0,2", "--model", str(tiny), "--out", str(out)]) == 0
    assert "indexing" in capsys.readouterr().err
    result = tmp_path / "r.json"
    assert main(["search", "--index", str(out), "--text", "I love my pet cat", "--word", "CAT", "--layer", "2",
                 "--k", "3", "--json", str(result)]) == 0
    data = json.loads(result.read_text())
    assert set(data) == {"index", "layer", "query", "results"} and data["layer"] == 2
    assert data["query"] == {"word": "cat", "position": 4} and len(data["results"]) == 3
    assert set(data["results"][0]) == {"sentence_id", "word_index", "word", "sentence", "similarity"}
    similarities = [r["similarity"] for r in data["results"]]
    assert similarities == sorted(similarities, reverse=True)
    # building again with the same model, layers and corpus: nothing to redo
    assert main(["index", "--corpus", str(corpus), "--layers", "2,0", "--model", str(tiny), "--out", str(out)]) == 0


@pytest.mark.parametrize("argv, message", [
    (["index", "--corpus", "EMPTY", "--layers", "0"], "has no sentence to index"),
    (["index", "--corpus", "MISSING", "--layers", "0"], "does not exist"),
    (["index", "--corpus", "CORPUS", "--layers", "0,9"], "layer 9 does not exist"),
    (["search", "--text", "the cat", "--word", "bird", "--layer", "2"], "'bird' is not in the sentence"),
    (["search", "--text", "the cat", "--word", "cat", "--occurrence", "2", "--layer", "2"], "occurs only 1 time"),
    (["search", "--text", "the cat", "--word", "cat", "--layer", "1"], "not layer 1"),
])
def test_bad_input_exits_2_with_a_one_line_message(built, tmp_path, tiny, caplog, argv, message):
    (tmp_path / "empty.txt").write_text("\n  \n")
    paths = {"EMPTY": tmp_path / "empty.txt", "MISSING": tmp_path / "nope", "CORPUS": corpus_folder(tmp_path / "c")}
    argv = [str(paths.get(a, a)) for a in argv]
    extra = (["--model", str(tiny), "--out", str(tmp_path / "o")] if argv[0] == "index"
             else ["--index", str(built), "--json", str(tmp_path / "o.json")])
    assert main(argv + extra) == 2
    assert message in caplog.text


def test_a_corpus_reads_text_conllu_and_a_csv_column(tmp_path):
    (tmp_path / "t.csv").write_text('id,sentence\n1,"The cat, sat."\n2,\n3,A dog\n', encoding="utf-8")
    corpus = read_corpus(corpus_folder(tmp_path))
    sources = [s.source for s in corpus.sentences]
    assert sources[:2] == ["a.txt:1", "a.txt:2"] and "a.txt:3" not in sources  # empty line skipped
    assert [s.sentence_id for s in corpus.sentences] == list(range(len(corpus.sentences)))
    assert [s.text for s in corpus.sentences if s.source.startswith("t.csv")] == ["The cat, sat.", "A dog"]
    treebank = [s for s in corpus.sentences if s.words is not None]
    assert treebank[0].words == ("The", "cat", "sat", ".") and treebank[0].upos[1] == "NOUN"
    (tmp_path / "a.txt").write_text("changed\n")
    assert read_corpus(tmp_path).digest != corpus.digest
    (tmp_path / "u.csv").write_text("id,body\n1,x\n")
    with pytest.raises(CorpusError, match="no sentence"):
        read_corpus(tmp_path / "u.csv")


def test_the_readme_commands_run_as_written(tmp_path, monkeypatch):
    import shlex

    from tests.conftest import ROOT
    from tests.corpus_helpers import CONLLU

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Search a corpus"):readme.index("### Pre-training")]
    commands = [shlex.split(line) for line in section.splitlines() if line.startswith("python -m app ")]
    assert [c[3] for c in commands] == ["index", "search"]
    monkeypatch.chdir(tmp_path)
    small = tmp_path / "small.conllu"  # a two-sentence treebank stands in for EWT dev
    small.write_text(CONLLU, encoding="utf-8")
    for command in commands:
        argv = [str(small) if word.endswith("en_ewt-ud-dev.conllu") else word for word in command[3:]]
        assert main(argv) == 0, command
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["query"] == {"word": "python", "position": 4} and len(data["results"]) == 10


def test_top_k_is_a_stable_sort_cut_short():
    """brute_force_top_k's per-batch selection: the same indices as a full stable argsort, ties included."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        queries, rows, k = rng.integers(1, 6), rng.integers(1, 40), rng.integers(1, 12)
        scores = rng.integers(0, 5, size=(queries, rows)).astype(np.float32)   # many ties
        np.testing.assert_array_equal(corpus_index._top_k(scores, k),
                                      np.argsort(-scores, axis=1, kind="stable")[:, :k])
