"""The one place that caches: models with st.cache_resource, results with st.cache_data.

The computations themselves are plain functions elsewhere in app/, called here and by the CLI.
"""
from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from bert_core import BertModel, encode
from components.job_wait import long_job_turn

from . import (
    attention,
    compare,
    contributions,
    cpu_tuning,
    inputs,
    model_access,
    overview,
    polysemy,
    pretraining,
    sentence_embeddings,
    syntax,
    tokens,
    vectors,
    walkthrough,
)
from .conllu import ConlluError, read_conllu
from .corpus import read_corpus_files
from .heads import parse_heads

if TYPE_CHECKING:  # imported where used: pyarrow and LanceDB stay out of the server's start
    from . import corpus_index

# A long cached result is computed once: a session asking for the same one meanwhile waits for it,
# and sees this instead of a blank page (the progress bar is drawn in the computing session only).
SHARED_WAIT = "Computing… (another session asking for the same result meanwhile waits for this one)"


@st.cache_resource(show_spinner=False)
def process_settings() -> int:
    """The CPU settings (threads, freed memory), applied once per server process, before its first
    model; returns the torch thread count. One core is left for the browser and the server."""
    return cpu_tuning.tune_process(leave_free=1)


@st.cache_resource(show_spinner=False)
def server_access() -> model_access.Access:
    """Who may load what (BERT_EXPLORER_MODE, BERT_EXPLORER_MODELS), read once per server."""
    return model_access.read_access()


@st.cache_resource(max_entries=2, show_spinner="Loading the model…")
def get_model(name: str) -> tuple[BertModel, object]:
    """(model, tokenizer), loaded once per server; raises model_access.LoadRefused when `name` is not
    one this server offers or cannot be loaded. DEFAULT_MODEL is the bundled one; a hub id not in the
    local cache is downloaded with a progress bar."""
    process_settings()
    bar = None
    context = get_script_run_ctx()

    def downloaded(done: int, total: int) -> None:
        nonlocal bar
        add_script_run_ctx(threading.current_thread(), context)  # huggingface_hub reports from its threads
        if bar is None:
            bar = ProgressBar()
        bar.progress(min(done / total, 1.0) if total else 0.0,
                     text=f"Downloading {name}: {done / 1e6:,.1f} of {total / 1e6:,.1f} MB")

    try:
        return model_access.open_model(server_access(), name, download_progress=downloaded)
    finally:
        if bar is not None:
            bar.empty()


def upload_digest(upload) -> str:
    """An uploaded file's SHA-256, computed once per file a session uploads (reruns see the same file_id)."""
    known = st.session_state.setdefault("upload_digests", {})
    if upload.file_id not in known:
        known[upload.file_id] = hashlib.sha256(upload.getvalue()).hexdigest()
    return known[upload.file_id]


# An uploaded list of sentences (the sidebar's, Sentence embeddings'): parsed and cleaned once per
# file (its digest) and column, not on every rerun or page switch. `_upload` (the UploadedFile) is
# not hashed; it is read only on a miss.
@st.cache_data(max_entries=16, show_spinner="Reading the file…")
def uploaded_sentences(digest: str, name: str, column: str | None, _upload) -> inputs.UploadedSentences:
    return inputs.sentences_from_upload(name, _upload.getvalue(), column)


# Embeddings pages. Uploaded files are keyed by their SHA-256 digest; `_data` and
# `_points` are not hashed (the leading underscore tells st.cache_data). The progress bar is made
# inside the cached function, so a cache hit replays it (created, filled, removed) harmlessly.

def _stage(bar, text: str, unit: str = "sentences"):
    """A progress callback (done, total) that fills `bar` and says which stage it is in."""
    return lambda done, total: bar.progress(done / total if total else 1.0, text=f"{text} {done:,}/{total:,} {unit}")


class ProgressBar:
    """st.progress under a blank line. Streamlit draws a cached function's spinner over the first element
    the function writes; without the line, that spinner would hide the bar's text and half its fill."""

    def __init__(self, text: str = ""):
        self._slot = st.empty()
        with self._slot.container():
            st.markdown("&nbsp;")
            self._bar = st.progress(0.0, text=text or None)

    def progress(self, value: float, text: str | None = None) -> None:
        self._bar.progress(value, text=text)

    def empty(self) -> None:
        self._slot.empty()


def _progress_bar(text: str, unit: str = "sentences"):
    bar = ProgressBar(text)
    return bar, _stage(bar, text, unit)


