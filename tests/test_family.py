"""The BERT family in our model: parity with transformers' DistilBertModel, RobertaModel, XLMRobertaModel,
AlbertModel and ElectraModel (and their pre-training heads), on random-weight checkpoints of two sizes
written with save_pretrained (safetensors and .bin) and read through our loader.

Tolerances as test_bert_parity.py (float32, absolute, rtol 0): attention probabilities 1e-5; hidden
states, pooler output and head logits 1e-4. Padded batches; every position compared, padding included.
"""
from __future__ import annotations

import json

import pytest
import torch
import transformers

from bert_core import BertConfig, CheckpointError, load_pretrained
from bert_core.model import sinusoidal_positions
from bert_core.weights import FAMILY_KEYS, parameter_shapes
from tests.family import CORPUS, FAMILIES, FAMILY_NAMES, make_checkpoint

ATTENTION_TOL = 1e-5
HIDDEN_TOL = 1e-4


def close(ours, theirs, atol, what):
    torch.testing.assert_close(ours, theirs, atol=atol, rtol=0, msg=lambda m: f"{what}: {m}")


def inputs_for(model, tokenizer):
    """A padded batch: sentence pairs where the model has two segments, single sentences otherwise."""
    texts = CORPUS[:4]
    if model.config.type_vocab_size > 1:
        batch = tokenizer(texts, CORPUS[4:8], padding=True, return_tensors="pt")
        assert batch["token_type_ids"].max() == 1
    else:
        batch = tokenizer(texts, padding=True, return_tensors="pt")
    assert (batch["attention_mask"] == 0).any(), "the batch must be padded"
    names = ("input_ids", "attention_mask") + (("token_type_ids",) if model.config.type_vocab_size else ())
    return {name: batch[name] for name in names}


def head_logits(model_type, theirs):
    """transformers' pre-training outputs by our head names."""
    if model_type == "bert":
        return {"mlm": theirs.prediction_logits, "nsp": theirs.seq_relationship_logits}
    if model_type == "albert":
        return {"mlm": theirs.prediction_logits, "sop": theirs.sop_logits}
    if model_type == "electra":
        return {"rtd": theirs.logits}
    return {"mlm": theirs.logits}


# BERT itself: tests/test_bert_parity.py.
OTHERS = [name for name in FAMILY_NAMES if name != "bert"]
CASES = [pytest.param(name, size, fmt, id=f"{name}-{size}-{fmt}")
         for name in OTHERS for size, fmt in (("tiny", "safetensors"), ("small", "bin"))]


@pytest.mark.parametrize("model_type, size, fmt", CASES)
def test_pretraining_checkpoint_matches_transformers(tmp_path, model_type, size, fmt):
    hf = make_checkpoint(tmp_path / "ckpt", model_type, size, fmt=fmt)
    model, tokenizer = load_pretrained(tmp_path / "ckpt", device="cpu")
    assert model.config.model_type == model_type
    batch = inputs_for(model, tokenizer)
    with torch.inference_mode():
        ours = model(**batch, output_attentions=True, output_hidden_states=True, output_embeddings=True)
        theirs_all = hf(**batch, output_attentions=True, output_hidden_states=True)
        theirs = hf.base_model(**batch, output_attentions=True, output_hidden_states=True)
        fused = model(**batch)
        logits = head_logits(model_type, theirs_all)
        assert set(logits) == set(model.heads) - {"pooler"}, "every head of the checkpoint is loaded"
        assert len(ours.attentions) == len(theirs.attentions) == model.config.num_hidden_layers
        assert len(ours.hidden_states) == len(theirs.hidden_states) == model.config.num_hidden_layers + 1
        for layer, (a, b) in enumerate(zip(ours.attentions, theirs.attentions, strict=True)):
            close(a, b, ATTENTION_TOL, f"attentions[{layer}]")
        for layer, (a, b) in enumerate(zip(ours.hidden_states, theirs.hidden_states, strict=True)):
            close(a, b, HIDDEN_TOL, f"hidden_states[{layer}]")
        close(ours.last_hidden_state, theirs.last_hidden_state, HIDDEN_TOL, "last_hidden_state")
        close(fused.last_hidden_state, theirs.last_hidden_state, HIDDEN_TOL, "last_hidden_state (fused path)")
        assert fused.attentions is None and fused.hidden_states is None
        if "pooler" in model.heads:
            close(ours.pooler_output, theirs.pooler_output, HIDDEN_TOL, "pooler_output")
        heads = {"mlm": model.mlm_logits, "nsp": model.nsp_logits, "sop": model.nsp_logits, "rtd": model.rtd_logits}
        for head, expected in logits.items():
            source = ours.pooler_output if head in ("nsp", "sop") else ours.last_hidden_state
            close(heads[head](source), expected, HIDDEN_TOL, f"{head} logits")
        # The embedding parts add up to what the first layer reads.
        parts = ours.embeddings
        close(parts.token + parts.segment + parts.position, parts.summed, 1e-6, "token + segment + position")
        first = parts.normalized if parts.projected is None else parts.projected
        close(first, ours.hidden_states[0], 1e-6, "embedding output")
        assert (parts.projected is not None) == model.config.projects_embeddings


