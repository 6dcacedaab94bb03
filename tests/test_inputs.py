"""Checking typed and uploaded text (app/inputs.py): what is cleaned, and what the user is told."""

from app import inputs


def levels(notices):
    return [n.level for n in notices]


def test_plain_text_passes_unchanged_and_silently():
    assert inputs.clean_text("I love my pet Python", "Sentence A") == ("I love my pet Python", [])


def test_control_and_zero_width_characters_are_removed_and_announced():
    clean, notices = inputs.clean_text("a\x00b\u200bc\x1bd", "Sentence A")
    assert clean == "abcd"
    assert levels(notices) == ["warning"] and "removed 3" in notices[0].text


def test_line_breaks_and_tabs_become_single_spaces():
    clean, notices = inputs.clean_text("one\ntwo\t\tthree\r\n", "Sentence B")
    assert clean == "one two three"
    assert any("line breaks" in n.text for n in notices)


def test_emoji_and_right_to_left_text_are_kept_and_explained():
    clean, notices = inputs.clean_text("I love 🐍 שלום", "Sentence A")
    assert clean == "I love 🐍 שלום"
    texts = " ".join(n.text for n in notices)
    assert "emoji" in texts and "right-to-left" in texts


def test_very_long_text_is_cut_with_a_warning():
    clean, notices = inputs.clean_text("word " * 10_000, "Sentence A")
    assert len(clean) <= inputs.MAX_CHARS
    assert "warning" in levels(notices) and "50,000 characters" in notices[0].text


def test_whitespace_only_is_empty():
    assert inputs.clean_text(" \n\t\x00 ", "Sentence A")[0] == ""


def test_token_notices_announce_truncation_and_unknown_pieces(default_model):
    _, tokenizer = default_model
    notices = inputs.token_notices(tokenizer, "word " * 600, "")
    assert any(n.level == "warning" and "602 word pieces" in n.text for n in notices)  # 600 + [CLS] + [SEP]
    assert inputs.token_notices(tokenizer, "short", "") == []
    unknown = inputs.token_notices(tokenizer, "I love 🐍", "")
    assert any("1 piece(s) are [UNK]" in n.text for n in unknown)


def test_binary_non_utf8_and_empty_uploads_are_refused_clearly():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    assert inputs.decode_upload("cat.txt", png)[0] is None
    assert "binary" in inputs.decode_upload("cat.txt", png)[1][0].text
    text, notices = inputs.decode_upload("old.txt", "café crème\n".encode("latin-1"))
    assert text is None and "not UTF-8" in notices[0].text
    assert inputs.decode_upload("empty.txt", b"  \n")[1][0].level == "error"


def test_utf8_with_bom_is_read():
    assert inputs.decode_upload("a.txt", "\ufeffhello\n".encode("utf-8"))[0] == "hello\n"


def test_csv_columns_found_by_name_or_guessed():
    rows, columns, notices = inputs.read_csv("id;Sentence\n1;The cat sat.\n2;A dog ran.\n")
    assert notices == [] and columns == ["id", "Sentence"]
    assert inputs.text_column(columns) == "Sentence"
    rows, columns, _ = inputs.read_csv("id,words,label\n1,Hello there friend,x\n2,Good night,y\n")
    assert inputs.text_column(columns) is None
    assert inputs.wordiest_column(rows, columns) == "words"


def test_malformed_csv_gets_an_error():
    assert levels(inputs.read_csv("")[2]) == ["error"]
    assert levels(inputs.read_csv("only_a_header\n")[2]) == ["error"]


def test_sentences_from_lines_drop_blanks_and_cap_the_count():
    sentences, notices = inputs.sentences_from_lines(["  first ", "", None, "second\x00"])
    assert sentences == ["first", "second"] and notices == []
    many, notices = inputs.sentences_from_lines([f"s{i}" for i in range(inputs.MAX_SENTENCES + 5)])
    assert len(many) == inputs.MAX_SENTENCES and levels(notices) == ["warning"]
    assert levels(inputs.sentences_from_lines(["", "  "])[1]) == ["error"]


def test_escape_markdown_neutralises_latex_emphasis_and_html():
    assert inputs.escape_markdown("costs $5 and $6") == "costs \\$5 and \\$6"
    assert inputs.escape_markdown("*bold* <b>") == "\\*bold\\* \\<b\\>"
    assert inputs.escape_markdown("plain words") == "plain words"


def test_upload_reads_lines_a_named_column_or_the_column_the_user_picks():
    txt = inputs.sentences_from_upload("mine.txt", b"The cat sat.\n\nA dog ran.\n")
    assert txt.sentences == ["The cat sat.", "A dog ran."] and txt.notices == [] and txt.column is None
    named = inputs.sentences_from_upload("mine.csv", b"id,Text\n1,The cat sat.\n2,A dog ran.\n")
    assert named.sentences == ["The cat sat.", "A dog ran."] and not named.column_guessed
    data = b"id,words,label\n1,Hello there friend,x\n2,Good night,y\n"
    guessed = inputs.sentences_from_upload("mine.csv", data)
    assert guessed.column_guessed and guessed.column == "words" and guessed.columns == ["id", "words", "label"]
    assert guessed.sentences == ["Hello there friend", "Good night"]
    assert levels(guessed.notices) == ["warning"] and "Pick the column" in guessed.notices[0].text
    picked = inputs.sentences_from_upload("mine.csv", data, column="label")
    assert picked.column == "label" and picked.sentences == ["x", "y"]
    assert inputs.sentences_from_upload("mine.csv", data, column="gone").column == "words"  # a previous file's column


