"""bench/ewt.py: the one EWT dev path and its sentence reader, shared by bench/ and the tests."""
from app.conllu import read_conllu
from bench.ewt import EWT_DEV, read_sentences
from tests import conftest


def test_the_fixture_reads_the_shared_path(ewt_dev):
    assert ewt_dev == EWT_DEV == conftest.EWT_DEV and EWT_DEV.is_file()


def test_read_sentences_gives_each_sentence_text_in_file_order(ewt_dev):
    sentences = read_sentences(ewt_dev)
    treebank = read_conllu(ewt_dev.read_bytes())
    assert len(sentences) == len(treebank.sentences) == 2001
    # the text of a sentence is its words with spaces between some of them (an independent reading)
    for text, sentence in zip(sentences, treebank.sentences, strict=True):
        assert text == text.strip() and text.replace(" ", "") == "".join(sentence.words)
    assert read_sentences(ewt_dev, 5) == sentences[:5]
    assert read_sentences(ewt_dev, 0) == []


def test_read_sentences_strips_line_ends_of_any_kind(tmp_path):
    path = tmp_path / "two.conllu"
    path.write_bytes(b"# sent_id = 1\r\n# text = Hello there.\r\n1\tHello\r\n\r\n# text = Bye.  \n1\tBye\n\n")
    assert read_sentences(path) == ["Hello there.", "Bye."]


def test_bench_imports_nothing_from_tests():
    import ast

    for script in sorted((conftest.ROOT / "bench").glob("*.py")):
        tree = ast.parse(script.read_text(encoding="utf-8"))
        imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        assert not [name for name in imported if name == "tests" or name.startswith("tests.")], script.name
