"""The command line: the app's analyses without a browser.

    python -m app polysemy --data FILE.tsv [--model NAME_OR_PATH] --json OUT.json
    python -m app probe --conllu FILE [--model NAME_OR_PATH] [--max-sentences N] --json OUT.json

Exit status: 0 when the JSON is written; 2, with a message, for an input file, model or output path
that cannot be used (as argparse does for bad arguments).
"""
from __future__ import annotations

import argparse
import logging
import sys

from app.cli_support import EXIT_UNUSABLE, Unusable
from bert_core import DEFAULT_MODEL


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app", description="BERT Explorer analyses, headless.")
    commands = parser.add_subparsers(dest="command", required=True)

    polysemy = commands.add_parser("polysemy", help="word senses across layers (1-NN sense accuracy)")
    polysemy.add_argument("--data", required=True, help="CSV/TSV with columns word, sense (optional), sentence")
    polysemy.add_argument("--model", default=DEFAULT_MODEL, help="checkpoint folder or hub id")
    polysemy.add_argument("--json", required=True, help="where to write the results")

    probe = commands.add_parser("probe", help="syntactic heads on a CoNLL-U treebank (Clark et al. 2019)")
    probe.add_argument("--conllu", required=True, help="CoNLL-U file with gold trees")
    probe.add_argument("--model", default=DEFAULT_MODEL, help="checkpoint folder or hub id")
    probe.add_argument("--max-sentences", type=int, default=None, help="analyse only the first N sentences")
    probe.add_argument("--json", required=True, help="where to write the results")

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "polysemy":
        from app.polysemy import cli
    else:
        from app.syntax import cli
    try:
        return cli(args)
    except Unusable as err:
        logging.getLogger("app").error("%s", err)
        return EXIT_UNUSABLE


if __name__ == "__main__":
    sys.exit(main())