@st.cache_data(max_entries=8, show_spinner=SHARED_WAIT)
def word_senses(digest: str, name: str, model_name: str, max_rows: int, _data: bytes):
    """(Table, SenseAnalysis) of a word-sense table, on its first max_rows usable rows: for files
    up to that size exactly what `python -m app polysemy` computes."""
    table = polysemy.read_table(_data, name)
    table = polysemy.Table(table.rows[:max_rows], table.skipped, table.has_senses)
    model, tokenizer = get_model(model_name)
    with long_job_turn(what="This table", items=len(table.rows), unit="rows"):
        bar, tokenized = _progress_bar("Tokenizing:")
        analysis = polysemy.analyse_table(model, tokenizer, table, model_name=model_name,
                                          tokenize_progress=tokenized,
                                          progress=_stage(bar, "Computing the word vectors:"))
    bar.empty()
    return table, analysis


@st.cache_data(max_entries=16, show_spinner="Running the model…")
def word_comparison(model_name: str, word: str, sentences: tuple[str, ...],
                    occurrences: tuple[int, ...]) -> polysemy.Comparison:
    """The word's vectors and similarities at every layer, so moving the page's layer slider re-uses them."""
    model, tokenizer = get_model(model_name)
    return polysemy.compare_word(model, tokenizer, word, list(sentences), list(occurrences))


@st.cache_resource(max_entries=2, show_spinner=False)
def vocabulary(model_name: str) -> polysemy.Vocabulary:
    """The unit-length input-embedding rows for nearest-token look-ups (read-only, shared by sessions)."""
    return polysemy.vocabulary(*get_model(model_name))


@st.cache_data(max_entries=32, show_spinner="Projecting…")
def projection(digest: str, model_name: str, subset: str, layer: int, method: str, dims: int, _points):
    """vectors.project of the points `subset` (a word, a pooling) picks from the data `digest` names."""
    return vectors.project(_points, method, dims)


@st.cache_data(max_entries=8, show_spinner=SHARED_WAIT)
def sentence_vectors(sentences: tuple[str, ...], pooling: str, model_name: str):
    model, tokenizer = get_model(model_name)
    with long_job_turn(what="This list", items=len(sentences), unit="sentences"):
        bar, progress = _progress_bar("Embedding:")
        vectors = sentence_embeddings.sentence_embeddings(model, tokenizer, list(sentences), pooling, progress=progress)
    bar.empty()
    return vectors


# Attention pages: each keyed by the model name and the sentences, so changing a
# layer, head or token on a page re-uses the model's numbers instead of running it again.

def _encoded(model_name: str, text_a: str, text_b: str):
    """(model, Encoding) of the sentences; cheap, so not cached itself."""
    model, tokenizer = get_model(model_name)
    return model, encode(tokenizer, text_a, text_b)


@st.cache_data(max_entries=16, show_spinner="Running the model…")
def token_embeddings(model_name: str, text_a: str, text_b: str):
    """(Encoding, embedding parts by name) for the Tokens and embeddings page."""
    model, enc = _encoded(model_name, text_a, text_b)
    return enc, tokens.embedding_parts(model, enc)


# cache_resource, not cache_data: at 512 tokens all layers' maps are 75 MB, and cache_data would
# unpickle a copy on every rerun (each layer or toggle change); a run also computes its layers'
# maps as they are first shown, which a pickled copy would not keep. The pages only read them.
@st.cache_resource(max_entries=4, show_spinner="Running the model…")
def attention_run(model_name: str, text_a: str, text_b: str) -> attention.AttentionRun:
    """The forward for the Attention views and Head overview pages; each layer's (nh, T, T) maps
    come from run.layer(i), all of them from run.attentions."""
    return attention.run_attention(*get_model(model_name), text_a, text_b)


@st.cache_data(max_entries=8, show_spinner=False)
def size_family(model_name: str) -> list[dict]:
    return tokens.size_family(get_model(model_name)[0], model_name)


@st.cache_data(max_entries=8, show_spinner="Running the model…")
def layer_internals(model_name: str, text_a: str, text_b: str):
    """(Encoding, walkthrough.LayerInternals) for the Inside one head page."""
    model, enc = _encoded(model_name, text_a, text_b)
    return enc, walkthrough.layer_internals(model, enc)


@st.cache_data(max_entries=8, show_spinner="Running the model…")
def head_overview(model_name: str, text_a: str, text_b: str):
    """(Encoding, {statistic: (L, nh)}, rollout (L, T, T)) for the Head overview page; the forward is
    the Attention views page's (one run per sentence for both pages)."""
    run = attention_run(model_name, text_a, text_b)
    enc, attn = run.encoding, run.attentions
    return enc, overview.head_patterns(attn, enc.tokens, enc.special), overview.rollout(attn)


