"""The CoNLL-U reader: words, heads and relations kept; malformed sentences reported with line numbers."""
import pytest

from app.conllu import ConlluError, read_conllu


def row(i, form, head, deprel):
    return f"{i}\t{form}\t_\t_\t_\t_\t{head}\t{deprel}\t_\t_"


GOOD = "\n".join([
    "# sent_id = a",
    "# text = The dog barked.",
    row(1, "The", 2, "det"), row(2, "dog", 3, "nsubj"), row(3, "barked", 0, "root"), row(4, ".", 3, "punct"),
    "",
])


def test_reads_words_heads_and_relations():
    treebank = read_conllu(GOOD)
    assert treebank.problems == []
    [sentence] = treebank.sentences
    assert sentence.words == ("The", "dog", "barked", ".")
    assert sentence.heads == (2, 3, 0, 3)
    assert sentence.deprels == ("det", "nsubj", "root", "punct")
    assert sentence.sent_id == "a" and sentence.line == 1


def test_multiword_ranges_and_empty_nodes_are_skipped_and_subtypes_kept():
    text = "\n".join([
        "1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_",
        row(1, "do", 3, "aux"), row(2, "n't", 3, "advmod"),
        row(3, "go", 0, "root"),
        "3.1\tgo\t_\t_\t_\t_\t_\t_\t_\t_",
        row(4, "my", 5, "nmod:poss"), row(5, "way", 3, "obj"),
        "",
    ])
    [sentence] = read_conllu(text).sentences
    assert sentence.words == ("do", "n't", "go", "my", "way")
    assert sentence.deprels[3] == "nmod:poss"


def test_no_blank_line_at_the_end_and_windows_line_ends():
    [sentence] = read_conllu(GOOD.strip().replace("\n", "\r\n")).sentences
    assert sentence.words[-1] == "."


def bad(*lines):
    """A malformed sentence between two good ones: lines 1-7 good, then the bad one from line 8."""
    return GOOD + "\n" + "\n".join(lines) + "\n\n" + GOOD


@pytest.mark.parametrize("lines, line, words", [
    ((row(1, "Hi", 0, "root"), "2\tthere\t_\t_\t1\tdep"), 9, "columns, found 6"),
    ((row(1, "Hi", 0, "root"), row(2, "there", "x", "dep")), 9, "HEAD 'x'"),
    ((row(1, "Hi", 0, "root"), row(2, "there", 7, "dep")), 9, "HEAD 7 is outside"),
    ((row(1, "Hi", 0, "root"), row(2, "there", 0, "dep")), 9, "several roots (words 1, 2"),
    ((row(1, "a", 2, "dep"), row(2, "b", 3, "dep"), row(3, "c", 2, "dep")), 9, "cycle in the heads"),
    ((row(1, "a", 1, "dep"),), 8, "words 1 → 1"),
    ((row(1, "Hi", 0, "root"), row(3, "there", 1, "dep")), 9, "ID '3' should be the word number 2"),
    (("1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_",), 8, "no words"),
])
def test_malformed_sentences_are_reported_with_line_numbers_and_skipped(lines, line, words):
    treebank = read_conllu(bad(*lines))
    assert len(treebank.sentences) == 2          # the good ones around it are kept
    [problem] = treebank.problems
    assert problem.line == line and words in problem.message, str(problem)
    assert str(problem).startswith(f"line {line}:")


def test_cycle_names_its_words():
    treebank = read_conllu("\n".join([row(1, "a", 2, "dep"), row(2, "b", 3, "dep"), row(3, "c", 2, "dep"),
                                      row(4, "d", 0, "root")]))
    [problem] = treebank.problems
    assert "2 → 3 → 2" in problem.message and problem.line == 2


def test_non_utf8_line_is_reported_and_the_rest_kept():
    data = GOOD.encode() + b"\n" + row(1, "caf\xe9", 0, "root").encode("latin-1") + b"\n\n" + GOOD.encode()
    treebank = read_conllu(data)
    assert len(treebank.sentences) == 2
    [problem] = treebank.problems
    assert problem.line == 8 and "not UTF-8" in problem.message and "0xe9" in problem.message


@pytest.mark.parametrize("data, message", [(b"", "empty"), (b"  \n\n", "empty"),
                                           (b"# just a comment\n", "no sentences")])
def test_empty_file(data, message):
    with pytest.raises(ConlluError, match=message):
        read_conllu(data)


def test_max_sentences_counts_kept_and_skipped():
    text = bad(row(1, "a", 1, "dep"))  # good, bad, good
    treebank = read_conllu(text, max_sentences=2)
    assert len(treebank.sentences) == 1 and len(treebank.problems) == 1


def test_ewt_dev_reads_cleanly(ewt_dev):
    treebank = read_conllu(ewt_dev.read_bytes())
    assert len(treebank.sentences) == 2001 and treebank.problems == []
    # EWT writes "don't" as a range 1-2 plus two words; only the words are kept
    text = ewt_dev.read_text(encoding="utf-8")
    ranges = sum(1 for line in text.splitlines() if line.split("\t")[0].count("-") == 1)
    assert ranges > 0
    words = sum(len(s.words) for s in treebank.sentences)
    rows = sum(1 for line in text.splitlines() if line and line[0].isdigit() and line.split("\t")[0].isdigit())
    assert words == rows
