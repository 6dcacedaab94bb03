"""BERT hyper-parameters: a frozen dataclass whose fields are the keys of a BERT config.json.

The BERT family (RoBERTa, XLM-RoBERTa, DistilBERT, ALBERT, ELECTRA) is the same encoder with a few
switches, read from their own config.json files:
- model_type says whose checkpoint it is (and so how weight names map, see weights.FAMILY_KEYS);
- position_offset: RoBERTa's positions start after the padding index (pad_token_id + 1);
- type_vocab_size 0: no segment embeddings (DistilBERT); RoBERTa has 1;
- embedding_size ≠ hidden_size: factorised embeddings projected E → H (ALBERT, ELECTRA);
- num_hidden_groups < num_hidden_layers: layers share weights (ALBERT: one group applied L times);
- sinusoidal_pos_embds: fixed sine/cosine position table (a DistilBERT option).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

ACTIVATIONS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu", "swish")


class ConfigError(ValueError):
    """A config.json that does not describe a BERT we can build."""


# Our field names for DistilBERT's own config.json keys.
DISTILBERT_KEYS = {"dim": "hidden_size", "n_layers": "num_hidden_layers", "n_heads": "num_attention_heads",
                   "hidden_dim": "intermediate_size", "activation": "hidden_act", "dropout": "hidden_dropout_prob",
                   "attention_dropout": "attention_probs_dropout_prob"}
MODEL_TYPES = ("bert", "roberta", "xlm-roberta", "distilbert", "albert", "electra")
ROBERTA_TYPES = ("roberta", "xlm-roberta")  # the same architecture; XLM-R has a larger SentencePiece vocabulary


@dataclass(frozen=True)
class BertConfig:
    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    pad_token_id: int | None = 0  # some config.json files say null
    initializer_range: float = 0.02
    model_type: str = "bert"
    position_embedding_type: str = "absolute"
    embedding_size: int | None = None      # ALBERT, ELECTRA: E; None means hidden_size
    num_hidden_groups: int | None = None   # ALBERT: layer groups sharing weights; None means one per layer
    inner_group_num: int = 1               # ALBERT: layers inside a group (every released ALBERT has 1)
    sinusoidal_pos_embds: bool = False     # DistilBERT: fixed sinusoidal position table

    def __post_init__(self):
        if self.model_type not in MODEL_TYPES:
            raise ConfigError(f"model_type is {self.model_type!r}: not a BERT-family checkpoint we can run "
                              f"(supported: {', '.join(MODEL_TYPES)})")
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                     "intermediate_size", "max_position_embeddings", "embedding_size", "num_hidden_groups"):
            value = getattr(self, name)
            if value is None and name in ("embedding_size", "num_hidden_groups"):
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.model_type == "distilbert":
            if self.type_vocab_size != 0:
                raise ConfigError("DistilBERT has no segment embeddings: type_vocab_size must be 0")
        elif not isinstance(self.type_vocab_size, int) or isinstance(self.type_vocab_size, bool) \
                or self.type_vocab_size <= 0:
            raise ConfigError(f"type_vocab_size must be a positive integer, got {self.type_vocab_size!r}")
        if self.num_hidden_groups is not None and self.model_type != "albert":
            raise ConfigError("num_hidden_groups (shared layer weights) is an ALBERT setting")
        if self.num_hidden_layers % self.layer_groups:
            raise ConfigError(f"num_hidden_groups {self.layer_groups} does not divide "
                              f"num_hidden_layers {self.num_hidden_layers}")
        if self.inner_group_num != 1:
            raise ConfigError(f"inner_group_num {self.inner_group_num}: only ALBERTs with one layer per group "
                              "(every released ALBERT) are supported")
        if self.model_type in ROBERTA_TYPES and self.pad_token_id is None:
            raise ConfigError("RoBERTa numbers positions from pad_token_id + 1: pad_token_id must be set")
        if self.max_tokens <= 0:
            raise ConfigError(f"max_position_embeddings {self.max_position_embeddings} leaves no position "
                              f"after the offset {self.position_offset}")
        if self.pad_token_id is not None and not 0 <= self.pad_token_id < self.vocab_size:
            raise ConfigError(f"pad_token_id {self.pad_token_id} is outside the vocabulary (0…{self.vocab_size - 1})")
        if not self.layer_norm_eps > 0:
            raise ConfigError(f"layer_norm_eps must be positive, got {self.layer_norm_eps!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(f"hidden_size {self.hidden_size} is not divisible by "
                              f"num_attention_heads {self.num_attention_heads}")
        if self.hidden_act not in ACTIVATIONS:
            raise ConfigError(f"hidden_act {self.hidden_act!r} is not one of {ACTIVATIONS}")
        if self.position_embedding_type != "absolute":
            raise ConfigError(f"position_embedding_type {self.position_embedding_type!r} is not supported "
                              "(only 'absolute', as in the original BERT)")

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def embedding_width(self) -> int:
        """E, the width of the embedding tables (hidden_size unless the embeddings are factorised)."""
        return self.embedding_size or self.hidden_size

    @property
    def projects_embeddings(self) -> bool:
        """Whether an E → H projection follows the embeddings: ALBERT's always (its encoder starts with
        one), ELECTRA's when E ≠ H."""
        return self.model_type == "albert" or self.embedding_width != self.hidden_size

    @property
    def layer_groups(self) -> int:
        """How many distinct sets of layer weights there are (num_hidden_layers unless ALBERT shares them)."""
        return self.num_hidden_groups or self.num_hidden_layers

    @property
    def position_offset(self) -> int:
        """The position index of the first token: RoBERTa's start after the padding index, others at 0."""
        return self.pad_token_id + 1 if self.model_type in ROBERTA_TYPES else 0

    @property
    def max_tokens(self) -> int:
        """The longest input (special tokens included) the position table covers."""
        return self.max_position_embeddings - self.position_offset

    @property
    def mlm_act(self) -> str:
        """The masked-LM head's activation: RoBERTa's lm_head uses GELU whatever hidden_act says."""
        return "gelu" if self.model_type in ROBERTA_TYPES else self.hidden_act

    @classmethod
    def from_dict(cls, values: dict) -> BertConfig:
        """Build from a config.json dict; keys that BERT does not use are ignored."""
        if not isinstance(values, dict):
            raise ConfigError(f"config is a JSON {type(values).__name__}, not an object of BERT settings")
        if "model_type" not in values:
            raise ConfigError(f"config has no model_type: expected one of {', '.join(MODEL_TYPES)}")
        if values["model_type"] == "distilbert":
            values = {DISTILBERT_KEYS.get(k, k): v for k, v in values.items()}
            values.update(type_vocab_size=0, layer_norm_eps=1e-12)  # DistilBERT's eps is fixed in its code
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _preset(layers: int, hidden: int, heads: int) -> BertConfig:
    return BertConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                      intermediate_size=4 * hidden)


