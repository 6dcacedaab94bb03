"""The command line: the app's analyses without a browser.

    python -m app polysemy --data FILE.tsv [--model NAME_OR_PATH] --json OUT.json
    python -m app probe --conllu FILE [--model NAME_OR_PATH] [--max-sentences N] --json OUT.json
    python -m app index --corpus PATH --layers 0,3,6 [--model M] --out DIR [--engine local|ray] [--device D]
    python -m app search --index DIR --text "I love my pet python" --word python [--occurrence 1] --layer 6 \
        [--k 10] --json OUT.json
    python -m app fill-mask --text "Istanbul is a great [MASK] to visit." [--model M] [--top-k 5] --json OUT.json
    python -m app nsp --a TEXT --b TEXT [--model M] --json OUT.json
    python -m app pll --data FILE.txt (one sentence per line) [--model M] --json OUT.json
    python -m app finetune --data FILE [--task sequence|token] [--approach all|top:N|head] [--epochs E] [--seed S]
                           [--model NAME_OR_PATH] --out DIR --json OUT.json
    python -m app trees --conllu FILE [--model NAME_OR_PATH] [--max-sentences N] --json OUT.json
    python -m app structural-probe --train FILE --eval FILE [--model M] [--rank 128] [--seed S] --json OUT.json
    python -m app layer-probe --train FILE --eval FILE [--model M] [--seed S] --json OUT.json
    python -m app mixing --text TEXT [--text-b TEXT] [--model NAME_OR_PATH] --json OUT.json

Exit status: 0 when the JSON is written; 2, with a one-line message, for arguments that cannot be
used (argparse's own rule, also for a count such as --max-sentences 0) and for an input file, model
or output path that cannot be used. Progress bars and messages go to stderr, the results to the JSON
file. Everything command-line lives here; the analyses are plain functions in app/.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bert_core import DEFAULT_MODEL, CheckpointError

from . import contributions, cpu_tuning, inputs, polysemy, pretraining, probes, syntax, trees
from .conllu import ConlluError, read_conllu
from .models import load_model
from .vectors import Progress

EXIT_UNUSABLE = 2
log = logging.getLogger("app")


class Unusable(Exception):
    """Something the command cannot use; the message says what and why, naming the file."""


def positive_int(text: str) -> int:
    """argparse type for a count: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number (give 1 or more)")
    return value


