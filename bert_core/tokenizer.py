"""The checkpoint's own tokenizer, through the `tokenizers` library alone: BERT's WordPiece, and the
family's byte-level BPE (RoBERTa's "Ġ") and SentencePiece Unigram (ALBERT's and XLM-R's "▁"), whatever
its tokenizer.json describes. (The class keeps the name WordPieceTokenizer it had when BERT was all.)

Importing transformers only to tokenize costs over a second at start-up, so this builds the same
fast tokenizer transformers does and offers the part of its interface this project uses:

    tokenizer = WordPieceTokenizer.from_folder(folder)   # tokenizer.json, or vocab.txt + tokenizer_config.json
    batch = tokenizer(["I love Python"], ["So do I"], padding=True, truncation=True, return_tensors="pt")
    batch["input_ids"], batch.word_ids(0), batch.encodings[0].overflowing

One tokenizer serves every session of the app at once (threads), so the backend is never changed
after loading: each truncation setting gets its own copy, and padding is done on the encodings.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

from tokenizers import AddedToken, Encoding, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import WordPiece

NO_LIMIT = int(1e30)  # transformers' model_max_length when tokenizer_config.json gives none
SPECIAL_TOKENS = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
                  "mask_token": "[MASK]"}
# The special tokens of transformers' tokenizer class for each model_type, used where a checkpoint
# has no tokenizer_config.json or special_tokens_map.json to say (roberta-base has neither).
FAMILY_SPECIAL_TOKENS = {
    "roberta": {"unk_token": "<unk>", "sep_token": "</s>", "pad_token": "<pad>", "cls_token": "<s>",
                "mask_token": "<mask>"},
    "xlm-roberta": {"unk_token": "<unk>", "sep_token": "</s>", "pad_token": "<pad>", "cls_token": "<s>",
                    "mask_token": "<mask>"},
    "albert": {"unk_token": "<unk>", "sep_token": "[SEP]", "pad_token": "<pad>", "cls_token": "[CLS]",
               "mask_token": "[MASK]"},
}
TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second")


class BatchEncoding(dict):
    """The model inputs by name (lists, or tensors with return_tensors="pt"), plus the encodings
    they came from, as transformers' BatchEncoding."""

    def __init__(self, data: dict, encodings: list[Encoding]):
        super().__init__(data)
        self.encodings = encodings

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        return self.encodings[batch_index].word_ids

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        return self.encodings[batch_index].sequence_ids

    def tokens(self, batch_index: int = 0) -> list[str]:
        return self.encodings[batch_index].tokens

    def to(self, device) -> BatchEncoding:
        """The tensors moved to `device` (in place, returning self, as transformers does)."""
        for name, value in self.items():
            if hasattr(value, "to"):
                self[name] = value.to(device)
        return self