@st.cache_data(max_entries=32, show_spinner="Switching heads off…")
def ablation(model_name: str, text_a: str, text_b: str, heads: str):
    """(T,) cosine similarity per token with the heads of the list `heads` ("1-4,6-12") switched off."""
    model, enc = _encoded(model_name, text_a, text_b)
    config = model.config
    switched_off = parse_heads(heads, config.num_hidden_layers, config.num_attention_heads)
    return overview.ablation_similarity(model, enc, switched_off)


# Syntax pages: spaCy loaded once; results keyed by the model name and the text, or by
# the corpus kind and its bytes' digest (`_data` is not hashed).

@st.cache_resource(show_spinner="Loading spaCy's English parser…")
def get_parser():
    return syntax.load_parser()


@st.cache_data(max_entries=16, show_spinner="Parsing and running the model…")
def syntax_sentence(model_name: str, text: str) -> tuple[syntax.SentenceAnalysis, int]:
    """(analysis of spaCy's first sentence of `text`, how many sentences spaCy found).
    Raises ValueError when there is nothing to analyse."""
    sentences = syntax.parse_text(get_parser(), text)
    model, tokenizer = get_model(model_name)
    return syntax.analyse_sentence(model, tokenizer, sentences[0], model_name), len(sentences)


@st.cache_data(max_entries=8, show_spinner=SHARED_WAIT)
def syntax_corpus(model_name: str, kind: str, digest: str, max_sentences: int, _data: bytes) -> syntax.ProbeResult:
    """The probe on a CoNLL-U file (kind "conllu") or on text, one sentence per line, parsed by spaCy
    (kind "text"): exactly what `python -m app probe` computes. Raises ConlluError for an unusable file."""
    if kind == "conllu":
        treebank = read_conllu(_data, max_sentences)
        what, items = "This treebank", len(treebank.sentences)
    else:
        what, items = "This text", min(max_sentences, sum(1 for line in _data.splitlines() if line.strip()))
    with long_job_turn(what=what, items=items, unit="sentences"):
        if kind == "text":
            bar, progress = _progress_bar("Parsing with spaCy:", "lines")
            treebank = syntax.parse_lines(get_parser(), _data.decode("utf-8"), max_sentences, progress=progress)
            bar.empty()
        model, tokenizer = get_model(model_name)
        bar, progress = _progress_bar("Running the probe:")
        result = syntax.probe(model, tokenizer, treebank, model_name=model_name, progress=progress)
    bar.empty()
    return result


# ---------------------------------------------------------------------------------------------
# Search a corpus. Indexes the app builds (shipped sample, uploads) live under index_home(), one
# folder per model, corpus and layers, so building the same one again finds it (or resumes it).

def index_home() -> Path:
    """Where the app keeps the indexes it builds: $BERT_EXPLORER_INDEX_DIR, else ~/.cache/bert-explorer/indexes."""
    chosen = os.environ.get("BERT_EXPLORER_INDEX_DIR", "").strip()
    return Path(chosen) if chosen else Path.home() / ".cache" / "bert-explorer" / "indexes"


@st.cache_data(max_entries=8, show_spinner=SHARED_WAIT)
def built_corpus_index(model_name: str, digest: str, name: str, layers: tuple[int, ...], _data: bytes) -> str:
    """The folder of the index of one corpus file (a shipped sample or an upload), built first if needed,
    exactly as `python -m app index` builds it. Raises CorpusError when the file has no sentence."""
    from . import corpus_index

    corpus = read_corpus_files([(name, _data)])
    model, tokenizer = get_model(model_name)
    folder = index_home() / f"{corpus_index.model_digest(model_name)[:16]}-{corpus.digest[:16]}-" \
                            f"{'-'.join(map(str, layers))}"
    with long_job_turn(what="This corpus", items=len(corpus.sentences), unit="sentences"):
        bar, progress = _progress_bar("Indexing:")
        corpus_index.build_index(corpus, folder, model=model, tokenizer=tokenizer, model_name=model_name,
                                 layers=list(layers), progress=progress)
    bar.empty()
    return str(folder)


def index_stamp(folder: str) -> float:
    """Changes whenever the index is rebuilt (its manifest is rewritten): part of the cache keys below."""
    from . import corpus_index

    try:
        return (Path(folder) / corpus_index.MANIFEST).stat().st_mtime
    except OSError:
        return 0.0


@st.cache_resource(max_entries=4, show_spinner="Opening the index…")
def open_corpus_index(folder: str, stamp: float) -> corpus_index.CorpusIndex:
    """An opened, checked index (raises CorpusIndexError; errors are not cached)."""
    from . import corpus_index

    return corpus_index.CorpusIndex(folder)


