"""Random-weight checkpoints of the BERT family for tests, each with a tokenizer of its own kind trained
offline on a few sentences (WordPiece for BERT, DistilBERT, ELECTRA; byte-level BPE for RoBERTa;
SentencePiece-style Unigram for ALBERT and XLM-RoBERTa). Nothing is downloaded.

    hf_model = make_checkpoint(tmp_path / "ckpt", "albert", "tiny")   # AlbertForPreTraining, saved
    model, tokenizer = bert_core.load_pretrained(tmp_path / "ckpt", device="cpu")
"""
from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

CORPUS = [
    "The cat sat on the mat.", "A dog chased the cat across the garden!", "Where did the dog go?",
    "She sold sea shells by the sea shore, and he bought them.", "I love my pet Python; it is quiet.",
    "The bank of the river was muddy after the rain.", "He went to the bank to deposit money.",
    "Café Dupont serves coffee, tea and croissants every morning.", "Nobody knows why the mat was wet.",
    "Dogs and cats rarely agree on anything, but they both like sleeping in the sun.",
    "My sister's friends didn't come to the party on Saturday.", "Reading books makes people think.",
]


@dataclass(frozen=True)
class Family:
    model_type: str
    config_class: type
    base_class: type            # the encoder alone (pooler where the family has one)
    pretraining_class: type     # the encoder with its pre-training heads
    tokenizer: str              # "wordpiece", "bpe" or "unigram"
    specials: dict              # cls/sep/pad/unk/mask tokens, as transformers' tokenizer class names them


BERT_SPECIALS = {"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]",
                 "mask_token": "[MASK]"}
ROBERTA_SPECIALS = {"cls_token": "<s>", "sep_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>",
                    "mask_token": "<mask>"}
ALBERT_SPECIALS = {"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "<pad>", "unk_token": "<unk>",
                   "mask_token": "[MASK]"}

FAMILIES = {
    "bert": Family("bert", transformers.BertConfig, transformers.BertModel, transformers.BertForPreTraining,
                   "wordpiece", BERT_SPECIALS),
    "roberta": Family("roberta", transformers.RobertaConfig, transformers.RobertaModel,
                      transformers.RobertaForMaskedLM, "bpe", ROBERTA_SPECIALS),
    "xlm-roberta": Family("xlm-roberta", transformers.XLMRobertaConfig, transformers.XLMRobertaModel,
                          transformers.XLMRobertaForMaskedLM, "unigram", ROBERTA_SPECIALS),
    "distilbert": Family("distilbert", transformers.DistilBertConfig, transformers.DistilBertModel,
                         transformers.DistilBertForMaskedLM, "wordpiece", BERT_SPECIALS),
    "albert": Family("albert", transformers.AlbertConfig, transformers.AlbertModel,
                     transformers.AlbertForPreTraining, "unigram", ALBERT_SPECIALS),
    "electra": Family("electra", transformers.ElectraConfig, transformers.ElectraModel,
                      transformers.ElectraForPreTraining, "wordpiece", BERT_SPECIALS),
}
FAMILY_NAMES = tuple(FAMILIES)

# (layers, hidden, heads, intermediate, embedding size for ALBERT/ELECTRA); "small" differs in every
# switch it can: ALBERT with two layer groups, ELECTRA without a projection (E = H), DistilBERT sinusoidal.
SIZES = {"tiny": (2, 32, 4, 37, 16), "small": (4, 48, 6, 64, 48), "base": (12, 768, 12, 3072, 128)}
MAX_POSITIONS = 128


def special_list(family: Family) -> list[str]:
    """The special tokens in vocabulary order, ids as in the real checkpoints ([PAD] 0 for BERT; <s> <pad> </s>
    <unk> 0…3 for RoBERTa, as fairseq numbered them)."""
    s = family.specials
    if family.specials is ROBERTA_SPECIALS:
        return [s["cls_token"], s["pad_token"], s["sep_token"], s["unk_token"], s["mask_token"]]
    return [s["pad_token"], s["unk_token"], s["cls_token"], s["sep_token"], s["mask_token"]]