@pytest.mark.parametrize("model_type", OTHERS)
def test_base_model_checkpoint_matches_transformers(tmp_path, model_type):
    """The bare encoder classes (RobertaModel etc., saved without a class prefix, with their pooler)."""
    hf = make_checkpoint(tmp_path / "ckpt", model_type, "tiny", pretraining=False)
    model, tokenizer = load_pretrained(tmp_path / "ckpt", device="cpu")
    has_pooler = model_type in ("bert", "roberta", "xlm-roberta", "albert")
    assert model.heads == (("pooler",) if has_pooler else ())
    batch = inputs_for(model, tokenizer)
    with torch.inference_mode():
        ours = model(**batch, output_attentions=True)
        theirs = hf(**batch, output_attentions=True)
    close(ours.attentions[-1], theirs.attentions[-1], ATTENTION_TOL, "last attentions")
    close(ours.last_hidden_state, theirs.last_hidden_state, HIDDEN_TOL, "last_hidden_state")
    if has_pooler:
        close(ours.pooler_output, theirs.pooler_output, HIDDEN_TOL, "pooler_output")


@pytest.mark.slow
@pytest.mark.parametrize("model_type", OTHERS)
def test_base_sized_checkpoint_matches_transformers(tmp_path, model_type):
    hf = make_checkpoint(tmp_path / "ckpt", model_type, "base")
    model, tokenizer = load_pretrained(tmp_path / "ckpt", device="cpu")
    batch = inputs_for(model, tokenizer)
    with torch.inference_mode():
        ours = model(**batch, output_attentions=True, output_hidden_states=True)
        theirs = hf.base_model(**batch, output_attentions=True, output_hidden_states=True)
    for layer, (a, b) in enumerate(zip(ours.attentions, theirs.attentions, strict=True)):
        close(a, b, ATTENTION_TOL, f"attentions[{layer}]")
    for layer, (a, b) in enumerate(zip(ours.hidden_states, theirs.hidden_states, strict=True)):
        close(a, b, HIDDEN_TOL, f"hidden_states[{layer}]")


# ---------------------------------------------------------------- the switches, one by one

def test_roberta_positions_start_after_the_padding_index(tmp_path):
    hf = make_checkpoint(tmp_path / "ckpt", "roberta", "tiny", pretraining=False)
    model, tokenizer = load_pretrained(tmp_path / "ckpt", device="cpu")
    assert model.config.position_offset == 2 and model.config.max_tokens == 128
    assert tokenizer.model_max_length == 128  # 130 positions, two before the first token
    batch = tokenizer(CORPUS[:2], padding=True, return_tensors="pt")
    out = model(**batch, output_embeddings=True)
    table = hf.embeddings.position_embeddings.weight
    lengths = batch["attention_mask"].sum(1)
    short = int(lengths.argmin())
    n = int(lengths[short])
    close(out.embeddings.position[short, :n], table[2:2 + n], 0, "positions 2…n+1 for real tokens")
    close(out.embeddings.position[short, n:], table[1].expand_as(out.embeddings.position[short, n:]), 0,
          "padding takes the padding row")
    with pytest.raises(ValueError, match="128 positions"):
        model(torch.full((1, 129), 5))


def test_albert_layers_share_one_set_of_weights_per_group(tmp_path):
    make_checkpoint(tmp_path / "ckpt", "albert", "small")  # 4 layers, 2 groups
    model, _ = load_pretrained(tmp_path / "ckpt", device="cpu")
    layers = model.encoder.layer
    assert len(layers) == 4 and layers[0] is layers[1] and layers[2] is layers[3] and layers[1] is not layers[2]
    hf = transformers.AlbertForPreTraining.from_pretrained(tmp_path / "ckpt")
    assert model.num_parameters() == sum(p.numel() for p in hf.parameters())  # shared weights counted once


