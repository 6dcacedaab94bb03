"""A corpus through BERT's eyes: every word's contextual vector at chosen layers, in LanceDB, searched by example.

Conventions (the page and the README state them too):
- A word's vector at a layer is the MEAN of the hidden states of its word pieces (as on the word
  pages); layer 0 is the embedding output, layers 1…L the encoder layers. Stored as float16.
- Words: a treebank's own words (CoNLL-U), otherwise the tokenizer's words (whitespace, then
  punctuation split off). A word the model never sees (cut by the 512-piece limit, or dropped by the
  tokenizer) has no vector and is counted as skipped.
- Similarity is the cosine between the raw (uncentred) vectors, highest first. Search is exact (a full
  scan) below EXACT_BELOW rows; above, an ANN index per layer (IVF-flat: the rows are grouped in
  clusters of about ROWS_PER_PARTITION, at most MAX_PARTITIONS of them, and a query scans the NPROBES nearest
  clusters with exact distances), whose
  recall@10 against the exact search is measured when it is built and kept in the manifest. IVF-PQ
  was tried first: on this 2-core machine LanceDB took 642 s to train it on 50,000 rows, IVF-flat 1.8 s.

On disk an index is one folder: `words.lance` (the LanceDB table: one row per word, one vector column
per layer, `vec_<layer>`) and `manifest.json` (model and its digest, layers, conventions, corpus
digest, counts, build progress). The manifest is written before the first row and marked complete
after the last, so a half-written index is recognised, resumed by building again with the same
model, layers and corpus, and never mixed with another build.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch

from bert_core import DEFAULT_MODEL, Encoding, default_checkpoint, encode, encode_words
from bert_core.weights import WEIGHT_FILES, resolve_checkpoint

from .batching import length_batches, pad_rows, padded_inputs
from .corpus import Corpus, CorpusSentence
from .wordlevel import word_ids_from_pieces, word_maps

Progress = Callable[[int, int], None]

FORMAT = "bert-explorer-corpus-index/1"
TABLE = "words"
MANIFEST = "manifest.json"
CHUNK_SENTENCES = 4096      # sentences per commit, what a resumed build may have to redo; sorted by length
                            # within it, so that batches of similar lengths pad little
BATCH_SIZE = 32
EXACT_BELOW = 20_000        # rows: up to here a full scan answers within the query-time goal on a 2-core
                            # CPU (bench/RESULTS.md, "Corpus index")
ROWS_PER_PARTITION = 2048   # LanceDB's IVF build time grows with rows × partitions, so not √n partitions
NPROBES = 16                # IVF partitions scanned per query (16 × 2,048 rows up to 2M rows)
MAX_PARTITIONS = 1024       # beyond ~2M rows, partitions grow instead of multiplying: the build stays linear in
                            # rows (queries then scan 16 larger partitions)
KMEANS_SAMPLE_RATE = 32     # rows per partition the IVF clustering trains on (LanceDB's default: 256)
KMEANS_ITERATIONS = 10      # (LanceDB's default: 50)
RECALL_QUERIES = 50         # stored rows used as queries to measure the ANN index's recall@10
CONVENTIONS = {
    "word_vector": "mean of the word's pieces' hidden states",
    "layer_0": "embedding output (after LayerNorm)",
    "words": "treebank words for CoNLL-U, else the tokenizer's words (whitespace, then punctuation)",
    "storage": "float16",
    "similarity": "cosine of the raw vectors",
    "exact_below_rows": EXACT_BELOW,
}
META_COLUMNS = ("sentence_id", "word_index", "word", "lower", "start", "end", "sentence", "source", "upos", "deprel")


class CorpusIndexError(ValueError):
    """An index that cannot be used: missing, half-written, corrupt, or built differently; the message says why."""


class ModelMismatch(CorpusIndexError):
    """The index was built with another model than the one asked for."""


def vector_column(layer: int) -> str:
    return f"vec_{layer}"


# ---------------------------------------------------------------------------------------------
# Models, digests, manifest


def checkpoint_folder(model_name: str) -> Path:
    return default_checkpoint() if model_name == DEFAULT_MODEL else resolve_checkpoint(model_name)


DIGESTED_FILES = ("config.json", *WEIGHT_FILES, "vocab.txt", "tokenizer.json")


def model_digest(model_name: str) -> str:
    """sha256 over the checkpoint's config, weights and vocabulary: two names for the same weights agree,
    the same name for retrained weights does not. Hashed once per file state (size, modification time)."""
    folder = checkpoint_folder(model_name)
    stamp = tuple((name, (folder / name).stat().st_size, (folder / name).stat().st_mtime_ns)
                  for name in DIGESTED_FILES if (folder / name).is_file())
    return _digest(str(folder), stamp)


@functools.lru_cache(maxsize=16)
def _digest(folder: str, stamp: tuple) -> str:
    digest = hashlib.sha256()
    for name, _, _ in stamp:
        digest.update(name.encode() + b"\0")
        with (Path(folder) / name).open("rb") as f:
            for block in iter(lambda f=f: f.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()


def parse_layers(text: str, num_layers: int) -> list[int]:
    """'0,3,6' → [0, 3, 6]; ValueError naming the problem (0…num_layers are the model's layers)."""
    try:
        layers = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise ValueError(f"layers must be whole numbers separated by commas, not {text!r}") from None
    if not layers:
        raise ValueError("give at least one layer, e.g. --layers 0,3,6")
    wrong = [layer for layer in layers if not 0 <= layer <= num_layers]
    if wrong:
        raise ValueError(f"layer {wrong[0]} does not exist: this model has layers 0 (embeddings) to {num_layers}")
    return layers


def read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.is_file():
        raise CorpusIndexError(f"{folder} is not a corpus index: it has no {MANIFEST} "
                               "(build one with python -m app index)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorpusIndexError(f"{folder}/{MANIFEST} is corrupt ({err}); build the index again with --replace") from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CorpusIndexError(f"{folder}/{MANIFEST} is not a manifest of this app's corpus index ({FORMAT})")
    return manifest


def write_manifest(folder: Path, manifest: dict) -> None:
    """Atomically: a reader sees the old manifest or the new one, never half of one."""
    temporary = folder / (MANIFEST + ".tmp")
    temporary.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, folder / MANIFEST)


# ---------------------------------------------------------------------------------------------
# Sentences → rows (both engines run this)


def encode_sentence(tokenizer, sentence: CorpusSentence) -> Encoding:
    return encode(tokenizer, sentence.text) if sentence.words is None else encode_words(tokenizer, list(sentence.words))


def row_schema(layers: Sequence[int], hidden_size: int) -> pa.Schema:
    fields = [pa.field("sentence_id", pa.int64()), pa.field("word_index", pa.int32()), pa.field("word", pa.string()),
              pa.field("lower", pa.string()), pa.field("start", pa.int32()), pa.field("end", pa.int32()),
              pa.field("sentence", pa.string()), pa.field("source", pa.string()),
              pa.field("upos", pa.string()), pa.field("deprel", pa.string())]
    fields += [pa.field(vector_column(layer), pa.list_(pa.float16(), hidden_size)) for layer in layers]
    return pa.schema(fields)


def word_vectors_by_layer(model, encodings: list[Encoding], layers: Sequence[int], batch_size: int = BATCH_SIZE,
                          progress: Callable[[int], None] | None = None) -> list[np.ndarray]:
    """For each encoding, (len(layers), W, H) float16: every word's vector (mean of its pieces, in float32) at each
    layer; a word without pieces gets zeros. Batches sorted by length, on the model's device; progress
    gets the number of encodings done after each batch."""
    done = 0
    out: list[np.ndarray] = [None] * len(encodings)  # type: ignore[list-item]
    for rows in length_batches([len(e) for e in encodings], batch_size=batch_size):
        batch = [encodings[i] for i in rows]
        ids, mask, types = padded_inputs([e.input_ids for e in batch], [e.token_type_ids for e in batch],
                                         pad_token_id=model.config.pad_token_id, device=model.device)
        word_ids = pad_rows([word_ids_from_pieces([w.pieces for w in e.words], len(e)).tolist() for e in batch], -1)
        num_words = max(len(e.words) for e in batch)
        maps = word_maps(word_ids.to(model.device), num_words)                   # from_word: (B, W, T), 1/n
        with torch.inference_mode():
            states = model(ids, attention_mask=mask, token_type_ids=types, output_hidden_states=True).hidden_states
            pooled = torch.stack([maps.from_word @ states[layer].float() for layer in layers], dim=1)  # (B, nl, W, H)
        pooled = pooled.half().cpu().numpy()  # float16, as stored: a 4,096-sentence chunk of 13 layers stays small
        for b, i in enumerate(rows):
            out[i] = pooled[b, :, :len(encodings[i].words)]
        done += len(rows)
        if progress is not None:
            progress(done)
    return out


def embed_sentences(model, tokenizer, sentences: Sequence[CorpusSentence], layers: Sequence[int],
                    batch_size: int = BATCH_SIZE,
                    progress: Callable[[int], None] | None = None) -> tuple[pa.Table, int]:
    """(rows, skipped words): one row per word the model sees, with its metadata and float16 vectors;
    progress gets the number of sentences embedded so far."""
    encodings = [encode_sentence(tokenizer, s) for s in sentences]
    vectors = word_vectors_by_layer(model, encodings, layers, batch_size, progress)
    columns: dict[str, list] = {name: [] for name in META_COLUMNS}
    kept: list[np.ndarray] = []
    skipped = 0
    for sentence, encoding, vecs in zip(sentences, encodings, vectors, strict=True):
        for index, word in enumerate(encoding.words):
            if not word.pieces:
                skipped += 1
                continue
            columns["sentence_id"].append(sentence.sentence_id)
            columns["word_index"].append(index)
            columns["word"].append(word.text)
            columns["lower"].append(word.text.lower())
            columns["start"].append(word.start)   # the word's characters in `sentence`
            columns["end"].append(word.end)
            columns["sentence"].append(sentence.text)
            columns["source"].append(sentence.source)
            columns["upos"].append(sentence.upos[index] if sentence.upos else "")
            columns["deprel"].append(sentence.deprels[index] if sentence.deprels else "")
            kept.append(vecs[:, index])
    hidden = model.config.hidden_size
    stacked = np.stack(kept) if kept else np.zeros((0, len(layers), hidden), np.float16)
    schema = row_schema(layers, hidden)
    arrays = [pa.array(columns[name], type=schema.field(name).type) for name in META_COLUMNS]
    for j in range(len(layers)):
        flat = pa.array(np.ascontiguousarray(stacked[:, j]).ravel(), type=pa.float16())
        arrays.append(pa.FixedSizeListArray.from_arrays(flat, hidden))
    return pa.Table.from_arrays(arrays, schema=schema), skipped


# Sentences travel to Ray workers as Arrow; these two functions are each other's inverse.

def sentences_to_arrow(sentences: Sequence[CorpusSentence]) -> pa.Table:
    return pa.table({
        "sentence_id": pa.array([s.sentence_id for s in sentences], pa.int64()),
        "source": [s.source for s in sentences],
        "text": [s.text for s in sentences],
        "words": pa.array([None if s.words is None else list(s.words) for s in sentences], pa.list_(pa.string())),
        "upos": pa.array([list(s.upos) for s in sentences], pa.list_(pa.string())),
        "deprels": pa.array([list(s.deprels) for s in sentences], pa.list_(pa.string())),
    })


def sentences_from_arrow(table: pa.Table) -> list[CorpusSentence]:
    return [CorpusSentence(row["sentence_id"], row["source"], row["text"],
                           None if row["words"] is None else tuple(row["words"]), tuple(row["upos"] or ()),
                           tuple(row["deprels"] or ()))
            for row in table.to_pylist()]


# ---------------------------------------------------------------------------------------------
# Building


def _plan(model, model_name: str, digest: str, layers: list[int], corpus: Corpus) -> dict:
    return {"format": FORMAT, "model": model_name, "model_digest": digest,
            "hidden_size": model.config.hidden_size, "num_layers": model.config.num_hidden_layers,
            "layers": layers, "conventions": CONVENTIONS,
            "corpus": {"digest": corpus.digest, "files": corpus.files[:1000], "file_count": len(corpus.files),
                       "sentences": len(corpus.sentences)}}


def _differences(old: dict, new: dict) -> list[str]:
    found = []
    if old.get("model_digest") != new["model_digest"]:
        found.append(f"model ({old.get('model')!r} there, {new['model']!r} now; the weights differ)")
    if old.get("layers") != new["layers"]:
        found.append(f"layers ({old.get('layers')} there, {new['layers']} now)")
    if (old.get("corpus") or {}).get("digest") != new["corpus"]["digest"]:
        found.append("corpus (its files or their content changed)")
    return found


def _clear(folder: Path) -> None:
    """Remove this app's index files from folder (nothing else in it)."""
    shutil.rmtree(folder / f"{TABLE}.lance", ignore_errors=True)
    for name in (MANIFEST, MANIFEST + ".tmp"):
        (folder / name).unlink(missing_ok=True)


def prepare_folder(folder: Path, plan: dict, replace: bool) -> dict:
    """The manifest to build on: a fresh one, or the half-written one of the same build (resume).

    A folder that holds another build is refused unless replace; a folder with other files and no
    manifest is always refused (nothing that is not ours is ever deleted)."""
    folder.mkdir(parents=True, exist_ok=True)
    fresh = {**plan, "complete": False, "sentences_done": 0, "words": 0, "skipped_words": 0, "ann": None}
    if not (folder / MANIFEST).exists():
        others = [p.name for p in folder.iterdir() if p.name not in (f"{TABLE}.lance", MANIFEST + ".tmp")]
        if others:
            shown = ", ".join(sorted(others)[:3])
            raise CorpusIndexError(f"{folder} is not empty and holds no corpus index ({shown}…): "
                                   "choose a new or empty folder")
        _clear(folder)
        return fresh
    try:
        old = read_manifest(folder)
    except CorpusIndexError:
        if not replace:
            raise
        _clear(folder)
        return fresh
    if replace:
        _clear(folder)
        return fresh
    differences = _differences(old, plan)
    if differences:
        raise CorpusIndexError(f"{folder} holds an index built differently: {'; '.join(differences)}. Pass "
                               "--replace to build it again from scratch (an index never mixes two builds)")
    return {**old, **plan}  # same build: resume where it stopped (or find it complete)


def _open_table(folder: Path, schema: pa.Schema | None = None):
    import lancedb

    db = lancedb.connect(str(folder))
    if TABLE in db.list_tables().tables:
        return db.open_table(TABLE)
    if schema is None:
        raise CorpusIndexError(f"{folder} has a manifest but no {TABLE}.lance table: the index is incomplete or "
                               "damaged; build it again with --replace")
    return db.create_table(TABLE, schema=schema)


def build_index(corpus: Corpus, folder: str | Path, *, model, tokenizer, model_name: str, layers: list[int],
                engine: str = "local", replace: bool = False, batch_size: int = BATCH_SIZE,
                progress: Progress | None = None, ray_address: str | None = None, ray_workers: int | None = None,
                ray_cpus: int | None = None, ray_device: str | None = None, ann_above: int = EXACT_BELOW) -> dict:
    """Index every word of the corpus at the given layers; returns the manifest. Resumes a half-written build
    of the same model, layers and corpus; refuses to mix with another build (replace: start again).
    The Ray engine's workers load model_name themselves, on ray_device (None: a GPU each where the
    cluster has GPUs, whatever the driver has)."""
    folder = Path(folder)
    manifest = prepare_folder(folder, _plan(model, model_name, model_digest(model_name), layers, corpus), replace)
    if manifest["complete"]:
        return manifest
    write_manifest(folder, manifest)  # from here on the folder says "half-written" until the end
    table = _open_table(folder, row_schema(layers, model.config.hidden_size))
    done = manifest["sentences_done"]
    if table.count_rows() != manifest["words"]:  # rows of a chunk whose manifest update never happened
        table.delete(f"sentence_id >= {done}")
    todo = corpus.sentences[done:]
    total = len(corpus.sentences)
    started = time.perf_counter()
    if progress is not None:
        progress(done, total)
    if engine == "ray":
        from .corpus_ray import embed_with_ray

        words, skipped = embed_with_ray(todo, folder, TABLE, model_name=model_name, layers=layers,
                                        device=ray_device, batch_size=batch_size, address=ray_address,
                                        workers=ray_workers, num_cpus=ray_cpus)
        manifest.update(sentences_done=total, words=manifest["words"] + words,
                        skipped_words=manifest["skipped_words"] + skipped)
        write_manifest(folder, manifest)
        if progress is not None:
            progress(total, total)
    elif engine == "local":
        for start in range(0, len(todo), CHUNK_SENTENCES):
            chunk = todo[start:start + CHUNK_SENTENCES]
            within = None if progress is None else (lambda n, before=done + start: progress(before + n, total))
            rows, skipped = embed_sentences(model, tokenizer, chunk, layers, batch_size, within)
            table.add(rows)
            manifest.update(sentences_done=chunk[-1].sentence_id + 1, words=manifest["words"] + rows.num_rows,
                            skipped_words=manifest["skipped_words"] + skipped)
            write_manifest(folder, manifest)
    else:
        raise ValueError(f"engine must be 'local' or 'ray', not {engine!r}")
    manifest["seconds"] = round(manifest.get("seconds", 0) + time.perf_counter() - started, 2)
    manifest["engine"] = engine
    table = _open_table(folder)
    tags = table.search().select(["upos"]).limit(table.count_rows() or 1).to_arrow()["upos"]
    manifest["upos_tags"] = sorted(set(tags.to_pylist()) - {""})  # the page's UPOS filter offers these
    if table.count_rows() >= ann_above:
        manifest["ann"] = build_ann(table, layers, table.count_rows())
    manifest["complete"] = True
    write_manifest(folder, manifest)
    return manifest


def build_ann(table, layers: Sequence[int], rows: int) -> dict:
    """An IVF-flat index per layer (cosine), and its recall@10 against the exact search on stored rows."""
    from concurrent.futures import ThreadPoolExecutor

    from lancedb.index import IvfFlat

    partitions = max(1, min(MAX_PARTITIONS, rows // ROWS_PER_PARTITION))
    started = time.perf_counter()

    def create(layer: int) -> None:
        # k-means costs ~ sample_rate × partitions² × width × iterations: a small sample keeps 1M rows in minutes
        table.create_index(vector_column(layer), config=IvfFlat(
            distance_type="cosine", num_partitions=partitions, sample_rate=KMEANS_SAMPLE_RATE,
            max_iterations=KMEANS_ITERATIONS))

    # The layers' indexes are built a few at a time: one build leaves part of the CPU idle, and each
    # commit touches only its own column's index.
    with ThreadPoolExecutor(max_workers=min(len(layers), 3)) as pool:
        for built in [pool.submit(create, layer) for layer in layers]:
            built.result()
    table.checkout_latest()  # every build's commit, whichever came last
    sample = np.sort(np.random.default_rng(0).choice(rows, size=min(RECALL_QUERIES, rows), replace=False))

    def recall(layer: int) -> float:
        column = vector_column(layer)
        queries = table.take_offsets(sample.tolist()).select([column]).to_arrow()[column]
        queries = np.stack(queries.to_numpy(zero_copy_only=False)).astype(np.float32)
        exact = brute_force_top_k(table, column, queries, 10)
        found = sum(len(set(truth) & keys) for truth, keys in zip(exact, _ann_keys(table, queries, column, 10),
                                                                   strict=True))
        return round(found / (10 * len(sample)), 4)

    with ThreadPoolExecutor(max_workers=2) as pool:  # numpy's products and lance's scans leave the GIL
        recalls = dict(zip(map(str, layers), pool.map(recall, layers), strict=True))
    return {"type": "IVF_FLAT", "partitions": partitions, "nprobes": NPROBES,
            "above_rows": EXACT_BELOW, "recall_at_10": recalls, "recall_queries": len(sample),
            "seconds": round(time.perf_counter() - started, 1)}


# ---------------------------------------------------------------------------------------------
# Opening and searching


@dataclass(frozen=True)
class Hit:
    sentence_id: int
    word_index: int
    word: str
    sentence: str
    similarity: float
    source: str = ""
    upos: str = ""
    deprel: str = ""
    start: int = 0          # the word's characters in `sentence`
    end: int = 0

    def to_json(self) -> dict:
        return {"sentence_id": self.sentence_id, "word_index": self.word_index, "word": self.word,
                "sentence": self.sentence, "similarity": self.similarity}


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Per row of (Q, n) scores, the indices of the k highest, highest first, ties in index order: what
    np.argsort(-scores, kind="stable")[:, :k] gives, without sorting every score."""
    if scores.shape[1] <= k or not len(scores):
        return np.argsort(-scores, axis=1, kind="stable")[:, :k]
    kth = np.partition(scores, -k, axis=1)[:, -k]
    rows = []
    for row, threshold in zip(scores, kth, strict=True):
        candidates = np.flatnonzero(row >= threshold)          # ascending, ties at the threshold included
        rows.append(candidates[np.argsort(-row[candidates], kind="stable")[:k]])
    return np.stack(rows)


def brute_force_top_k(table, column: str, queries: np.ndarray, k: int) -> list[list[tuple[int, int]]]:
    """The exact k nearest rows (sentence_id, word_index) of each query by cosine, in numpy, streaming
    the table in batches: what the ANN index's recall is measured against."""
    unit = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    best = np.full((len(queries), 0), -np.inf)
    keys = np.zeros((len(queries), 0, 2), dtype=np.int64)
    for batch in table.search().select(["sentence_id", "word_index", column]).limit(None).to_batches(65_536):
        width = batch.schema.field(column).type.list_size
        vectors = batch[column].values.to_numpy(zero_copy_only=False).reshape(-1, width).astype(np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        scores = unit @ vectors.T                                                     # (Q, batch)
        ids = np.stack([batch["sentence_id"].to_numpy(), batch["word_index"].to_numpy()], axis=1)
        keep = _top_k(scores, k)                                  # this batch's best, then merged with the best so far
        best = np.concatenate([best, np.take_along_axis(scores, keep, 1)], axis=1)
        keys = np.concatenate([keys, ids[keep]], axis=1)
        keep = _top_k(best, k)
        best, keys = np.take_along_axis(best, keep, 1), np.take_along_axis(keys, keep[..., None], 1)
    return [[tuple(map(int, pair)) for pair in row] for row in keys]


def _ann_keys(table, queries: np.ndarray, column: str, k: int) -> list[set[tuple[int, int]]]:
    """Each query's k nearest (sentence_id, word_index) through the ANN index: one batched search, the
    same rows as one search per query."""
    found = (table.search(list(queries), vector_column_name=column).distance_type("cosine")
             .select(["sentence_id", "word_index", "_distance"]).limit(k).nprobes(NPROBES).to_arrow())
    keys: list[set[tuple[int, int]]] = [set() for _ in queries]
    # LanceDB runs a list of one vector as a plain query, without the query_index column
    which = found["query_index"].to_pylist() if "query_index" in found.column_names else [0] * found.num_rows
    for query, sentence, word in zip(which, found["sentence_id"].to_pylist(), found["word_index"].to_pylist(),
                                     strict=True):
        keys[query].add((sentence, word))
    return keys


def _keys(table: pa.Table) -> set[tuple[int, int]]:
    return set(zip(table["sentence_id"].to_pylist(), table["word_index"].to_pylist(), strict=True))


def _search(table, vector: np.ndarray, column: str, k: int, where: str | None, exact: bool) -> pa.Table:
    query = (table.search(np.asarray(vector, dtype=np.float32), vector_column_name=column)
             .distance_type("cosine").select([*META_COLUMNS, "_distance"]).limit(k))
    if where:
        query = query.where(where, prefilter=True)
    query = query.bypass_vector_index() if exact else query.nprobes(NPROBES)
    return query.to_arrow()


def sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def filter_sql(*, word: str | None = None, same_word: bool | None = None, upos: Sequence[str] = ()) -> str | None:
    """A LanceDB filter: same_word True keeps occurrences of `word` (any case), False the other words;
    upos keeps those tags."""
    parts = []
    if same_word is not None and word:
        parts.append(f"lower {'=' if same_word else '!='} {sql_text(word.lower())}")
    if upos:
        parts.append(f"upos IN ({', '.join(sql_text(u) for u in upos)})")
    return " AND ".join(parts) or None


class CorpusIndex:
    """An opened, checked index. Raises CorpusIndexError when the folder is not a complete, intact index."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise CorpusIndexError(f"{self.folder} does not exist")
        self.manifest = read_manifest(self.folder)
        if not self.manifest.get("complete"):
            raise CorpusIndexError(f"{self.folder} is half-written: {self.manifest.get('sentences_done', 0):,} of "
                              f"{self.manifest['corpus']['sentences']:,} sentences indexed. Run the same index "
                              "command again to resume it")
        try:
            self.table = _open_table(self.folder)
            rows = self.table.count_rows()
        except CorpusIndexError:
            raise
        except Exception as err:  # lance raises its own errors for damaged files
            raise CorpusIndexError(f"{self.folder}/{TABLE}.lance cannot be read ({err}); build the index again "
                              "with --replace") from err
        if rows != self.manifest["words"]:
            raise CorpusIndexError(f"{self.folder} is damaged: its table has {rows:,} rows, its manifest says "
                              f"{self.manifest['words']:,}; build the index again with --replace")

    @property
    def layers(self) -> list[int]:
        return list(self.manifest["layers"])

    @property
    def rows(self) -> int:
        return int(self.manifest["words"])

    @property
    def ann(self) -> bool:
        return bool(self.manifest.get("ann"))

    def check_model(self, model_name: str) -> None:
        """ModelMismatch unless model_name names the weights the index was built with."""
        if model_digest(model_name) != self.manifest["model_digest"]:
            raise ModelMismatch(f"this index was built with {self.manifest['model']!r}; the model now is "
                                f"{model_name!r}, whose weights differ. Vectors of two models cannot be compared: "
                                f"search with {self.manifest['model']!r} or build an index for {model_name!r}")

    def check_layer(self, layer: int) -> str:
        if layer not in self.layers:
            raise CorpusIndexError(f"this index has layers {', '.join(map(str, self.layers))}, not layer {layer}")
        return vector_column(layer)

    def search(self, vector: np.ndarray, layer: int, k: int = 10, where: str | None = None,
               exact: bool | None = None) -> list[Hit]:
        """The k stored words nearest `vector` by cosine at `layer`, highest similarity first
        (exact: None follows the index: ANN when it has one)."""
        column = self.check_layer(layer)
        found = _search(self.table, vector, column, k, where, exact=not self.ann if exact is None else exact)
        hits = [Hit(row["sentence_id"], row["word_index"], row["word"], row["sentence"],
                    round(1.0 - float(row["_distance"]), 6), row["source"], row["upos"], row["deprel"],
                    row["start"], row["end"])
                for row in found.to_pylist()]
        return sorted(hits, key=lambda h: (-h.similarity, h.sentence_id, h.word_index))

    def occurrences(self, word: str, layer: int, limit: int = 50_000) -> tuple[pa.Table, np.ndarray]:
        """(metadata, (n, H) float32 vectors) of every stored occurrence of `word` (any case), up to limit."""
        column = self.check_layer(layer)
        found = (self.table.search().where(f"lower = {sql_text(word.lower())}")
                 .select([*META_COLUMNS, column]).limit(limit).to_arrow())
        vectors = found[column].combine_chunks().values.to_numpy(zero_copy_only=False)
        width = self.manifest["hidden_size"]
        return found.drop_columns([column]), vectors.reshape(-1, width).astype(np.float32)

    def vectors(self, layer: int) -> tuple[pa.Table, np.ndarray]:
        """Every row's keys and its (n, H) float32 vector at `layer` (for tests and brute force checks)."""
        column = self.check_layer(layer)
        table = self.table.to_arrow().select(["sentence_id", "word_index", column])
        vectors = table[column].combine_chunks().values.to_numpy(zero_copy_only=False)
        return table.drop_columns([column]), vectors.reshape(-1, self.manifest["hidden_size"]).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# The query: a word of a sentence


@dataclass(frozen=True)
class Query:
    word: str
    position: int          # index of the word among the sentence's words (tokenizer's words), from 0
    vectors: np.ndarray    # (L+1, H) float32: the word's vector at every layer


class WordNotFound(ValueError):
    pass


def query_word(model, tokenizer, text: str, word: str, occurrence: int = 1) -> Query:
    """The `occurrence`-th (from 1) whole-word occurrence of `word` (any case) in `text`."""
    from .polysemy import find_occurrences

    spans = find_occurrences(text, word)
    if occurrence > len(spans):
        where = "is not in the sentence" if not spans else f"occurs only {len(spans)} time(s) in the sentence"
        raise WordNotFound(f"{word!r} {where} (a whole word, any case)")
    start, end = spans[occurrence - 1]
    words = encode(tokenizer, text).words
    position = next((i for i, w in enumerate(words) if w.start < end and w.end > start), None)
    if position is None:
        raise WordNotFound(f"{word!r} lies beyond the model's 512-piece limit")
    return query_position(model, tokenizer, text, position)


def query_position(model, tokenizer, text: str, position: int) -> Query:
    """The vectors of the sentence's word number `position` (the tokenizer's words, from 0), as the index
    stores words: the mean of its pieces at every layer."""
    from .vectors import mean_weights, pool_hidden_states

    encoding = encode(tokenizer, text)
    if not 0 <= position < len(encoding.words):
        raise WordNotFound(f"the sentence has {len(encoding.words)} words, not a word number {position}")
    word = encoding.words[position]
    vectors = pool_hidden_states(model, [encoding], [mean_weights(len(encoding), word.pieces)])[0]
    return Query(word.text, position, vectors)


def clusters(points: np.ndarray, most: int = 6) -> list[int]:
    """k-means clusters (cosine: on unit vectors) of a word's occurrences, k from 2 to `most` chosen by
    silhouette; one cluster for fewer than 4 points. Fixed seeds: the same points give the same colours."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    if len(points) < 4:
        return [0] * len(points)
    unit = points / np.maximum(np.linalg.norm(points, axis=1, keepdims=True), 1e-12)
    sample = unit if len(unit) <= 5000 else unit[np.random.default_rng(0).choice(len(unit), 5000, replace=False)]
    best, best_score = None, -2.0
    for k in range(2, min(most, len(sample) - 1) + 1):
        model = KMeans(n_clusters=k, n_init=3, random_state=0).fit(sample)
        if len(set(model.labels_)) < 2:
            continue
        score = silhouette_score(sample, model.labels_)
        if score > best_score:
            best, best_score = model, score
    return [0] * len(points) if best is None else best.predict(unit).tolist()