def test_unusable_uploads_give_errors_and_no_sentences():
    for name, data in [("bad.txt", b"\x89PNG\x00\x00"), ("head.csv", b"only_a_header\n"), ("blank.txt", b"\n \n")]:
        upload = inputs.sentences_from_upload(name, data)
        assert upload.sentences == [] and "error" in levels(upload.notices), name


def test_every_upload_is_decoded_by_one_rule():
    assert "UTF-16" in inputs.decode_upload("u.txt", "hello\n".encode("utf-16"))[1][0].text
    text = inputs.upload_text(b"ok,line\nbad caf\xe9\n")             # a table keeps the rest and skips the row
    assert inputs.undecodable_at(text) == text.index("caf") + 3 and inputs.undecodable_at("fine") is None
    _, notices = inputs.decode_upload("latin.txt", b"ok\ncaf\xe9\n")
    assert "byte 6 cannot be read" in notices[0].text


def test_the_delimiter_is_sniffed_among_comma_semicolon_and_tab():
    assert inputs.table_delimiter("a;b\n1;2, 3\n") == ";"
    assert inputs.table_delimiter("a\tb\n1\t2, 3; 4\n") == "\t"
    assert inputs.table_delimiter('a,b\n"1;2",3\n') == ","
    assert inputs.table_delimiter("a,b\n", "x.tsv") == "\t" and inputs.table_delimiter("sentence\n") == ","


def test_a_blank_sentence_b_is_no_sentence_b(default_model):
    _, tokenizer = default_model
    long_a = "word " * 600
    assert [n.text for n in inputs.token_notices(tokenizer, long_a, "  ")] == \
        [n.text for n in inputs.token_notices(tokenizer, long_a, "")]


def test_a_latin1_file_is_read_line_by_line_and_the_guessed_lines_named():
    data = "caf\u00e9 cr\u00e8me\nplain line\nna\u00efve \u2013 ok\n".encode("latin-1", errors="replace")
    data = data.replace(b"?", "\u2013".encode())                      # line 3 is valid UTF-8 (an en dash)...
    data = data.replace("na\u00efve".encode("latin-1"), "na\u00efve".encode())  # ...and so is its word
    upload = inputs.sentences_from_upload("old.txt", data)
    assert upload.sentences == ["caf\u00e9 cr\u00e8me", "plain line", "na\u00efve \u2013 ok"]
    assert levels(upload.notices) == ["warning"]
    assert "line(s) 1 were read as Latin-1" in upload.notices[0].text and "old.txt" in upload.notices[0].text
    many = b"".join(b"line %d caf\xe9\n" % i for i in range(30))
    text, notices = inputs.decode_lines_leniently("many.txt", many)
    assert text.splitlines()[29] == "line 29 caf\u00e9"
    assert "1, 2, 3, 4, 5, 6, 7, 8, 9, 10 \u2026 and 20 more" in notices[0].text
    assert inputs.decode_lines_leniently("b.txt", b"\x89PNG\x00\x00")[0] is None   # binary: still refused


def test_upload_file_names_are_escaped_in_messages():
    text, notices = inputs.decode_upload("[click](https://x).txt", b" ")
    assert text is None and notices[0].text.startswith("\\[click\\](https://x).txt")


def test_only_the_kept_lines_of_a_large_file_are_cleaned(monkeypatch):
    cleaned = []
    real = inputs.clean_text
    monkeypatch.setattr(inputs, "clean_text", lambda text, label: cleaned.append(text) or real(text, label))
    upload = inputs.sentences_from_upload("big.txt", b"a sentence\n" * 50_000)
    assert len(upload.sentences) == inputs.MAX_SENTENCES and len(cleaned) == inputs.MAX_SENTENCES + 1
    assert "more than 1,000 sentences" in upload.notices[0].text


def test_inline_code_keeps_untrusted_text_out_of_markdown():
    assert inputs.inline_code("![x](http://example.invalid/p.png)") == "` ![x](http://example.invalid/p.png) `"
    assert inputs.inline_code("a `tick` and ``two``") == "``` a `tick` and ``two`` ```"  # a longer fence
    assert inputs.inline_code("one\n\n![x](http://e)\x00two") == "` one ![x](http://e) two `"  # no paragraph break
    assert inputs.inline_code("x" * 500, limit=10) == "` xxxxxxxxxx\u2026 `"


def test_typed_special_tokens_are_read_as_special_tokens_and_announced(default_model):
    _, tokenizer = default_model
    notices = inputs.token_notices(tokenizer, "The [MASK] sat on [PAD]", "A [SEP] b")
    infos = [n.text for n in notices if n.level == "info"]
    assert any(t.startswith("Sentence A contains \\[MASK\\], \\[PAD\\] typed as text") for t in infos), infos
    assert any(t.startswith("Sentence B contains \\[SEP\\]") for t in infos)
    assert inputs.token_notices(tokenizer, "the [mask] is lower case", "") == []  # not a special token: letters


def test_link_texts_carry_what_the_model_reads(default_model):
    _, tokenizer = default_model
    assert inputs.link_texts(tokenizer, "The cat sat.", "") == ("The cat sat.", "")
    long_a, long_b = inputs.link_texts(tokenizer, "word " * 20_000, "other " * 100)
    pieces = len(tokenizer(long_a, long_b)["input_ids"])
    assert pieces == 512 and len(long_a) < 5_000                       # what the model read, no more
    wide, _ = inputs.link_texts(tokenizer, "\u4e2d" * 20_000, "")    # 3 bytes a character
    assert len(wide.encode()) <= inputs.MAX_LINK_BYTES