# The BERT size family (Turc et al. 2019 for tiny…medium; Devlin et al. 2019 for base and large),
# plus a "test" preset with the sizes of Hugging Face's BertModelTester.
PRESETS: dict[str, BertConfig] = {
    "test": BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                       intermediate_size=37, max_position_embeddings=512, type_vocab_size=16),
    "bert-tiny": _preset(2, 128, 2),
    "bert-mini": _preset(4, 256, 4),
    "bert-small": _preset(4, 512, 8),
    "bert-medium": _preset(8, 512, 8),
    "bert-base": _preset(12, 768, 12),
    "bert-large": _preset(24, 1024, 16),
}

# The published shapes of the family's flavours (their config.json files on the Hugging Face hub),
# for the flavours table: model_type and the switches set, every other field BERT's default.
_ROBERTA = dict(model_type="roberta", vocab_size=50265, max_position_embeddings=514, type_vocab_size=1,
                pad_token_id=1, layer_norm_eps=1e-5)
_ALBERT = dict(model_type="albert", vocab_size=30000, embedding_size=128, num_hidden_groups=1, hidden_act="gelu_new")
FAMILY_PRESETS: dict[str, BertConfig] = {
    "roberta-base": BertConfig(**_ROBERTA),
    "roberta-large": BertConfig(**_ROBERTA, num_hidden_layers=24, hidden_size=1024, num_attention_heads=16,
                                intermediate_size=4096),
    "distilbert-base": BertConfig(model_type="distilbert", num_hidden_layers=6, type_vocab_size=0),
    "albert-base": BertConfig(**_ALBERT),
    "albert-large": BertConfig(**_ALBERT, num_hidden_layers=24, hidden_size=1024, num_attention_heads=16,
                               intermediate_size=4096),
    "electra-small": BertConfig(model_type="electra", embedding_size=128, hidden_size=256, num_attention_heads=4,
                                intermediate_size=1024),
    "electra-base": BertConfig(model_type="electra", embedding_size=768),
}
