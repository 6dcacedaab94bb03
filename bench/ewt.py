"""The UD English EWT dev set, read where it lies beside the checkout (never copied into the
repository): one definition for the bench scripts and the tests (`from bench.ewt import EWT_DEV`)."""
from __future__ import annotations

from pathlib import Path

EWT_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "ud-english-ewt" / "en_ewt-ud-dev.conllu"
TEXT_PREFIX = "# text = "


def read_sentences(path: Path = EWT_DEV, limit: int | None = None) -> list[str]:
    """The `# text = ` lines of a CoNLL-U file, in file order (the first `limit` of them, or all)."""
    sentences = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if limit is not None and len(sentences) == limit:
                break
            if line.startswith(TEXT_PREFIX):
                sentences.append(line[len(TEXT_PREFIX):].strip())
    return sentences
