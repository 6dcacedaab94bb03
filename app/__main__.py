"""The command line: the app's analyses without a browser.

    python -m app polysemy --data FILE.tsv [--model NAME_OR_PATH] --json OUT.json
    python -m app probe --conllu FILE [--model NAME_OR_PATH] [--max-sentences N] --json OUT.json
    python -m app fill-mask --text "Istanbul is a great [MASK] to visit." [--model M] [--top-k 5] --json OUT.json
    python -m app nsp --a TEXT --b TEXT [--model M] --json OUT.json
    python -m app pll --data FILE.txt (one sentence per line) [--model M] --json OUT.json

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

from bert_core import DEFAULT_MODEL, CheckpointError

from . import cpu_tuning, polysemy, pretraining, syntax
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


def model_and_output(command: argparse.ArgumentParser, head: str) -> None:
    """--model (which must have `head`) and --json, as every pre-training command takes them."""
    command.add_argument("--model", default=DEFAULT_MODEL, help=f"checkpoint folder or hub id, with {head}")
    command.add_argument("--json", required=True, help="where to write the results")


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="BERT Explorer analyses, headless.")
    commands = parser.add_subparsers(dest="command", required=True)

    words = commands.add_parser("polysemy", help="word senses across layers (1-NN sense accuracy)")
    words.add_argument("--data", required=True, help="CSV/TSV with columns word, sense (optional), sentence")
    words.add_argument("--model", default=DEFAULT_MODEL, help="checkpoint folder or hub id")
    words.add_argument("--json", required=True, help="where to write the results")
    words.set_defaults(run=run_polysemy)

    probe = commands.add_parser("probe", help="syntactic heads on a CoNLL-U treebank (Clark et al. 2019)")
    probe.add_argument("--conllu", required=True, help="CoNLL-U file with gold trees")
    probe.add_argument("--model", default=DEFAULT_MODEL, help="checkpoint folder or hub id")
    probe.add_argument("--max-sentences", type=positive_int, default=None, help="analyse only the first N sentences")
    probe.add_argument("--json", required=True, help="where to write the results")
    probe.set_defaults(run=run_probe)

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