class WordPieceTokenizer:
    """A BERT WordPiece tokenizer called like transformers' fast one (see the module docstring)."""

    def __init__(self, backend: Tokenizer, special_tokens: dict[str, str], model_max_length: int = NO_LIMIT):
        backend.no_truncation()  # a tokenizer.json may carry its own; every call says what it wants
        backend.no_padding()
        self._backend = backend
        self._truncating: dict[tuple[int, str], Tokenizer] = {}
        self._lock = threading.Lock()
        self.model_max_length = model_max_length
        for name, token in special_tokens.items():
            setattr(self, name, token)
            setattr(self, f"{name}_id", backend.token_to_id(token))
        self.all_special_tokens = list(dict.fromkeys(special_tokens.values()))
        self.all_special_ids = [backend.token_to_id(token) for token in self.all_special_tokens]

    @classmethod
    def from_folder(cls, folder: str | Path) -> WordPieceTokenizer:
        """The tokenizer of a checkpoint folder: its tokenizer.json when it has one, otherwise built from
        vocab.txt as transformers builds it. Raises OSError or ValueError for files it cannot use."""
        folder = Path(folder)
        config = _read_json(folder / "tokenizer_config.json")
        model_type = _read_json(folder / "config.json").get("model_type")
        defaults = FAMILY_SPECIAL_TOKENS.get(model_type, SPECIAL_TOKENS)
        special = {name: _token_text(config.get(name, default)) for name, default in defaults.items()}
        mapped = _read_json(folder / "special_tokens_map.json")
        special.update({name: _token_text(value) for name, value in mapped.items() if name in SPECIAL_TOKENS})
        if (folder / "tokenizer.json").is_file():
            backend = Tokenizer.from_file(str(folder / "tokenizer.json"))
        else:
            backend = _from_vocab(folder / "vocab.txt", config, special)
        return cls(backend, special, int(config.get("model_max_length") or NO_LIMIT))

    # What transformers' tokenizers answer ------------------------------------------------------------

    @property
    def backend_tokenizer(self) -> Tokenizer:
        return self._backend

    @property
    def vocab_size(self) -> int:
        """The WordPiece vocabulary, without added tokens."""
        return self._backend.get_vocab_size(with_added_tokens=False)

    def __len__(self) -> int:
        return self._backend.get_vocab_size(with_added_tokens=True)

    @property
    def is_fast(self) -> bool:
        return True

    def convert_ids_to_tokens(self, ids, skip_special_tokens: bool = False):
        """A token for an id, a list of tokens for a list (or 1-D tensor) of ids."""
        if isinstance(ids, int):
            return self._backend.id_to_token(ids)
        tokens = [self._backend.id_to_token(int(i)) for i in ids]
        return [t for t in tokens if t not in self.all_special_tokens] if skip_special_tokens else tokens

    def convert_tokens_to_ids(self, tokens: str | Sequence[str]):
        """An id for a token, a list for a list; tokens outside the vocabulary get unk_token_id."""
        if isinstance(tokens, str):
            found = self._backend.token_to_id(tokens)
            return self.unk_token_id if found is None else found
        return [self.convert_tokens_to_ids(t) for t in tokens]

    def save_pretrained(self, folder: str | Path) -> None:
        """tokenizer.json, vocab.txt, tokenizer_config.json and special_tokens_map.json, which this class
        and transformers' AutoTokenizer both load."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self._backend.save(str(folder / "tokenizer.json"))
        vocab = self._backend.get_vocab(with_added_tokens=False)
        (folder / "vocab.txt").write_text("".join(t + "\n" for t in sorted(vocab, key=vocab.get)), encoding="utf-8")
        special = {name: getattr(self, name) for name in SPECIAL_TOKENS}
        normalizer = json.loads(self._backend.to_str()).get("normalizer") or {}
        config = {"tokenizer_class": "BertTokenizer", "model_max_length": self.model_max_length,
                  "do_lower_case": normalizer.get("lowercase", True), "strip_accents": normalizer.get("strip_accents"),
                  "tokenize_chinese_chars": normalizer.get("handle_chinese_chars", True), **special}
        (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
        (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=1), encoding="utf-8")

    # Encoding -------------------------------------------------------------------------------------------

    def __call__(self, text, text_pair=None, *, padding: bool | str = False, truncation: bool | str | None = None,
                 max_length: int | None = None, return_tensors: str | None = None, is_split_into_words: bool = False,
                 add_special_tokens: bool = True,
                 return_offsets_mapping: bool = False, return_special_tokens_mask: bool = False,
                 return_attention_mask: bool = True, return_token_type_ids: bool = True) -> BatchEncoding:
        """Encode a text (or pre-split words) or a batch of them, with an optional second sentence each.
        A single input gives flat lists (tensors still get a batch dimension), a batch lists of lists."""
        batched = _is_batch(text, is_split_into_words)
        if not batched and not text_pair:
            text_pair = None  # as transformers: an empty second text alone is no second text
        texts = list(text) if batched else [text]
        if text_pair is not None:
            pairs = list(text_pair) if batched else [text_pair]
            if len(pairs) != len(texts):
                raise ValueError(f"{len(texts)} texts but {len(pairs)} text pairs")
            inputs = list(zip(texts, pairs, strict=True))
        else:
            inputs = texts
        backend = self._backend_for(truncation, max_length, padding, is_split_into_words)
        encodings = backend.encode_batch(inputs, is_pretokenized=is_split_into_words,
                                         add_special_tokens=add_special_tokens)
        self._pad(encodings, padding, max_length)

        columns = {"input_ids": [e.ids for e in encodings]}
        if return_token_type_ids:
            columns["token_type_ids"] = [e.type_ids for e in encodings]
        if return_attention_mask:
            columns["attention_mask"] = [e.attention_mask for e in encodings]
        if return_offsets_mapping:
            columns["offset_mapping"] = [e.offsets for e in encodings]
        if return_special_tokens_mask:
            columns["special_tokens_mask"] = [e.special_tokens_mask for e in encodings]
        if return_tensors == "pt":
            columns = {name: _tensor(name, rows) for name, rows in columns.items()}
        elif return_tensors is not None:
            raise ValueError(f"return_tensors={return_tensors!r}: only 'pt' (PyTorch) is supported")
        elif not batched:
            columns = {name: rows[0] for name, rows in columns.items()}
        return BatchEncoding(columns, encodings)

    def _backend_for(self, truncation, max_length: int | None, padding, words: bool = False) -> Tokenizer:
        """The backend that truncates as asked: the shared one when nothing is cut, else a copy per setting,
        made once (changing the shared one while another thread encodes would race). For pre-split words,
        a byte-level BPE marks each word with its leading space ("Ġ"), as transformers does with
        add_prefix_space=True (which it requires there): otherwise every word but the first would be
        tokenized as if glued to the one before."""
        if truncation is None:  # transformers: a max_length alone means "longest_first", unless it is for padding
            truncation = max_length is not None and padding in (False, None, "do_not_pad")
        prefix = words and _byte_level_without_prefix_space(self._backend)
        if truncation in (False, "do_not_truncate"):
            limit, strategy = NO_LIMIT, None
        else:
            strategy = "longest_first" if truncation is True else truncation
            if strategy not in TRUNCATION_STRATEGIES:
                raise ValueError(f"truncation={truncation!r}: use True, False or one of "
                                 f"{', '.join(TRUNCATION_STRATEGIES)}")
            limit = max_length if max_length is not None else self.model_max_length
        if limit >= NO_LIMIT and not prefix:
            return self._backend
        with self._lock:
            copy = self._truncating.get((limit, strategy, prefix))
            if copy is None:
                copy = Tokenizer.from_str(_with_prefix_space(self._backend.to_str()) if prefix
                                          else self._backend.to_str())
                if limit < NO_LIMIT:
                    copy.enable_truncation(limit, strategy=strategy)
                self._truncating[(limit, strategy, prefix)] = copy
        return copy

    def _pad(self, encodings: list[Encoding], padding, max_length: int | None) -> None:
        if padding in (False, None, "do_not_pad"):
            return
        if padding in (True, "longest"):
            length = max(len(e) for e in encodings)
        elif padding == "max_length":
            length = max_length if max_length is not None else self.model_max_length
        else:
            raise ValueError(f"padding={padding!r}: use True, False, 'longest' or 'max_length'")
        for encoding in encodings:  # fresh objects of this call: padding them in place is safe
            encoding.pad(length, pad_id=self.pad_token_id, pad_type_id=0, pad_token=self.pad_token)


def _from_vocab(path: Path, config: dict, special: dict[str, str]) -> Tokenizer:
    """A vocab.txt tokenizer built as transformers' BertTokenizer builds it: BERT's normalizer and
    pre-tokenizer with tokenizer_config.json's settings, WordPiece, [CLS] A [SEP] (B [SEP])."""
    if not path.is_file():
        raise OSError(f"{path.parent} has neither tokenizer.json nor vocab.txt")
    with open(path, encoding="utf-8") as lines:
        vocab = {line.rstrip("\n"): index for index, line in enumerate(lines)}  # a repeated token: its last id
    backend = Tokenizer(WordPiece(vocab, unk_token=special["unk_token"], max_input_chars_per_word=100))
    backend.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=config.get("tokenize_chinese_chars", True),
        strip_accents=config.get("strip_accents"), lowercase=config.get("do_lower_case", True))
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece(prefix="##")
    backend.add_special_tokens([AddedToken(token, special=True, normalized=False)
                                for token in dict.fromkeys(special.values())])
    cls, sep = special["cls_token"], special["sep_token"]
    backend.post_processor = processors.TemplateProcessing(
        single=f"{cls}:0 $A:0 {sep}:0", pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
        special_tokens=[(cls, backend.token_to_id(cls)), (sep, backend.token_to_id(sep))])
    return backend


