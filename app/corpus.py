"""A corpus to index: sentences from text files (one per line), CoNLL-U treebanks, or a CSV/TSV column.

A corpus is a file or a folder of files (read in sorted path order, so the same folder always
numbers its sentences the same way). Sentences are numbered from 0 across the whole corpus
(`sentence_id`); `source` says where each came from ("train.conllu:1041", "notes.txt:7").

Words: a CoNLL-U sentence's words are the treebank's (with their UPOS and relation); a line of
text or a CSV cell is split by the model's own tokenizer (whitespace, then punctuation), exactly
as a sentence typed in the app's sidebar is, so a query word and a corpus word are the same kind
of thing. Plain Python, no model: app/corpus_index.py turns sentences into vectors.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from . import inputs
from .conllu import ConlluError, read_conllu

CONLLU_SUFFIXES = (".conllu", ".conll")
TABLE_SUFFIXES = (".csv", ".tsv")
TEXT_SUFFIXES = (".txt", ".text", "")
SUFFIXES = CONLLU_SUFFIXES + TABLE_SUFFIXES + TEXT_SUFFIXES


class CorpusError(ValueError):
    """A corpus with no usable sentence at all, or a path that cannot be read."""


@dataclass(frozen=True)
class CorpusSentence:
    sentence_id: int
    source: str                               # "file:line" of the sentence
    text: str                                 # as shown (a treebank's words joined by spaces)
    words: tuple[str, ...] | None = None      # a treebank's words; None: the tokenizer splits `text`
    upos: tuple[str, ...] = ()
    deprels: tuple[str, ...] = ()


@dataclass
class Corpus:
    sentences: list[CorpusSentence] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)   # skipped sentences and files, with where
    files: list[str] = field(default_factory=list)      # names, in reading order
    digest: str = ""                                     # sha256 over the files' names and bytes


def corpus_files(path: Path) -> list[Path]:
    """The files of a corpus: the file itself, or a folder's files with a known suffix, sorted."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise CorpusError(f"{path} does not exist")
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                   and not p.name.startswith("."))
    if not files:
        raise CorpusError(f"{path} holds no corpus file ({', '.join(s for s in SUFFIXES if s)})")
    return files


def _conllu_sentences(name: str, data: bytes, problems: list[str]) -> list[tuple[str, str, tuple, tuple, tuple]]:
    try:
        treebank = read_conllu(data)
    except ConlluError as err:
        problems.append(f"{name}: {err}")
        return []
    problems.extend(f"{name} {problem} (sentence skipped)" for problem in treebank.problems)
    return [(f"{name}:{s.line}", " ".join(s.words), s.words, s.upos, s.deprels) for s in treebank.sentences]


def _line_sentences(name: str, data: bytes, column: str | None, problems: list[str]) -> list[tuple]:
    """Lines of a text file, or a CSV/TSV column ('sentence' or 'text', else `column`), cleaned as the
    app cleans every upload; empty lines are skipped silently."""
    text, notices = inputs.decode_lines_leniently(name, data)
    problems.extend(n.text for n in notices if n.level != "info")
    if text is None:
        return []
    if name.lower().endswith(TABLE_SUFFIXES):
        reader, _ = inputs.table_reader(text, name)
        header = next(reader, [])
        wanted = inputs.text_column(header) or column
        if wanted not in header:
            problems.append(f"{name}: no 'sentence' or 'text' column (columns: {', '.join(header)}); "
                            "name the column to read")
            return []
        at = header.index(wanted)
        cells = [(reader.line_num, fields[at]) for fields in reader if len(fields) > at]
    else:
        cells = list(enumerate(text.splitlines(), start=1))
    out = []
    for line, value in cells:
        clean, _ = inputs.clean_text(value, "line")
        if clean:
            out.append((f"{name}:{line}", clean, None, (), ()))
    return out


def read_corpus(path: str | Path, column: str | None = None, max_sentences: int | None = None) -> Corpus:
    """Every sentence of a corpus file or folder; CorpusError when there is none at all."""
    path = Path(path)
    files = []
    for file in corpus_files(path):
        try:
            files.append((file.name if file == path else str(file.relative_to(path)), file.read_bytes()))
        except OSError as err:
            raise CorpusError(f"cannot read {file}: {err}") from err
    return read_corpus_files(files, column, max_sentences, label=str(path))


def read_corpus_files(files: list[tuple[str, bytes]], column: str | None = None, max_sentences: int | None = None,
                      label: str = "the corpus") -> Corpus:
    """Every sentence of (name, content) files, in the order given: the suffix of each name says its format."""
    corpus, digest = Corpus(), hashlib.sha256()
    for name, data in files:
        digest.update(name.encode("utf-8") + b"\0" + hashlib.sha256(data).digest())
        corpus.files.append(name)
        if name.lower().endswith(CONLLU_SUFFIXES):
            found = _conllu_sentences(name, data, corpus.problems)
        else:
            found = _line_sentences(name, data, column, corpus.problems)
        if max_sentences is not None:
            found = found[:max_sentences - len(corpus.sentences)]
        for source, text, words, upos, deprels in found:
            corpus.sentences.append(CorpusSentence(len(corpus.sentences), source, text, words, upos, deprels))
        if max_sentences is not None and len(corpus.sentences) >= max_sentences:
            digest.update(f"first {max_sentences}".encode())
            break
    corpus.digest = digest.hexdigest()
    if not corpus.sentences:
        detail = f": {corpus.problems[0]}" if corpus.problems else " (every line is empty)"
        raise CorpusError(f"{label} has no sentence to index{detail}")
    return corpus
