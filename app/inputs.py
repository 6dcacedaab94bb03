"""Checking what people type or upload, before the model sees it.

Plain functions, no Streamlit: each returns the cleaned value and a list of Notices (level and
text) that the sidebar shows. Nothing here raises on bad input; it says what it did instead.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from bert_core.align import encode, max_pieces

MAX_CHARS = 20_000          # longer text is cut before tokenizing (BERT reads 512 pieces anyway)
MAX_SENTENCES = 1_000       # an uploaded file offers at most this many sentences
MAX_LINK_BYTES = 8_000      # of each sentence in a shared link (512 word pieces of English take about 3,000)
TEXT_COLUMNS = ("sentence", "text")
UNLIMITED = 2**31 - 1        # a max_length no input reaches: to count every piece before truncating
_KEEP_AS_SPACE = {"\n", "\r", "\t", "\v", "\f", "\u2028", "\u2029", "\x85"}


@dataclass(frozen=True)
class Notice:
    level: str   # "error", "warning" or "info": the st.* call that shows it
    text: str


def _is_rtl(char: str) -> bool:
    return unicodedata.bidirectional(char) in ("R", "AL")


def _is_emoji(char: str) -> bool:
    # Emoji and pictographs live in the "So" category above the Basic Multilingual Plane or in Dingbats.
    return unicodedata.category(char) == "So" and (ord(char) >= 0x1F000 or 0x2600 <= ord(char) < 0x2800)


def clean_text(text: str, label: str) -> tuple[str, list[Notice]]:
    """Neutralise what the model cannot read: line breaks and tabs become spaces, other control
    and format characters (zero-width, bidi marks, NUL…) are removed, overlong text is cut.
    `label` names the field in the messages ("Sentence A")."""
    notices = []
    text = unicodedata.normalize("NFC", text)
    if len(text) > MAX_CHARS:
        notices.append(Notice("warning", f"{label} has {len(text):,} characters: only the first "
                                         f"{MAX_CHARS:,} are kept."))
        text = text[:MAX_CHARS]
    spaced = "".join(" " if c in _KEEP_AS_SPACE else c for c in text)
    kept = "".join(c for c in spaced if unicodedata.category(c) not in ("Cc", "Cf", "Cs"))
    removed = len(spaced) - len(kept)
    if removed:
        notices.append(Notice("warning", f"{label}: removed {removed} invisible control or format "
                                         "character(s) (such as NUL, zero-width or direction marks)."))
    if any(c in _KEEP_AS_SPACE for c in text.strip()):
        notices.append(Notice("info", f"{label}: line breaks and tabs were read as spaces."))
    clean = " ".join(kept.split())
    if any(_is_rtl(c) for c in clean):
        notices.append(Notice("info", f"{label} contains right-to-left text (Hebrew, Arabic…). Tokens are "
                                      "listed in reading order, left to right; an English vocabulary knows "
                                      "few of its pieces."))
    if any(_is_emoji(c) for c in clean):
        notices.append(Notice("info", f"{label} contains emoji: an English WordPiece vocabulary has "
                                      "few or none, so most become [UNK] (unknown)."))
    return clean, notices


def escape_markdown(text: str) -> str:
    """User text safe inside st.markdown: "$" would start LaTeX, "*" or "_" emphasis, "<" HTML."""
    return "".join("\\" + c if c in "\\`*_[]$<>#~|" else c for c in text)


def inline_code(text: str, limit: int = 200) -> str:
    """Text that may come from someone else's link (?model=) as a Markdown code span: nothing in it is
    read as Markdown or HTML, and no URL, www. address or e-mail in it becomes a link (Streamlit's
    Markdown links those even with their punctuation backslash-escaped). Line breaks and control
    characters, which could end the span, become spaces; over `limit` characters it is cut."""
    flat = " ".join("".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text).split())
    if len(flat) > limit:
        flat = flat[:limit] + "…"
    fence = "`" * (max(map(len, re.findall("`+", flat)), default=0) + 1)  # longer than any run inside
    return f"{fence} {flat} {fence}"


def token_notices(tokenizer, text_a: str, text_b: str) -> list[Notice]:
    """Truncation (at the tokenizer's limit, as bert_core.encode does) and unknown pieces, in plain words."""
    notices = []
    max_length = max_pieces(tokenizer)
    full = encode(tokenizer, text_a, text_b, max_length=UNLIMITED).input_ids
    if len(full) > max_length:
        notices.append(Notice("warning", f"The input is {len(full):,} word pieces long; BERT reads at most "
                                         f"{max_length}, so it was truncated to {max_length} (the end of the "
                                         "longer sentence is cut). Every page shows the truncated input."))
    unknown = sum(1 for i in full if i == tokenizer.unk_token_id)
    if unknown:
        notices.append(Notice("info", f"{unknown} piece(s) are [UNK]: characters this model's vocabulary "
                                      "does not know."))
    notices += typed_special_notices(tokenizer, text_a, text_b)
    return notices


# csv limits a field to 131,072 characters by default, and the limit is process-wide: it is
# raised once, on import, rather than on every read, so that a very long sentence is read as a
# row like any other (and a word-sense table skips it by line if its word lies beyond 512
# pieces), not as malformed CSV.
FIELD_SIZE_LIMIT = 10_000_000
csv.field_size_limit(FIELD_SIZE_LIMIT)
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
_SNIFF_CHARS = 4096


class UploadError(ValueError):
    """A file that cannot be read as text at all; the message says why."""


def upload_text(data: bytes) -> str:
    """The text of an uploaded file, read as UTF-8 (a byte-order mark dropped).

    Bytes that are not UTF-8 become lone surrogates (`undecodable_at` finds them), so that a table
    can skip just the rows that hold them. Raises UploadError for a UTF-16, binary or empty file.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UploadError("the file is UTF-16; save it as UTF-8 (CSV UTF-8 or plain text)")
    if b"\x00" in data[:8192]:
        raise UploadError("the file is binary (it contains NUL bytes), not text")
    text = data.decode("utf-8-sig", errors="surrogateescape")
    if not text.strip():
        raise UploadError("the file is empty")
    return text


def undecodable_at(text: str) -> int | None:
    """Where the first byte that is not UTF-8 lies in upload_text's text, or None."""
    return next((i for i, ch in enumerate(text) if "\udc80" <= ch <= "\udcff"), None)


def typed_special_notices(tokenizer, text_a: str, text_b: str) -> list[Notice]:
    """[MASK], [SEP], [CLS] or [PAD] typed in a sentence are read as BERT's special tokens, not as
    letters (so a typed [MASK] is the mask token, as a fill-in-the-blank page needs): say so."""
    special = {i: t for t, i in zip(tokenizer.all_special_tokens, tokenizer.all_special_ids, strict=True)
               if i != tokenizer.unk_token_id}  # [UNK] also stands for unknown characters: told above
    notices = []
    for label, text in (("Sentence A", text_a), ("Sentence B", text_b)):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"] if text else []
        typed = sorted({special[i] for i in ids if i in special})
        if typed:
            text = (f"{label} contains {', '.join(typed)} typed as text: BERT reads each as its special token "
                    "(one piece, not letters), so a typed [MASK] is the mask token; a typed [SEP] or [CLS] "
                    "also marks a sentence boundary for the model.")
            notices.append(Notice("info", escape_markdown(text)))
    return notices


def link_texts(tokenizer, text_a: str, text_b: str) -> tuple[str, str]:
    """What a shared link carries for the cleaned sentences: each cut after the last word piece the
    model reads (the rest is truncated anyway), then to MAX_LINK_BYTES of UTF-8, so that a link stays
    far below what a web server accepts however long the typed text was."""
    encoding = encode(tokenizer, text_a, text_b or None)
    texts = [text_a, text_b]
    if encoding.truncated:
        for segment, text in enumerate(texts):
            ends = [word.end for word in encoding.words if word.segment == segment]
            texts[segment] = text[:max(ends, default=0)]
    return tuple(t.encode("utf-8")[:MAX_LINK_BYTES].decode("utf-8", errors="ignore") for t in texts)


def decode_upload(name: str, data: bytes) -> tuple[str | None, list[Notice]]:
    """The file's text, or None with an error when it is not UTF-8 text (a binary file, a spreadsheet…)."""
    try:
        text = upload_text(data)
    except UploadError as err:
        return None, [Notice("error", f"{escape_markdown(name)} cannot be read: {err}. Upload a UTF-8 .txt "
                                      "(one sentence per line) or .csv file.")]
    bad = undecodable_at(text)
    if bad is not None:
        byte = len(text[:bad].encode("utf-8", errors="surrogateescape"))
        return None, [Notice("error", f"{escape_markdown(name)} is not UTF-8 text (byte {byte} cannot be read). "
                                      "Save it as UTF-8 (one sentence per line) and upload it again.")]
    return text, []


def decode_lines_leniently(name: str, data: bytes) -> tuple[str | None, list[Notice]]:
    """decode_upload, except that a text file which is not all UTF-8 (often Latin-1 or Windows-1252,
    from an older editor) is read line by line: UTF-8 lines as they are, the others as Windows-1252
    (Latin-1 for its five undefined bytes), and a warning names those lines."""
    text, notices = decode_upload(name, data)
    if text is not None or not data.strip() or b"\x00" in data[:8192]:
        return text, notices
    lines, guessed = [], []
    for number, raw in enumerate(data.removeprefix(b"\xef\xbb\xbf").split(b"\n"), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            guessed.append(number)
            lines.append(raw.decode("cp1252", errors="ignore") if _is_cp1252(raw) else raw.decode("latin-1"))
    shown = ", ".join(map(str, guessed[:10])) + (f" … and {len(guessed) - 10:,} more" if len(guessed) > 10 else "")
    return "\n".join(lines), [Notice("warning", f"{escape_markdown(name)} is not all UTF-8: line(s) {shown} were "
                                                 "read as Latin-1 (Windows-1252). Check their accents; save the "
                                                 "file as UTF-8 to be sure.")]


def _is_cp1252(raw: bytes) -> bool:
    try:
        raw.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def table_delimiter(text: str, name: str = "") -> str:
    """A table's column separator: tab for a .tsv file; otherwise comma, semicolon or tab, as
    csv.Sniffer reads the first lines; failing that, the one the header holds most of (comma if none)."""
    if name.lower().endswith(".tsv"):
        return "\t"
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[:sample.rindex("\n")]  # whole lines only: a cut line has fewer fields
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        header = text.split("\n", 1)[0]
        return max(DELIMITERS, key=header.count) if any(d in header for d in DELIMITERS) else ","


def table_reader(text: str, name: str = ""):
    """(csv reader over the table's rows, its delimiter): the one way every uploaded table is read.
    Quotes are CSV's double quotes; reader.line_num gives each row's line."""
    delimiter = table_delimiter(text, name)
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), delimiter


def read_csv(text: str, name: str = "") -> tuple[list[dict[str, str]], list[str], list[Notice]]:
    """Rows and column names of a CSV (comma, semicolon or tab separated); an error if it is malformed."""
    reader, _ = table_reader(text, name)
    try:
        header = next(reader, [])
        rows = [dict(zip(header, fields, strict=False)) for fields in reader if fields]
    except csv.Error as err:
        return [], [], [Notice("error", f"The CSV file cannot be read: {err}.")]
    columns = [c for c in header if c]
    if not columns or not rows:
        return [], [], [Notice("error", "The CSV file has no header row with column names, or no rows.")]
    return rows, columns, []


def text_column(columns: list[str]) -> str | None:
    """The column named 'sentence' or 'text' (any case), if there is one."""
    by_name = {c.strip().lower(): c for c in columns}
    return next((by_name[name] for name in TEXT_COLUMNS if name in by_name), None)


def wordiest_column(rows: list[dict[str, str]], columns: list[str]) -> str:
    """The column whose values hold the most letters: the best guess for the sentences."""
    return max(columns, key=lambda c: sum(ch.isalpha() for row in rows[:200] for ch in (row.get(c) or "")))


def sentences_from_lines(values: Iterable[str | None]) -> tuple[list[str], list[Notice]]:
    """Non-empty, cleaned sentences (at most MAX_SENTENCES) from lines or a CSV column. Lines after
    those kept are not cleaned: a large file costs no more than its first sentences."""
    sentences = []
    for value in values:
        clean, _ = clean_text(value or "", "line")
        if clean:
            sentences.append(clean)
            if len(sentences) > MAX_SENTENCES:
                break
    notices = []
    if not sentences:
        notices.append(Notice("error", "The file has no sentences (every line is empty)."))
    elif len(sentences) > MAX_SENTENCES:
        notices.append(Notice("warning", f"The file has more than {MAX_SENTENCES:,} sentences; the first "
                                         f"{MAX_SENTENCES:,} are offered."))
        sentences = sentences[:MAX_SENTENCES]
    return sentences, notices


@dataclass(frozen=True)
class UploadedSentences:
    sentences: list[str]
    notices: list[Notice]
    columns: list[str]       # a CSV's columns, to offer as choices when none is named 'sentence' or 'text'
    column: str | None       # the CSV column read (None for a .txt file)
    column_guessed: bool     # no 'sentence'/'text' column: `column` was picked or guessed; let the user choose


def sentences_from_upload(name: str, data: bytes, column: str | None = None) -> UploadedSentences:
    """Sentences of an uploaded .txt (one per line) or .csv/.tsv: its 'sentence' or 'text' column, else
    `column` (the user's choice, if the file has it), else the column holding the most letters, with a
    warning that asks the user to pick one."""
    text, notices = decode_lines_leniently(name, data)
    lines: list[str | None] = []
    columns: list[str] = []
    chosen, guessed = None, False
    if text is not None and name.lower().endswith((".csv", ".tsv")):
        rows, columns, csv_notices = read_csv(text, name)
        notices += csv_notices
        if columns:
            chosen = text_column(columns)
            if chosen is None:
                guessed = True
                chosen = column if column in columns else wordiest_column(rows, columns)
                named = escape_markdown(f"{name} (its columns: {', '.join(columns)})")
                notices.append(Notice("warning", f"No 'sentence' or 'text' column in {named}. "
                                                 "Pick the column that holds the sentences."))
            lines = [row.get(chosen) for row in rows]
    elif text is not None:
        lines = text.splitlines()
    sentences = []
    if text is not None and not any(n.level == "error" for n in notices):
        sentences, more = sentences_from_lines(lines)
        notices += more
    return UploadedSentences(sentences, notices, columns, chosen, guessed)
