"""The flavours table, parameters by part, per-layer statistics and the tokenizer's steps (app/compare.py,
app/tokens.py) on the family's configurations and tiny random checkpoints."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import transformers

from app import compare, overview, tokens
from bert_core import FAMILY_PRESETS, PRESETS, BertModel, load_pretrained, load_tokenizer
from tests.family import make_checkpoint, save_tokenizer


def significant(value: float, published: float) -> float:
    """value rounded to as many significant figures as `published` has (110e6: 2; 125e6: 3)."""
    digits = len(f"{published / 1e6:g}".replace(".", "").strip("0"))
    return round(value, digits - 1 - int(math.floor(math.log10(value))))


def test_flavours_have_the_published_parameter_counts():
    rows = {row["model"]: row for row in compare.flavours()}
    assert set(rows) == {label for _, label, _, _ in compare.FLAVOURS}
    for _, label, _, published in compare.FLAVOURS:
        assert significant(rows[label]["parameters"], published) == published, (label, rows[label]["parameters"])
    assert rows["ALBERT-base"]["distinct layer weights"] == 1 and rows["ALBERT-base"]["layers"] == 12
    assert rows["DistilBERT"]["layers"] == 6 and rows["RoBERTa-large"]["width H"] == 1024


HF_CLASSES = {"roberta-base": (transformers.RobertaConfig, transformers.RobertaModel,
                               dict(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1)),
              "distilbert-base": (transformers.DistilBertConfig, transformers.DistilBertModel, {}),
              "albert-base": (transformers.AlbertConfig, transformers.AlbertModel,
                              dict(vocab_size=30000, embedding_size=128, hidden_size=768, num_attention_heads=12,
                                   intermediate_size=3072)),
              "electra-base": (transformers.ElectraConfig, transformers.ElectraModel,
                               dict(embedding_size=768, hidden_size=768, num_attention_heads=12,
                                    intermediate_size=3072))}


@pytest.mark.parametrize("preset", sorted(HF_CLASSES))
def test_flavour_counts_equal_transformers_base_models(preset):
    config_class, model_class, values = HF_CLASSES[preset]
    with torch.device("meta"):
        theirs = model_class(config_class(**values)).num_parameters()
    assert compare.count_parameters(FAMILY_PRESETS[preset]) == theirs


def test_parameters_by_part_add_up_and_name_albert_sharing(tmp_path):
    make_checkpoint(tmp_path / "ckpt", "albert", "small")  # 4 layers in 2 groups, with its heads
    model, _ = load_pretrained(tmp_path / "ckpt", device="cpu")
    parts = compare.parameters_by_part(model)
    assert sum(parts.values()) == model.num_parameters()
    assert [name for name in parts if "layer" in name] == ["layers 1–2 (shared)", "layers 3–4 (shared)"]
    assert {"embeddings", "pooler", "masked-LM head", "sentence-pair head"} <= set(parts)
    bert = compare.parameters_by_part(BertModel(PRESETS["test"]))
    assert [name for name in bert if "layer" in name] == ["layer 1", "layer 2"]


def test_layer_statistics_are_head_means_of_the_overview_ones():
    rng = np.random.default_rng(0)
    attn = rng.random((3, 2, 5, 5))
    attn /= attn.sum(-1, keepdims=True)
    stats = compare.layer_attention_statistics(attn)
    assert np.allclose(stats["entropy"], overview.attention_entropy(attn).mean(-1))
    assert np.allclose(stats["distance"], overview.mean_distance(attn).mean(-1))
    uniform = np.full((1, 1, 4, 4), 0.25)
    assert compare.layer_attention_statistics(uniform)["entropy"] == pytest.approx([2.0])  # log₂ 4


def test_word_similarity_curve_starts_near_one_and_needs_the_word(tmp_path):
    make_checkpoint(tmp_path / "ckpt", "roberta", "tiny")
    model, tokenizer = load_pretrained(tmp_path / "ckpt", device="cpu")
    curve = compare.word_similarity_curve(model, tokenizer, "cat", "The cat sat.", "A dog chased the cat!")
    assert len(curve) == model.config.num_hidden_layers + 1 and all(-1 <= c <= 1 + 1e-6 for c in curve)
    assert compare.word_similarity_curve(model, tokenizer, "zebra", "The cat sat.", "The cat ran.") is None


@pytest.mark.parametrize("lowercase, expected", [(True, "cafe dupont"), (False, "Café Dupont")])
def test_the_normaliser_step_lowercases_and_strips_accents_only_when_uncased(tmp_path, lowercase, expected):
    folder = tmp_path / "tok"
    folder.mkdir()
    letters = list("abcdefghijklmnopqrstuvwxyzCDé")
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters]) + "\n")
    (folder / "tokenizer_config.json").write_text(f'{{"do_lower_case": {str(lowercase).lower()}}}')
    steps = tokens.tokenizer_steps(load_tokenizer(folder), "Café Dupont")
    assert steps[0]["result"] == expected
    assert steps[1]["result"] == expected  # two words, no punctuation
    assert steps[3]["result"].split()[0] == "[CLS]" and steps[3]["result"].split()[-1] == "[SEP]"


@pytest.mark.parametrize("family, kind, marker", [("roberta", "BPE", "Ġ"), ("albert", "Unigram", "▁")])
def test_steps_of_bpe_and_unigram_tokenizers(tmp_path, family, kind, marker):
    save_tokenizer(tmp_path, family)
    tokenizer = load_tokenizer(tmp_path)
    steps = tokens.tokenizer_steps(tokenizer, "The dog sat.", "A cat.")
    assert tokens.tokenizer_kind(tokenizer) == kind == steps[2]["component"]
    assert marker in steps[1]["result"] and " | " in steps[1]["result"]
    assert steps[3]["result"].split() == tokenizer("The dog sat.", "A cat.").tokens()


def test_syntax_summary_puts_each_models_best_head_side_by_side(tmp_path):
    from app import syntax
    from app.conllu import read_conllu

    treebank = read_conllu(syntax.SAMPLE_TREEBANK.read_bytes())
    results = {}
    for family in ("albert", "distilbert"):
        make_checkpoint(tmp_path / family, family, "tiny")
        model, tokenizer = load_pretrained(tmp_path / family, device="cpu")
        results[family] = syntax.probe(model, tokenizer, treebank, model_name=family)
    rows = compare.syntax_summary(results, top=3)
    assert [row["relation"] for row in rows][0] == "all" and len(rows) == 4
    for row in rows:
        for family, result in results.items():
            expected = result.relation_table(0)[row["relation"]]
            assert row[f"{family}: best head"] == expected["best_head"]
            assert row[f"{family}: accuracy"] == round(expected["accuracy"], 3)