@functools.cache
def _trained(kind: str, model_type: str, vocab_size: int) -> str:
    """A tokenizer trained on CORPUS, as tokenizer.json text (cached: training takes a few milliseconds)."""
    names = FAMILIES[model_type].specials
    specials = special_list(FAMILIES[model_type])
    unk, cls, sep = names["unk_token"], names["cls_token"], names["sep_token"]
    if kind == "wordpiece":
        tokenizer = Tokenizer(models.WordPiece(unk_token=unk))
        tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tokenizer.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=list(specials))
    elif kind == "bpe":
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(specials),
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    else:  # SentencePiece's Unigram, with its "▁" word marker; ALBERT lower-cases, XLM-R does not
        tokenizer = Tokenizer(models.Unigram())
        steps = [normalizers.Replace("``", '"'), normalizers.Replace("''", '"')]
        if model_type == "albert":
            steps += [normalizers.NFKD(), normalizers.StripAccents(), normalizers.Lowercase()]
        tokenizer.normalizer = normalizers.Sequence(steps)
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
        tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
        trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=list(specials), unk_token=unk)
    tokenizer.train_from_iterator(CORPUS, trainer)
    ids = {token: tokenizer.token_to_id(token) for token in specials}
    if kind == "bpe":  # RoBERTa's: <s> A </s></s> B </s>, one segment
        tokenizer.post_processor = processors.RobertaProcessing((sep, ids[sep]), (cls, ids[cls]),
                                                                add_prefix_space=False, trim_offsets=True)
    elif model_type == "xlm-roberta":
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{cls} $A {sep}", pair=f"{cls} $A {sep} {sep} $B {sep}",
            special_tokens=[(cls, ids[cls]), (sep, ids[sep])])
    else:
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{cls}:0 $A:0 {sep}:0", pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
            special_tokens=[(cls, ids[cls]), (sep, ids[sep])])
    return tokenizer.to_str()


def save_tokenizer(folder: Path, model_type: str, *, config_file: bool = True) -> Tokenizer:
    """The family's kind of tokenizer, trained, saved as tokenizer.json (+ tokenizer_config.json with
    its special tokens, as transformers writes it; roberta-base on the hub has none)."""
    family = FAMILIES[model_type]
    tokenizer = Tokenizer.from_str(_trained(family.tokenizer, model_type, 160))
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    if config_file:
        config = {"model_max_length": MAX_POSITIONS, **family.specials}
        (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return tokenizer


def hf_config(model_type: str, size: str, vocab_size: int):
    family = FAMILIES[model_type]
    layers, hidden, heads, intermediate, embedding = SIZES[size]
    common = dict(vocab_size=vocab_size, max_position_embeddings=MAX_POSITIONS)
    if model_type == "distilbert":
        return family.config_class(n_layers=layers, dim=hidden, n_heads=heads, hidden_dim=intermediate,
                                   sinusoidal_pos_embds=size == "small", pad_token_id=0, **common)
    values = dict(num_hidden_layers=layers, hidden_size=hidden, num_attention_heads=heads,
                  intermediate_size=intermediate, **common)
    if model_type in ("roberta", "xlm-roberta"):
        values.update(pad_token_id=1, max_position_embeddings=MAX_POSITIONS + 2, type_vocab_size=1,
                      bos_token_id=0, eos_token_id=2)
    elif model_type == "albert":
        values.update(embedding_size=embedding, num_hidden_groups=2 if size == "small" else 1, pad_token_id=0)
    elif model_type == "electra":
        values.update(embedding_size=embedding, pad_token_id=0)
    else:
        values.update(pad_token_id=0)
    return family.config_class(**values)


def randomize(model: torch.nn.Module, seed: int) -> None:
    """Every parameter random and distinct (init leaves biases 0 and LayerNorm 1, which would hide mix-ups)."""
    generator = torch.Generator().manual_seed(seed)
    norms = {name for name, module in model.named_modules() if isinstance(module, torch.nn.LayerNorm)}
    with torch.no_grad():
        for name, p in model.named_parameters():
            if getattr(model.config, "sinusoidal_pos_embds", False) and "position_embeddings" in name:
                continue  # DistilBERT's fixed sinusoidal table stays as it is
            noise = torch.randn(p.shape, generator=generator)
            if name.rpartition(".")[0] in norms and name.endswith("weight"):
                p.copy_(1 + 0.2 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            else:  # weights scaled by fan-in so activations stay O(1) at any width
                p.copy_(noise / math.sqrt(p.shape[-1]))


def make_checkpoint(folder: Path, model_type: str, size: str = "tiny", *, fmt: str = "safetensors",
                    pretraining: bool = True, seed: int = 1, tokenizer_config: bool = True):
    """A random-weight checkpoint saved with save_pretrained (.bin: torch.save of the state dict, as
    transformers 4 wrote it), with its tokenizer; returns the transformers model (eval, eager attention)."""
    family = FAMILIES[model_type]
    tokenizer = save_tokenizer(folder, model_type, config_file=tokenizer_config)
    config = hf_config(model_type, size, tokenizer.get_vocab_size())
    torch.manual_seed(0)
    cls = family.pretraining_class if pretraining else family.base_class
    model = cls._from_config(config, attn_implementation="eager").eval()
    randomize(model, seed)
    model.save_pretrained(folder)
    if fmt == "bin":
        (folder / "model.safetensors").unlink()
        torch.save(model.state_dict(), folder / "pytorch_model.bin")
    return model
