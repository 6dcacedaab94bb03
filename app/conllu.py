"""Reading CoNLL-U treebanks: words, heads and relations, checked, with line numbers for every problem.

Only what the syntax analyses and the corpus index need is kept: FORM, UPOS, HEAD and DEPREL of each
word. Multi-word token ranges (ID "1-2") and empty nodes (ID "1.1") are skipped, so words are the treebank's syntactic
words. A sentence with a problem (wrong column count, a bad ID or HEAD, a cycle, no root or
several roots, bytes that are not UTF-8) is reported with its line number and skipped; the
others are kept. Whole-file problems (empty, no sentences at all) raise ConlluError.
"""
from __future__ import annotations

from dataclasses import dataclass, field

COLUMNS = 10  # ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC


class ConlluError(ValueError):
    """A file that holds no usable sentence at all."""


@dataclass(frozen=True)
class Sentence:
    words: tuple[str, ...]
    heads: tuple[int, ...]      # HEAD of each word: 1-based word index, 0 for the root
    deprels: tuple[str, ...]    # DEPREL as written, subtypes kept ("nmod:poss")
    line: int                   # 1-based line where the sentence starts
    sent_id: str = ""
    upos: tuple[str, ...] = ()  # UPOS of each word ("_" where the file has none); the corpus index filters on it


@dataclass(frozen=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class Treebank:
    sentences: list[Sentence] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # one per skipped sentence


def _tree_problem(heads: list[int], lines: list[int]) -> Problem | None:
    """Head indices in range, exactly one root, no cycle; None when the tree is fine."""
    n = len(heads)
    for head, line in zip(heads, lines, strict=True):
        if not 0 <= head <= n:
            return Problem(line, f"HEAD {head} is outside the sentence (it has {n} words; 0 is the root)")
    roots = [i for i, head in enumerate(heads) if head == 0]
    if len(roots) > 1:
        words = ", ".join(str(i + 1) for i in roots)
        return Problem(lines[roots[1]], f"several roots (words {words} have HEAD 0); a tree has exactly one")
    for start in range(1, n + 1):  # with no root at all, every path ends in a cycle
        path, word = [], start
        while word != 0 and word not in path:
            path.append(word)
            word = heads[word - 1]
        if word != 0:
            cycle = path[path.index(word):] + [word]
            return Problem(lines[word - 1], "cycle in the heads (no path to the root): words "
                                            + " → ".join(map(str, cycle)))
    return None


def _sentence(block: list[tuple[int, bytes]]) -> Sentence | Problem | None:
    """One blank-line-separated block (line number, raw line) → a Sentence, a Problem, or None
    for a block of comments only."""
    words, heads, deprels, upos, lines = [], [], [], [], []
    sent_id = ""
    for number, raw in block:
        try:
            line = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as err:
            return Problem(number, f"not UTF-8 text (byte 0x{raw[err.start]:02x} at column {err.start + 1}); "
                                   "save the file as UTF-8")
        if line.startswith("#"):
            key, _, value = line[1:].partition("=")
            if key.strip() == "sent_id":
                sent_id = value.strip()
            continue
        columns = line.split("\t")
        if len(columns) != COLUMNS:
            return Problem(number, f"expected {COLUMNS} tab-separated columns, found {len(columns)}")
        token_id, form, tag, head, deprel = columns[0], columns[1], columns[3], columns[6], columns[7]
        if "-" in token_id or "." in token_id:  # multi-word token range or empty node: not a word
            continue
        if not token_id.isdigit() or int(token_id) != len(words) + 1:
            return Problem(number, f"ID {token_id!r} should be the word number {len(words) + 1}")
        if not head.isdigit():
            return Problem(number, f"HEAD {head!r} is not a word number (0 for the root)")
        words.append(form)
        heads.append(int(head))
        deprels.append(deprel)
        upos.append(tag)
        lines.append(number)
    if not words:  # comments only: not a sentence; ranges or empty nodes only: a broken one
        has_tokens = any(not raw.startswith(b"#") for _, raw in block)
        return Problem(block[0][0], "a sentence with no words") if has_tokens else None
    problem = _tree_problem(heads, lines)
    return problem or Sentence(tuple(words), tuple(heads), tuple(deprels), block[0][0], sent_id,
                                 tuple(upos))


def read_conllu(data: bytes | str, max_sentences: int | None = None) -> Treebank:
    """Parse a CoNLL-U file's content. max_sentences counts sentences read, kept or skipped.

    Raises ConlluError when the file is empty or has no sentence at all.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # UTF-8 byte-order mark
    if not raw.strip():
        raise ConlluError("the file is empty")
    treebank, block, seen = Treebank(), [], 0
    for number, line in enumerate(raw.split(b"\n") + [b""], start=1):
        if line.strip(b"\r \t"):
            block.append((number, line))
            continue
        if not block:
            continue
        parsed, block = _sentence(block), []
        if parsed is None:
            continue
        seen += 1
        (treebank.sentences if isinstance(parsed, Sentence) else treebank.problems).append(parsed)
        if max_sentences is not None and seen >= max_sentences:
            break
    if not treebank.sentences and not treebank.problems:
        raise ConlluError("no sentences found: a CoNLL-U file has one line per word, 10 tab-separated "
                          "columns, and a blank line after each sentence")
    return treebank