@st.cache_data(max_entries=64, show_spinner="Searching…")
def corpus_search(folder: str, stamp: float, model_name: str, text: str, position: int, layer: int, k: int,
                  where: str | None) -> tuple[dict, list[corpus_index.Hit]]:
    """(the query as the CLI writes it, the hits): what `python -m app search` computes."""
    from . import corpus_index

    model, tokenizer = get_model(model_name)
    query = corpus_index.query_position(model, tokenizer, text, position)
    hits = open_corpus_index(folder, stamp).search(query.vectors[layer], layer, k=k, where=where)
    return {"word": query.word, "position": query.position}, hits


@st.cache_data(max_entries=8, show_spinner="Projecting every occurrence…")
def occurrence_map(folder: str, stamp: float, word: str, layer: int, method: str, limit: int):
    """(metadata rows, (n, 2) coordinates, cluster of each point) of every stored occurrence of a word."""
    from . import corpus_index

    meta, points = open_corpus_index(folder, stamp).occurrences(word, layer, limit)
    if len(points) == 0:
        return meta.to_pylist(), np.zeros((0, 2)), []
    coords = vectors.project(points, method, 2)
    return meta.to_pylist(), coords, corpus_index.clusters(points)


# Pre-training pages: one forward per masked input (the lens logits, cached as a resource: up to
# MAX_MASKS × L × vocabulary floats, read-only), so temperature, top-k, targets and pinned words
# redraw without running the model.

@st.cache_resource(max_entries=4, show_spinner="Running the model…")
def fill_mask(model_name: str, text_a: str, text_b: str, words: tuple[int, ...]) -> pretraining.FillMaskRun:
    """Raises pretraining.PretrainingError for input it cannot use (not cached)."""
    model, tokenizer = get_model(model_name)
    return pretraining.run_fill_mask(model, pretraining.mask_input(tokenizer, text_a, text_b, words=words))


@st.cache_data(max_entries=32, show_spinner="Scoring…")
def pseudo_log_likelihood(model_name: str, text: str) -> pretraining.SentenceScore:
    return pretraining.pll_word_l2r(*get_model(model_name), text)


@st.cache_data(max_entries=16, show_spinner="Running the model…")
def next_sentence(model_name: str, text_a: str, candidates: tuple[str, ...]) -> list[pretraining.NextSentence]:
    model, tokenizer = get_model(model_name)
    return pretraining.next_sentence(model, tokenizer, text_a, list(candidates))


@st.cache_data(max_entries=1, show_spinner="Counting parameters on the meta device…")
def flavours() -> list[dict]:
    """The BERT family's flavours table (the same for every model and session)."""
    return compare.flavours()


# Fine-tuning: the labelled set read once per file (its digest) and seed. Training itself runs in a
# thread per session (finetune.TrainingJob) that waits for this server's job queue.

@st.cache_data(max_entries=8, show_spinner="Reading the labelled set…")
def labelled_data(digest: str, name: str, seed: int, _data: bytes):
    """finetune.read_labelled of a CSV/TSV, or finetune.read_tagged of a CoNLL-U file (a name ending in
    .conllu), uploaded or shipped; raises finetune.DataError."""
    from . import finetune

    read = finetune.read_tagged if name.lower().endswith(".conllu") else finetune.read_labelled
    return read(_data, name, seed=seed)


# Trees from attention and probes per layer (app/trees.py, app/probes.py): results keyed by the model
# name and the files' SHA-256 digests (`_data` not hashed). Word vectors are kept in memory, once per
# (model, corpus), in the resource cache (shared by sessions, not copied on every rerun).

@st.cache_data(max_entries=8, show_spinner=SHARED_WAIT)
def attention_trees(model_name: str, digest: str, max_sentences: int, _data: bytes):
    """trees.decode_treebank on a CoNLL-U file: exactly what `python -m app trees` computes.
    Raises ConlluError for an unusable file."""
    from . import trees

    treebank = read_conllu(_data, max_sentences)
    model, tokenizer = get_model(model_name)
    with long_job_turn(what="This treebank", items=len(treebank.sentences), unit="sentences"):
        bar, progress = _progress_bar("Decoding the trees:")
        result = trees.decode_treebank(model, tokenizer, treebank, model_name=model_name, progress=progress)
    bar.empty()
    return result


@st.cache_data(max_entries=16, show_spinner="Running the model…")
def sentence_trees(model_name: str, digest: str, index: int, _sentence):
    """trees.decode_sentence of sentence `index` of the file `digest`."""
    from . import trees

    return trees.decode_sentence(*get_model(model_name), _sentence)