def read_input(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise Unusable(f"cannot read {path}: {err}") from err


def load_model_or_stop(name_or_path: str):
    """(model, tokenizer), or Unusable with the reason when the checkpoint cannot be loaded."""
    with progress_bar(f"downloading {name_or_path}", "B") as downloaded:
        try:
            return load_model(name_or_path, download_progress=downloaded)
        except (CheckpointError, ValueError, OSError, RuntimeError) as err:
            raise Unusable(f"cannot load the model {name_or_path!r}: {err}") from err


def write_json(path: str | Path, data: dict) -> None:
    """Write `data` as indented UTF-8 JSON; Unusable when the path cannot be written."""
    try:
        Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    except OSError as err:
        raise Unusable(f"cannot write {path}: {err}") from err


@contextlib.contextmanager
def progress_bar(description: str, unit: str) -> Iterator[Progress]:
    """A progress callback (done, total) drawn as a bar on stderr from its first report on (into a
    log file too: a person waiting on a long run wants to see it move). The bar closes when done
    reaches total, so stages follow each other line by line; a later report opens a new one."""
    from tqdm import tqdm

    bar = None

    def report(done: int, total: int) -> None:
        nonlocal bar
        if bar is None or bar.disable:  # tqdm disables a bar it has closed
            bar = tqdm(desc=description, total=total, unit=unit, unit_scale=unit == "B", file=sys.stderr,
                       dynamic_ncols=True)
        bar.total = total
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    try:
        yield report
    finally:
        if bar is not None:
            bar.close()


def run_polysemy(args) -> int:
    path = Path(args.data)
    try:
        table = polysemy.read_table(read_input(path), path.name)
    except polysemy.TableError as err:
        raise Unusable(f"{path}: {err}") from err
    for skip in table.skipped:
        log.warning("%s line %d skipped: %s", path.name, skip.line, skip.reason)
    if not table.rows:
        raise Unusable(f"{path}: no usable rows ({len(table.skipped)} skipped)")
    model, tokenizer = load_model_or_stop(args.model)
    log.info("%d occurrences of %d words on %s", len(table.rows), len({r.word.lower() for r in table.rows}),
             model.device)
    with progress_bar("tokenizing", "rows") as tokenized, progress_bar("word vectors", "rows") as embedded:
        analysis = polysemy.analyse_table(model, tokenizer, table, model_name=args.model, progress=embedded,
                                          tokenize_progress=tokenized)
    for note in polysemy.summary_messages(analysis, table):
        log.warning("%s", note)
    write_json(args.json, analysis.to_json())
    top = analysis.layers[-1]["accuracy"] if analysis.layers else None
    log.info("wrote %s: %d items, %d skipped, top-layer 1-NN sense accuracy %s", args.json, len(analysis.rows),
             len(analysis.skipped), "n/a" if top is None else f"{top:.3f}")
    return 0


def run_probe(args) -> int:
    path = Path(args.conllu)
    try:
        treebank = read_conllu(read_input(path), max_sentences=args.max_sentences)
    except ConlluError as err:
        raise Unusable(f"{path}: {err}") from err
    for problem in treebank.problems:
        log.warning("%s: %s (sentence skipped)", path, problem)
    if not treebank.sentences:
        raise Unusable(f"{path}: no valid sentence to analyse")
    model, tokenizer = load_model_or_stop(args.model)
    with progress_bar("probe", "sentences") as progress:
        result = syntax.probe(model, tokenizer, treebank, model_name=args.model, progress=progress)
    for note in result.notes[len(treebank.problems):]:
        log.warning("%s: %s", path, note)
    write_json(args.json, result.to_json())
    log.info("%s: %d sentences analysed, %d skipped → %s", path, result.sentences, result.skipped, args.json)
    return 0


def run_index(args) -> int:
    from . import corpus_index
    from .corpus import CorpusError, read_corpus

    try:
        corpus = read_corpus(args.corpus, column=args.column, max_sentences=args.max_sentences)
    except CorpusError as err:
        raise Unusable(str(err)) from err
    for problem in corpus.problems[:20]:
        log.warning("%s", problem)
    if len(corpus.problems) > 20:
        log.warning("… and %d more problem(s)", len(corpus.problems) - 20)
    model, tokenizer = load_model_or_stop(args.model) if args.device is None else _model_on(args.model, args.device)
    try:
        layers = corpus_index.parse_layers(args.layers, model.config.num_hidden_layers)
    except ValueError as err:
        raise Unusable(f"--layers: {err}") from err
    log.info("%d sentences from %d file(s); layers %s; %s engine on %s", len(corpus.sentences), len(corpus.files),
             layers, args.engine, model.device)
    try:
        with progress_bar("indexing", "sentences") as progress:
            manifest = corpus_index.build_index(corpus, args.out, model=model, tokenizer=tokenizer,
                                                model_name=args.model, layers=layers, engine=args.engine,
                                                replace=args.replace, progress=progress, ray_address=args.ray_address,
                                                ray_workers=args.workers, ray_device=args.device)
    except corpus_index.CorpusIndexError as err:
        raise Unusable(str(err)) from err
    ann = manifest.get("ann") or {}
    log.info("%s: %s words of %s sentences at layers %s (%s skipped)%s", args.out, f"{manifest['words']:,}",
             f"{manifest['corpus']['sentences']:,}", manifest["layers"], f"{manifest['skipped_words']:,}",
             f"; ANN recall@10 {ann['recall_at_10']}" if ann else "; exact search")
    return 0


def _model_on(name: str, device: str):
    from bert_core import load_pretrained

    from .corpus_index import checkpoint_folder

    try:
        return load_pretrained(checkpoint_folder(name), device=device)
    except (CheckpointError, ValueError, OSError, RuntimeError) as err:
        raise Unusable(f"cannot load the model {name!r} on {device}: {err}") from err


def run_search(args) -> int:
    from . import corpus_index

    try:
        index = corpus_index.CorpusIndex(args.index)
        model_name = args.model or index.manifest["model"]
        index.check_model(model_name)
        index.check_layer(args.layer)
    except corpus_index.CorpusIndexError as err:
        raise Unusable(f"{args.index}: {err}") from err
    model, tokenizer = load_model_or_stop(model_name)
    try:
        query = corpus_index.query_word(model, tokenizer, args.text, args.word, args.occurrence)
    except corpus_index.WordNotFound as err:
        raise Unusable(str(err)) from err
    hits = index.search(query.vectors[args.layer], args.layer, k=args.k, exact=args.exact or None)
    write_json(args.json, {"index": str(args.index), "layer": args.layer,
                           "query": {"word": query.word, "position": query.position},
                           "results": [hit.to_json() for hit in hits]})
    log.info("wrote %s: %d nearest occurrences of %r at layer %d", args.json, len(hits), query.word, args.layer)
    return 0


def model_with_head(name: str, head: str):
    """(model, tokenizer) of a checkpoint that has the pre-training `head` ("mlm", "nsp"), or Unusable."""
    model, tokenizer = load_model_or_stop(name)
    try:
        pretraining.require_head(model, head, name)
    except pretraining.PretrainingError as err:
        raise Unusable(str(err)) from err
    return model, tokenizer


def run_fill_mask(args) -> int:
    model, tokenizer = model_with_head(args.model, "mlm")
    try:
        masked = pretraining.mask_input(tokenizer, args.text)
    except pretraining.PretrainingError as err:
        raise Unusable(f"--text: {err}") from err
    run = pretraining.run_fill_mask(model, masked)
    write_json(args.json, pretraining.fill_mask_json(args.model, run, tokenizer, args.top_k))
    log.info("%d mask(s), top-%d over %d layers → %s", len(masked.positions), args.top_k, run.num_layers, args.json)
    return 0


def run_nsp(args) -> int:
    model, tokenizer = model_with_head(args.model, "nsp")
    try:
        result = pretraining.next_sentence(model, tokenizer, args.a, [args.b])[0]
    except pretraining.PretrainingError as err:
        raise Unusable(str(err)) from err
    write_json(args.json, {"model": args.model, "is_next": result.is_next})
    log.info("P(IsNext) = %.4f → %s", result.is_next, args.json)
    return 0


def run_pll(args) -> int:
    path = Path(args.data)
    try:
        lines = read_input(path).decode("utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise Unusable(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from err
    sentences = [(number, line.strip()) for number, line in enumerate(lines, 1) if line.strip()]
    if not sentences:
        raise Unusable(f"{path}: no sentences (one per line)")
    model, tokenizer = model_with_head(args.model, "mlm")
    scores = []
    with progress_bar("PLL-word-l2r", "sentences") as progress:
        for done, (number, text) in enumerate(sentences, 1):
            try:
                scores.append(pretraining.pll_word_l2r(model, tokenizer, text).to_json())
            except pretraining.PretrainingError as err:
                raise Unusable(f"{path} line {number}: {err}") from err
            progress(done, len(sentences))
    write_json(args.json, {"model": args.model, "sentences": scores})
    log.info("%d sentences scored → %s", len(scores), args.json)
    return 0


def model_and_output(command: argparse.ArgumentParser, head: str | None = None) -> None:
    """--model (which must have `head`, where a command needs one) and --json, as most commands take them."""
    command.add_argument("--model", default=DEFAULT_MODEL,
                         help="checkpoint folder or hub id" + (f", with {head}" if head else ""))
    command.add_argument("--json", required=True, help="where to write the results")


def run_finetune(args) -> int:
    from . import finetune

    path = Path(args.data)
    read = finetune.read_labelled if args.task == "sequence" else finetune.read_tagged
    try:
        data = read(read_input(path), path.name, seed=args.seed)
    except finetune.DataError as err:
        raise Unusable(f"{path}: {err}") from err
    for notice in data.notices:
        log.warning("%s: %s", path, notice.text)
    model, tokenizer = load_model_or_stop(args.model)
    try:
        approach = finetune.parse_approach(args.approach, model.config.num_hidden_layers)
    except ValueError as err:
        raise Unusable(f"--approach: {err}") from err
    settings = finetune.Settings(approach=approach, epochs=args.epochs, seed=args.seed)
    with progress_bar("fine-tuning", "steps") as progress:
        result = finetune.fine_tune(model, tokenizer, data, settings,
                                    progress=lambda step: progress(step.step, step.total_steps))
    for note in result.notices:
        log.warning("%s", note)
    try:
        finetune.save_checkpoint(result.model, tokenizer, args.out)
    except OSError as err:
        raise Unusable(f"cannot write the checkpoint to {args.out}: {err}") from err
    write_json(args.json, {
        "model": args.model, "task": args.task, "approach": approach,
        "trained_parameters": result.trained_parameters, "total_parameters": result.total_parameters,
        "epochs_run": result.epochs_run, "dev_accuracy": result.dev.accuracy, "test_accuracy": result.test.accuracy,
        "labels": result.labels,
        "history": [{key: epoch[key] for key in ("epoch", "train_loss", "dev_accuracy")} for epoch in result.history],
    })
    log.info("%s: %s, %d of %d parameters trained, %d epoch(s), dev accuracy %.3f, test accuracy %.3f → %s, %s",
             path, approach, result.trained_parameters, result.total_parameters, result.epochs_run,
             result.dev.accuracy, result.test.accuracy, args.out, args.json)
    return 0


def read_treebank(name: str, max_sentences: int | None):
    """A CoNLL-U file's valid sentences (problems logged), or Unusable when none is left."""
    path = Path(name)
    try:
        treebank = read_conllu(read_input(path), max_sentences=max_sentences)
    except ConlluError as err:
        raise Unusable(f"{path}: {err}") from err
    for problem in treebank.problems:
        log.warning("%s: %s (sentence skipped)", path, problem)
    if not treebank.sentences:
        raise Unusable(f"{path}: no valid sentence to analyse")
    return treebank


def run_trees(args) -> int:
    treebank = read_treebank(args.conllu, args.max_sentences)
    model, tokenizer = load_model_or_stop(args.model)
    with progress_bar("trees", "sentences") as progress:
        result = trees.decode_treebank(model, tokenizer, treebank, model_name=args.model, progress=progress)
    for note in result.notes[len(treebank.problems):]:
        log.warning("%s: %s", args.conllu, note)
    if not result.sentences:
        raise Unusable(f"{args.conllu}: no sentence of two words or more within {syntax.MAX_PIECES} word pieces")
    write_json(args.json, result.to_json())
    log.info("%s: %d sentences, %d skipped; best head %s → %s", args.conllu, result.sentences, result.skipped,
             result.to_json()["best_head"], args.json)
    return 0


def probe_features(args) -> tuple[list, list]:
    """Word vectors of the train and eval files, for the model and for a random model of its shape."""
    train = read_treebank(args.train, args.max_train_sentences)
    evaluation = read_treebank(args.eval, None)
    model, tokenizer = load_model_or_stop(args.model)
    found = []
    for name, treebank in (("train", train), ("eval", evaluation)):
        with progress_bar(f"word vectors ({name})", "sentences") as progress:
            features = probes.extract_features(model, tokenizer, treebank, model_name=args.model, progress=progress)
        if not features.sentences:
            raise Unusable(f"{getattr(args, name)}: no sentence of two words or more within {syntax.MAX_PIECES} pieces")
        found.append(features)
    if not args.random_model:
        return found, []
    shuffled = probes.random_model(model, args.seed)
    random = []
    for name, treebank in (("train", train), ("eval", evaluation)):
        with progress_bar(f"word vectors, random model ({name})", "sentences") as progress:
            random.append(probes.extract_features(shuffled, tokenizer, treebank, model_name="random",
                                                  progress=progress))
    return found, random


def corpus_counts(features) -> dict:
    return {"sentences": len(features.sentences), "skipped": features.skipped, "words": features.words}


def run_structural(args) -> int:
    (train, evaluation), random = probe_features(args)
    with progress_bar("training the probes", "steps") as progress:
        results = probes.structural_probe([train, *random[:1]], [evaluation, *random[1:]], rank=args.rank,
                                          seed=args.seed, epochs=args.epochs, progress=progress)
    output = {"model": args.model, "rank": args.rank, "seed": args.seed, "epochs": args.epochs,
              "train": corpus_counts(train), "eval": corpus_counts(evaluation), "layers": results[0]}
    if random:
        output["random_model"] = results[1]
    write_json(args.json, output)
    best = int(np.argmax(results[0]["uuas"]))
    log.info("best layer %d: UUAS %.3f, DSpr. %.3f → %s", best, results[0]["uuas"][best], results[0]["dspr"][best],
             args.json)
    return 0


def run_layer_probe(args) -> int:
    (train, evaluation), _ = probe_features(args)
    with progress_bar("linear probes", "feature sets") as progress:
        results = probes.layer_probe(train, evaluation, seed=args.seed, epochs=args.epochs, progress=progress)
    write_json(args.json, {"model": args.model, "seed": args.seed, "epochs": args.epochs,
                           "train": corpus_counts(train), "eval": corpus_counts(evaluation), **results})
    log.info("wrote %s", args.json)
    return 0


def probe_arguments(command, epochs: int) -> None:
    command.add_argument("--train", required=True, help="CoNLL-U file the probes are trained on")
    command.add_argument("--eval", required=True, help="CoNLL-U file the probes are scored on")
    command.add_argument("--seed", type=int, default=0, help="seeds the probes, the controls and the random model")
    command.add_argument("--epochs", type=positive_int, default=epochs, help="passes over the training file")
    command.add_argument("--max-train-sentences", type=positive_int, default=None,
                         help="train on the first N sentences of --train only")
    model_and_output(command)


def run_mixing(args) -> int:
    """Norm-based attention and value zeroing of one input (app.contributions): {"model", "tokens",
    "norm_based" [layer][head] T × T, "value_zeroing" [layer] T × T}."""
    from bert_core import encode

    texts = []
    for name, text in (("--text", args.text), ("--text-b", args.text_b or "")):
        cleaned, notices = inputs.clean_text(text, name)
        for notice in notices:
            log.warning("%s", notice.text)
        texts.append(cleaned)
    if not texts[0].strip():
        raise Unusable("--text is empty: give the sentence to analyse")
    model, tokenizer = load_model_or_stop(args.model)
    enc = encode(tokenizer, *texts)
    if enc.truncated:
        log.warning("the input is longer than the model reads: truncated to %d pieces", len(enc))
    with progress_bar("norm-based attention and value zeroing", "steps") as progress:
        progress(0, 2)
        norms = contributions.norm_analysis(model, enc)
        progress(1, 2)
        zeroing = contributions.value_zeroing(model, enc)
        progress(2, 2)
    write_json(args.json, contributions.mixing_json(args.model, enc, norms, zeroing))
    log.info("%d pieces, %d layers → %s", len(enc), len(zeroing), args.json)
    return 0


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="BERT Explorer analyses, headless.")
    commands = parser.add_subparsers(dest="command", required=True)

    words = commands.add_parser("polysemy", help="word senses across layers (1-NN sense accuracy)")
    words.add_argument("--data", required=True, help="CSV/TSV with columns word, sense (optional), sentence")
    model_and_output(words)
    words.set_defaults(run=run_polysemy)

    probe = commands.add_parser("probe", help="syntactic heads on a CoNLL-U treebank (Clark et al. 2019)")
    probe.add_argument("--conllu", required=True, help="CoNLL-U file with gold trees")
    probe.add_argument("--max-sentences", type=positive_int, default=None, help="analyse only the first N sentences")
    model_and_output(probe)
    probe.set_defaults(run=run_probe)

    index = commands.add_parser("index", help="every word's vector of a corpus at chosen layers (LanceDB)")
    index.add_argument("--corpus", required=True, help="text (one sentence per line), CoNLL-U, CSV/TSV; file or folder")
    index.add_argument("--layers", required=True, help="comma-separated layers, 0 = embeddings (e.g. 0,3,6)")
    index.add_argument("--model", default=DEFAULT_MODEL, help="checkpoint folder or hub id")
    index.add_argument("--out", required=True, help="the index folder")
    index.add_argument("--engine", choices=("local", "ray"), default="local")
    index.add_argument("--device", default=None, help="cpu, cuda, cuda:1… (default: the GPU when there is one)")
    index.add_argument("--column", default=None, help="the CSV/TSV column holding sentences (default: sentence/text)")
    index.add_argument("--max-sentences", type=positive_int, default=None, help="index only the first N sentences")
    index.add_argument("--replace", action="store_true", help="rebuild a folder that holds another index")
    index.add_argument("--ray-address", default=None, help="join this Ray cluster (default: start a local one)")
    index.add_argument("--workers", type=positive_int, default=None, help="Ray workers (default: GPUs, else CPUs)")
    index.set_defaults(run=run_index)

    search = commands.add_parser("search", help="the corpus words nearest a word of a sentence")
    search.add_argument("--index", required=True, help="an index folder built by `index`")
    search.add_argument("--text", required=True, help="the sentence holding the query word")
    search.add_argument("--word", required=True, help="the query word (a whole word of --text, any case)")
    search.add_argument("--occurrence", type=positive_int, default=1, help="which occurrence of the word (from 1)")
    search.add_argument("--layer", type=int, required=True, help="a layer the index holds")
    search.add_argument("--k", type=positive_int, default=10, help="how many results")
    search.add_argument("--model", default=None, help="default: the index's own model")
    search.add_argument("--exact", action="store_true", help="exact search even where the index has an ANN index")
    search.add_argument("--json", required=True, help="where to write the results")
    search.set_defaults(run=run_search)
    fill = commands.add_parser("fill-mask", help="top-k words for each [MASK], final and at every layer (the lens)")
    fill.add_argument("--text", required=True, help="a sentence with [MASK] typed where a word is hidden")
    fill.add_argument("--top-k", type=positive_int, default=pretraining.TOP_K, help="predictions per mask and layer")
    model_and_output(fill, "a masked-LM head")
    fill.set_defaults(run=run_fill_mask)

    nsp = commands.add_parser("nsp", help="P(IsNext) of sentence B after sentence A (next-sentence head)")
    nsp.add_argument("--a", required=True, help="sentence A")
    nsp.add_argument("--b", required=True, help="sentence B")
    model_and_output(nsp, "a next-sentence head")
    nsp.set_defaults(run=run_nsp)

    pll = commands.add_parser("pll", help="pseudo-log-likelihood (PLL-word-l2r) of each sentence, word by word")
    pll.add_argument("--data", required=True, help="UTF-8 text file, one sentence per line")
    model_and_output(pll, "a masked-LM head")
    pll.set_defaults(run=run_pll)
    tune = commands.add_parser("finetune", help="fine-tune a classifier on a labelled CSV/TSV; save the checkpoint")
    tune.add_argument("--data", required=True, help="sequence: CSV/TSV with columns text, label and optionally "
                                                    "split (train/dev/test; without it a seeded 80/10/10 split); "
                                                    "token: CoNLL-U, UPOS tags (split 80/10/10 by sentence)")
    tune.add_argument("--task", choices=["sequence", "token"], default="sequence",
                      help="a label per text (sequence) or a UPOS tag per word (token)")
    tune.add_argument("--approach", default="all", help="all, top:N (the top N layers, the rest frozen) or head")
    tune.add_argument("--epochs", type=positive_int, default=3, help="at most this many (early stopping on dev)")
    tune.add_argument("--seed", type=int, default=0, help="seeds the split, the head, dropout and the batch order")
    tune.add_argument("--out", required=True, help="folder for the fine-tuned checkpoint (Hugging Face format)")
    model_and_output(tune)
    tune.set_defaults(run=run_finetune)

    decode = commands.add_parser("trees", help="trees decoded from every head's attention (UUAS per head)")
    decode.add_argument("--conllu", required=True, help="CoNLL-U file with gold trees")
    decode.add_argument("--max-sentences", type=positive_int, default=None, help="only the first N sentences")
    model_and_output(decode)
    decode.set_defaults(run=run_trees)

    structural = commands.add_parser("structural-probe", help="distance and depth probes per layer (Hewitt & Manning)")
    probe_arguments(structural, probes.EPOCHS)
    structural.add_argument("--rank", type=positive_int, default=128, help="rank k of the probe matrix B")
    structural.add_argument("--no-random-model", dest="random_model", action="store_false",
                            help="leave out the random-weight model baseline")
    structural.set_defaults(run=run_structural)

    linear = commands.add_parser("layer-probe", help="UPOS and relation probes per layer, with control tasks")
    probe_arguments(linear, probes.LINEAR_EPOCHS)
    linear.set_defaults(run=run_layer_probe, random_model=False)

    mixing = commands.add_parser("mixing", help="norm-based attention and value zeroing of one input")
    mixing.add_argument("--text", required=True, help="the sentence (sentence A)")
    mixing.add_argument("--text-b", default="", help="a second sentence (sentence B), optional")
    model_and_output(mixing)
    mixing.set_defaults(run=run_mixing)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cpu_tuning.tune_process(leave_free=0)  # headless: every core is the model's
    try:
        return args.run(args)
    except Unusable as err:
        log.error("%s", err)
        return EXIT_UNUSABLE


if __name__ == "__main__":
    sys.exit(main())
