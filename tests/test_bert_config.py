"""BertConfig: presets, validation, config.json round trips, and parameter counts of the BERT family."""
from __future__ import annotations

import dataclasses
import json

import pytest
import torch
import transformers

from bert_core import PRESETS, BertConfig, BertModel, ConfigError, default_checkpoint

# The BERT fields; the family's switches (ALBERT/ELECTRA/DistilBERT settings) are compared in test_family.py.
FAMILY_FIELDS = {"model_type", "embedding_size", "num_hidden_groups", "inner_group_num", "sinusoidal_pos_embds"}
SHARED_FIELDS = [f.name for f in dataclasses.fields(BertConfig) if f.name not in FAMILY_FIELDS]


def test_defaults_are_those_of_transformers_bert_config():
    reference = transformers.BertConfig().to_dict()  # transformers 5 no longer has position_embedding_type
    compared = [name for name in SHARED_FIELDS if name in reference]
    assert len(compared) >= len(SHARED_FIELDS) - 1
    for name in compared:
        assert getattr(BertConfig(), name) == reference[name], name


@pytest.mark.parametrize("name, layers, hidden, heads", [
    ("bert-tiny", 2, 128, 2), ("bert-mini", 4, 256, 4), ("bert-small", 4, 512, 8),
    ("bert-medium", 8, 512, 8), ("bert-base", 12, 768, 12), ("bert-large", 24, 1024, 16)])
def test_family_presets_have_the_published_shapes(name, layers, hidden, heads):
    config = PRESETS[name]
    assert (config.num_hidden_layers, config.hidden_size, config.num_attention_heads) == (layers, hidden, heads)
    assert config.intermediate_size == 4 * hidden and config.vocab_size == 30522
    assert config.head_dim * heads == hidden


def test_test_preset_has_the_sizes_of_transformers_bert_model_tester():
    config = PRESETS["test"]
    assert (config.vocab_size, config.hidden_size, config.num_hidden_layers, config.num_attention_heads,
            config.intermediate_size) == (99, 32, 2, 4, 37)
    assert config.head_dim == 8


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        PRESETS["bert-base"].hidden_size = 1


@pytest.mark.parametrize("changes, words", [
    ({"model_type": "gpt2"}, "supported: bert, roberta, xlm-roberta, distilbert, albert, electra"),
    ({"model_type": "distilbert"}, "no segment embeddings"),
    ({"model_type": "albert", "num_hidden_groups": 5}, "does not divide"),
    ({"model_type": "albert", "inner_group_num": 2}, "inner_group_num 2"),
    ({"num_hidden_groups": 1}, "ALBERT setting"),
    ({"model_type": "electra", "embedding_size": 0}, "embedding_size must be a positive integer"),
    ({"model_type": "roberta", "pad_token_id": None}, "pad_token_id must be set"),
    ({"hidden_size": 0}, "hidden_size must be a positive integer"),
    ({"num_hidden_layers": -1}, "num_hidden_layers must be a positive integer"),
    ({"vocab_size": 99.5}, "vocab_size must be a positive integer"),
    ({"num_attention_heads": True}, "num_attention_heads must be a positive integer"),
    ({"intermediate_size": "3072"}, "intermediate_size must be a positive integer"),
    ({"hidden_size": 100, "num_attention_heads": 12}, "not divisible"),
    ({"hidden_act": "tanh"}, "hidden_act 'tanh' is not one of"),
    ({"position_embedding_type": "relative_key"}, "'relative_key' is not supported"),
    ({"pad_token_id": 30522}, "pad_token_id 30522 is outside the vocabulary"),
    ({"layer_norm_eps": 0.0}, "layer_norm_eps must be positive"),
])
def test_invalid_values_are_refused_with_a_message_naming_them(changes, words):
    with pytest.raises(ConfigError, match=words):
        BertConfig(**changes)


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_from_dict_ignores_keys_bert_does_not_use():
    values = {"model_type": "bert", "hidden_size": 64, "num_attention_heads": 4, "architectures": ["BertForMaskedLM"],
              "transformers_version": "4.8.2", "gradient_checkpointing": False, "use_cache": True, "pad_token_id": None}
    config = BertConfig.from_dict(values)
    assert config.hidden_size == 64 and config.num_attention_heads == 4 and config.pad_token_id is None
    assert config.num_hidden_layers == BertConfig().num_hidden_layers  # absent keys keep BERT's defaults


def test_from_dict_needs_model_type():
    with pytest.raises(ConfigError, match="model_type"):
        BertConfig.from_dict({"hidden_size": 64})


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_to_dict_round_trips(name):
    assert BertConfig.from_dict(json.loads(json.dumps(PRESETS[name].to_dict()))) == PRESETS[name]


def test_the_default_checkpoint_config_reads_as_minilm():
    values = json.loads((default_checkpoint() / "config.json").read_text())
    config = BertConfig.from_dict(values)
    assert (config.num_hidden_layers, config.num_attention_heads, config.hidden_size) == (6, 12, 384)
    assert config.intermediate_size == values["intermediate_size"] == 1536


# ---------------------------------------------------------------- parameter counts

def count(config: BertConfig, **heads) -> int:
    with torch.device("meta"):  # shapes only: bert-large would otherwise allocate 1.3 GB
        return BertModel(config, **heads).num_parameters()


def hf_count(config: BertConfig, cls) -> int:
    with torch.device("meta"):
        return cls(transformers.BertConfig(**{f: getattr(config, f) for f in SHARED_FIELDS})).num_parameters()


# Turc et al. 2019 ("Well-Read Students Learn Better", the google-research/bert table) give each
# model's size in millions, rounded to 0.1M; they count the pre-training model: encoder, pooler,
# MLM transform and bias (the decoder is the tied word-embedding matrix) and the NSP head.
TURC_MILLIONS = {"bert-tiny": 4.4, "bert-mini": 11.3, "bert-small": 29.1, "bert-medium": 41.7, "bert-base": 110.1}


@pytest.mark.parametrize("name", sorted(TURC_MILLIONS))
def test_pretraining_parameter_counts_match_turc_et_al(name):
    millions = count(PRESETS[name], mlm_head=True, nsp_head=True) / 1e6
    assert round(millions, 1) == TURC_MILLIONS[name]  # tolerance: the table's own rounding, ±0.05M


def test_base_and_large_match_devlin_et_al():
    """Devlin et al. 2019 quote 110M and 340M; those are round figures, so allow 2%."""
    assert count(PRESETS["bert-base"], mlm_head=True, nsp_head=True) == pytest.approx(110e6, rel=0.02)
    assert count(PRESETS["bert-large"], mlm_head=True, nsp_head=True) == pytest.approx(340e6, rel=0.02)


def test_encoder_counts_are_the_known_exact_ones():
    """bert-base-uncased and bert-large-uncased as BertModel (with pooler): 109,482,240 and 335,141,888."""
    assert count(PRESETS["bert-base"]) == 109_482_240
    assert count(PRESETS["bert-large"]) == 335_141_888


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_counts_equal_those_of_transformers(name):
    config = PRESETS[name]
    assert count(config) == hf_count(config, transformers.BertModel)
    assert count(config, mlm_head=True, nsp_head=True) == hf_count(config, transformers.BertForPreTraining)
    pooler = config.hidden_size * config.hidden_size + config.hidden_size
    assert count(config, pooler=False) == count(config) - pooler