@st.cache_resource(max_entries=4, show_spinner=False)
def word_features(model_name: str, digest: str, max_sentences: int, random_weights: bool, _data: bytes):
    """probes.Features of a CoNLL-U file for the model (or a random-weight model of its shape)."""
    from . import probes

    treebank = read_conllu(_data, max_sentences)
    model, tokenizer = get_model(model_name)
    if random_weights:
        model, model_name = probes.random_model(model), "random"
    with long_job_turn(what="This treebank", items=len(treebank.sentences), unit="sentences"):
        bar, progress = _progress_bar("Word vectors of every layer" + (" (random model):" if random_weights else ":"))
        features = probes.extract_features(model, tokenizer, treebank, model_name=model_name, progress=progress)
    bar.empty()
    return features


@st.cache_data(max_entries=8, show_spinner=SHARED_WAIT)
def layer_probes(model_name: str, train_digest: str, eval_digest: str, max_sentences: int, rank: int, epochs: int,
                 _train: bytes, _eval: bytes) -> dict:
    """Structural and linear probes per layer, as `python -m app structural-probe` and `layer-probe` compute
    them (their JSON under "structural" and "linear")."""
    from . import probes

    train = word_features(model_name, train_digest, max_sentences, False, _train)
    evaluation = word_features(model_name, eval_digest, max_sentences, False, _eval)
    for name, features in (("training", train), ("evaluation", evaluation)):
        if not features.sentences:
            raise ConlluError(f"the {name} file has no sentence of two words or more within 510 word pieces")
    random_train = word_features(model_name, train_digest, max_sentences, True, _train)
    random_eval = word_features(model_name, eval_digest, max_sentences, True, _eval)
    with long_job_turn(what="The training file", items=len(train.sentences), unit="sentences"):
        bar, progress = _progress_bar("Training the structural probes:", "steps")
        structural = probes.structural_probe([train, random_train], [evaluation, random_eval], rank=rank,
                                             epochs=epochs, progress=progress)
        bar.progress(0.0, text="Training the linear probes:")
        linear = probes.layer_probe(train, evaluation, progress=_stage(bar, "Training the linear probes:",
                                                                         "feature sets"))
    bar.empty()
    counts = {name: {"sentences": len(f.sentences), "skipped": f.skipped, "words": f.words}
              for name, f in (("train", train), ("eval", evaluation))}
    return {"structural": {"layers": structural[0], "random_model": structural[1], **counts},
            "linear": {**linear, **counts}, "notes": {"train": train.notes, "eval": evaluation.notes}}


# Contributions (app/contributions.py): keyed like the attention pages; the Head overview's norm-based
# statistics come from the Attention views' cached run (its norms are computed once per layer).

@st.cache_data(max_entries=8, show_spinner="Measuring what each head contributes…")
def head_contributions(model_name: str, text_a: str, text_b: str) -> dict:
    """{statistic: (L, nh)} of contributions.CONTRIBUTION_STATS for the Head overview page."""
    run = attention_run(model_name, text_a, text_b)
    norms = np.stack([run.norms(i) for i in range(run.num_layers)])
    return contributions.contribution_stats(norms, run.encoding.tokens, run.encoding.special)


@st.cache_data(max_entries=8, show_spinner="Norm-based attention, every layer…")
def norm_mixing(model_name: str, text_a: str, text_b: str):
    """(Encoding, contributions.norm_analysis) for the Contributions page, from the Attention views page's
    cached forward (one run per sentence for the attention pages)."""
    run = attention_run(model_name, text_a, text_b)
    return run.encoding, contributions.norm_analysis(get_model(model_name)[0], run.encoding, run)


@st.cache_data(max_entries=8, show_spinner="Value zeroing: every token's value vectors zeroed in turn, every layer…")
def value_zeroing(model_name: str, text_a: str, text_b: str):
    """(value zeroing (L, T, T), its rollout) for the Contributions page."""
    model, enc = _encoded(model_name, text_a, text_b)
    zeroing = contributions.value_zeroing(model, enc)
    return zeroing, contributions.mixing_rollout(zeroing)


@st.cache_data(max_entries=8, show_spinner="Differentiating through the head mask…")
def head_importance(model_name: str, text_a: str, text_b: str, objective: str):
    """(importance (L, nh), pruning curve (heads off, mean 1 − cosine)) for objective "output" or "mlm"."""
    model, enc = _encoded(model_name, text_a, text_b)
    measure = contributions.output_importance if objective == "output" else contributions.mlm_importance
    importance = measure(model, enc)
    return importance, contributions.pruning_curve(model, enc, importance)