def _byte_level_without_prefix_space(backend: Tokenizer) -> bool:
    """Whether the pre-tokenizer is (or contains) a ByteLevel one that adds no leading space."""
    if backend.pre_tokenizer is None:
        return False
    return any(node.get("type") == "ByteLevel" and not node.get("add_prefix_space")
               for node in _nodes(json.loads(backend.pre_tokenizer.__getstate__())))


def _with_prefix_space(text: str) -> str:
    """tokenizer.json text with add_prefix_space on in its ByteLevel pre-tokenizer and post-processor."""
    data = json.loads(text)
    for node in [*_nodes(data.get("pre_tokenizer")), *_nodes(data.get("post_processor"))]:
        if node.get("type") in ("ByteLevel", "RobertaProcessing") and "add_prefix_space" in node:
            node["add_prefix_space"] = True
    return json.dumps(data)


def _nodes(tree):
    """Every JSON object in a tokenizer component's description (a Sequence nests its steps)."""
    if isinstance(tree, dict):
        yield tree
        for value in tree.values():
            yield from _nodes(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _nodes(value)


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _token_text(value) -> str:
    """special_tokens_map.json writes a token as its text or as an AddedToken's fields."""
    return value["content"] if isinstance(value, dict) else str(value)


def _is_batch(text, is_split_into_words: bool) -> bool:
    if isinstance(text, str):
        return False
    if not isinstance(text, (list, tuple)):
        raise TypeError(f"text must be a str or a list of str, not {type(text).__name__}")
    # Pre-split words: one sentence is a list of str, a batch a list of such lists.
    return not is_split_into_words or (len(text) > 0 and not isinstance(text[0], str))


def _tensor(name: str, rows: list[list]):
    import torch

    if len({len(r) for r in rows}) > 1:
        raise ValueError(f"cannot make one tensor of {name} rows of different lengths: pass padding=True")
    return torch.tensor(rows, dtype=torch.long)