def test_head_mask_switches_a_head_off_in_one_shared_layer_only(tmp_path):
    """ALBERT's layers share weights, but the head mask is per layer: masking layer 1 leaves layer 0."""
    make_checkpoint(tmp_path / "ckpt", "albert", "tiny")
    model, tokenizer = load_pretrained(tmp_path / "ckpt", device="cpu")
    batch = inputs_for(model, tokenizer)
    mask = torch.ones(2, model.config.num_attention_heads)
    mask[1, 0] = 0
    with torch.inference_mode():
        plain = model(**batch, output_hidden_states=True, output_intermediates=True)  # the same attention path
        masked = model(**batch, head_mask=mask, output_hidden_states=True, output_intermediates=True)
    close(masked.hidden_states[1], plain.hidden_states[1], 0, "layer 0 untouched")
    assert masked.intermediates[1].context[:, 0].abs().max() == 0
    assert masked.intermediates[0].context[:, 0].abs().max() > 0
    assert not torch.allclose(masked.hidden_states[2], plain.hidden_states[2])


def test_distilbert_sinusoidal_table_is_the_transformers_one():
    theirs = torch.empty(40, 12)
    transformers.models.distilbert.modeling_distilbert._create_sinusoidal_embeddings(40, 12, theirs)
    close(sinusoidal_positions(40, 12), theirs, 1e-6, "sinusoidal table")


def test_distilbert_without_its_fixed_table_in_the_file_computes_it(tmp_path):
    from safetensors.torch import load_file, save_file

    hf = make_checkpoint(tmp_path / "ckpt", "distilbert", "small")  # sinusoidal_pos_embds
    path = tmp_path / "ckpt" / "model.safetensors"
    tensors = load_file(path)
    close(tensors["distilbert.embeddings.position_embeddings.weight"], sinusoidal_positions(128, 48), 1e-6, "table")
    del tensors["distilbert.embeddings.position_embeddings.weight"]
    save_file(tensors, path, metadata={"format": "pt"})
    model, tokenizer = load_pretrained(tmp_path / "ckpt", device="cpu")
    batch = inputs_for(model, tokenizer)
    with torch.inference_mode():
        close(model(**batch).last_hidden_state, hf.base_model(**batch).last_hidden_state, HIDDEN_TOL,
              "last_hidden_state")


def test_distilbert_ignores_segments_as_transformers_does(tmp_path):
    make_checkpoint(tmp_path / "ckpt", "distilbert", "tiny")
    model, tokenizer = load_pretrained(tmp_path / "ckpt", device="cpu")
    assert model.embeddings.token_type_embeddings is None and model.config.type_vocab_size == 0
    batch = tokenizer("The cat sat.", "The dog sat.", return_tensors="pt")
    with torch.inference_mode():
        with_pair = model(**batch).last_hidden_state
        without = model(batch["input_ids"], batch["attention_mask"]).last_hidden_state
    close(with_pair, without, 0, "token_type_ids make no difference")


# ---------------------------------------------------------------- the name-mapping tables and errors

@pytest.mark.parametrize("model_type", OTHERS)
def test_missing_weight_is_named_in_the_checkpoints_own_words(tmp_path, model_type):
    from safetensors.torch import load_file, save_file

    make_checkpoint(tmp_path / "ckpt", model_type, "tiny", pretraining=False)
    path = tmp_path / "ckpt" / "model.safetensors"
    tensors = load_file(path)
    gone = next(k for k in tensors if k.endswith(("value.weight", "v_lin.weight")))
    del tensors[gone]
    save_file(tensors, path, metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match="missing weights") as err:
        load_pretrained(tmp_path / "ckpt", device="cpu")
    assert gone in str(err.value)


def test_every_family_table_names_only_our_modules():
    """Each table's left side is one of our parameter names (or a module above some), for a config
    of that family with every switch on."""
    configs = {"bert": BertConfig(), "roberta": BertConfig(model_type="roberta", pad_token_id=1, type_vocab_size=1),
               "distilbert": BertConfig(model_type="distilbert", type_vocab_size=0),
               "albert": BertConfig(model_type="albert", embedding_size=128, num_hidden_groups=1),
               "electra": BertConfig(model_type="electra", embedding_size=128)}
    for name, table in FAMILY_KEYS.items():
        ours = parameter_shapes(configs[name], pooler=True, mlm_head=True, nsp_head=True, rtd_head=True)
        for key in table:
            pattern = key.replace("{}", "0")
            assert any(k == pattern or k.startswith(pattern + ".") for k in ours), (name, key)


def test_unsupported_model_type_names_the_supported_ones(tmp_path):
    make_checkpoint(tmp_path / "ckpt", "bert", "tiny")
    path = tmp_path / "ckpt" / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "model_type": "deberta-v2"}))
    with pytest.raises(CheckpointError) as err:
        load_pretrained(tmp_path / "ckpt", device="cpu")
    message = str(err.value)
    assert "'deberta-v2'" in message
    assert all(name in message for name in FAMILIES)
