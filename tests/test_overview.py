"""The analyses behind the Tokens, Inside one head and Head overview pages, on hand-made
attention matrices with answers worked out by hand, and against the model's own numbers."""
import math

import numpy as np
import pytest
import torch

from app import overview, tokens, walkthrough
from app.attention import AttentionRun
from bert_core import PRESETS, BertModel, encode


def stack(*heads_per_layer):
    """(L, nh, T, T) from lists of (T, T) matrices."""
    return np.array([[np.asarray(h, dtype=np.float64) for h in layer] for layer in heads_per_layer])


UNIFORM4 = np.full((4, 4), 0.25)
IDENTITY4 = np.eye(4)
PREVIOUS4 = np.array([[1, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], float)  # row i → i-1 (row 0 → itself)


def test_entropy_is_in_bits_zero_for_one_hot_and_log2_t_for_uniform():
    values = overview.attention_entropy(stack([UNIFORM4, IDENTITY4]))
    assert values.shape == (1, 2)
    assert values[0, 0] == pytest.approx(2.0)      # log2(4)
    assert values[0, 1] == pytest.approx(0.0)


def test_entropy_of_a_half_half_row_is_one_bit_averaged_over_rows():
    half = np.array([[0.5, 0.5, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]])
    assert overview.attention_entropy(stack([half]))[0, 0] == pytest.approx(1 / 4)


def test_previous_and_next_token_weights():
    patterns = overview.head_patterns(stack([PREVIOUS4, PREVIOUS4.T.copy()]), ["[CLS]", "a", "b", "[SEP]"],
                                      [True, False, False, True])
    assert patterns["prev"][0, 0] == pytest.approx(1.0)   # every query that has a previous token uses it fully
    assert patterns["next"][0, 0] == pytest.approx(0.0)
    # the transpose's rows 0, 1, 2 have weight 1 on their next token (0→1, 1→2, 2→3); none on the previous
    assert patterns["next"][0, 1] == pytest.approx(1.0)
    assert patterns["prev"][0, 1] == pytest.approx(0.0)


def test_attention_to_cls_sep_and_punctuation():
    pieces = ["[CLS]", "hello", ",", "world", "##!", "[SEP]"]
    special = [True, False, False, False, False, True]
    attn = np.zeros((6, 6))
    attn[:, 0] = 0.5    # half of every row on [CLS]
    attn[:, 2] = 0.2    # "," is punctuation
    attn[:, 4] = 0.1    # "##!" is punctuation too
    attn[:, 5] = 0.2    # [SEP]
    patterns = overview.head_patterns(stack([attn]), pieces, special)
    assert patterns["cls"][0, 0] == pytest.approx(0.5)
    assert patterns["sep"][0, 0] == pytest.approx(0.2)
    assert patterns["punct"][0, 0] == pytest.approx(0.3)


def test_mean_distance_in_pieces():
    assert overview.mean_distance(stack([IDENTITY4]))[0, 0] == pytest.approx(0.0)
    # every row on token 0: distances 0, 1, 2, 3
    to_first = np.zeros((4, 4))
    to_first[:, 0] = 1
    assert overview.mean_distance(stack([to_first]))[0, 0] == pytest.approx(1.5)


def test_is_punctuation():
    assert overview.is_punctuation(".") and overview.is_punctuation("##!") and overview.is_punctuation("...")
    assert not overview.is_punctuation("a.") and not overview.is_punctuation("##") and not overview.is_punctuation("x")


def test_rollout_of_identity_attention_is_identity():
    flow = overview.rollout(stack([IDENTITY4], [IDENTITY4]))
    assert np.allclose(flow, np.eye(4))


def test_rollout_worked_by_hand_two_tokens_two_layers():
    # Both tokens attend only to token 0. With the residual: Ã = 0.5·A + 0.5·I = [[1, 0], [0.5, 0.5]].
    # R1 = Ã; R2 = Ã·Ã = [[1, 0], [0.75, 0.25]].
    to_first = [[1.0, 0.0], [1.0, 0.0]]
    flow = overview.rollout(stack([to_first], [to_first]))
    assert np.allclose(flow[0], [[1, 0], [0.5, 0.5]])
    assert np.allclose(flow[1], [[1, 0], [0.75, 0.25]])


def test_rollout_averages_heads_and_renormalises_rows():
    # Two heads: one attends to itself, the other is all zeros (switched off): the mean has rows of 0.5,
    # and renormalising after adding the residual gives back the identity.
    flow = overview.rollout(stack([np.eye(3), np.zeros((3, 3))]))
    assert np.allclose(flow[0], np.eye(3))
    assert np.allclose(flow.sum(-1), 1)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    model = BertModel(PRESETS["test"]).eval()
    ids = torch.randint(5, PRESETS["test"].vocab_size, (1, 9))
    return model, ids


def _tiny_encoding(ids):
    from bert_core import Encoding
    n = ids.shape[1]
    return Encoding(input_ids=ids[0].tolist(), token_type_ids=[0] * n, tokens=[f"t{i}" for i in range(n)],
                    offsets=[(0, 0)] * n, words=[], truncated=False, special=[False] * n)


def test_ablation_with_nothing_off_changes_nothing(tiny):
    model, ids = tiny
    assert np.allclose(overview.ablation_similarity(model, _tiny_encoding(ids), []), 1.0, atol=1e-6)


def test_ablating_a_head_equals_zeroing_its_value_projection(tiny):
    """Switching head (1, 2) off must give the same output as a model whose head 2 in layer 1 has
    zero value weights (its context is then zero), computed independently here."""
    model, ids = tiny
    enc = _tiny_encoding(ids)
    similarity = overview.ablation_similarity(model, enc, [(1, 2)])
    d = model.config.head_dim
    zeroed = BertModel(model.config).eval()
    zeroed.load_state_dict(model.state_dict())
    with torch.no_grad():
        zeroed.encoder.layer[1].attention.self.value.weight[2 * d:3 * d] = 0
        zeroed.encoder.layer[1].attention.self.value.bias[2 * d:3 * d] = 0
        intact = model(ids).last_hidden_state[0]
        expected = torch.nn.functional.cosine_similarity(zeroed(ids).last_hidden_state[0], intact, dim=-1)
    assert np.allclose(similarity, expected.numpy(), atol=1e-6)
    assert similarity.max() < 1 - 1e-6  # switching a head off does change every token (small random weights)


def test_an_attention_run_computes_each_layer_when_first_shown_and_equals_the_forward(tiny, monkeypatch):
    model, ids = tiny
    computed = []
    own = model.attention_probabilities
    monkeypatch.setattr(model, "attention_probabilities", lambda *args: computed.append(args[1]) or own(*args))
    run = AttentionRun(model, _tiny_encoding(ids))
    with torch.inference_mode():
        expected = np.stack([a[0].numpy() for a in model(ids, output_attentions=True).attentions])
    assert computed == []                               # the forward itself makes no T×T maps
    np.testing.assert_allclose(run.layer(1), expected[1], atol=1e-6)
    run.layer(1)
    assert computed == [1]                              # once per layer, only the layer asked for
    assert run.attentions.shape == (2, 4, 9, 9) and computed == [1, 0]
    np.testing.assert_allclose(run.attentions, expected, atol=1e-6)
    assert np.allclose(run.attentions.sum(-1), 1, atol=1e-5)
    assert not run.layer(0).flags.writeable and not run.attentions.flags.writeable  # shared by every session


@pytest.mark.parametrize("layer, head, token", [(0, 0, 0), (1, 3, 5)])
def test_walkthrough_numbers_equal_the_models_own_on_a_tiny_model(tiny, layer, head, token):
    model, ids = tiny
    with torch.inference_mode():
        out = model(ids, output_hidden_states=True, output_attentions=True, output_intermediates=True)
    record = out.intermediates[layer]
    steps = walkthrough.head_steps(model, out.hidden_states[layer][0].numpy(), layer, head, token)
    assert np.allclose(steps.query, record.query[0, head].numpy(), atol=1e-5)
    assert np.allclose(steps.scores, record.scores[0, head, token].numpy(), atol=1e-5)
    assert np.allclose(steps.probs, out.attentions[layer][0, head, token].numpy(), atol=1e-6)
    assert np.allclose(steps.head_context, record.context[0, head, token].numpy(), atol=1e-6)
    assert np.allclose(steps.attention_output, record.attention_output[0, token].numpy(), atol=1e-5)
    # the neuron view's per-dimension products add up to the scores
    assert np.allclose(steps.qk_products.sum(-1) / math.sqrt(model.config.head_dim), steps.scores, atol=1e-5)


def test_walkthrough_on_the_default_model_matches_its_intermediates(default_model):
    model, tokenizer = default_model
    enc = encode(tokenizer, "The man went to the store.", "He bought a gallon of milk.")
    internals = walkthrough.layer_internals(model, enc)
    assert internals.hidden_states.shape == (7, len(enc), 384) and internals.query.shape == (6, 12, len(enc), 32)
    with torch.inference_mode():
        out = model(**enc.to_tensors("cpu"), output_attentions=True)
    for layer, head, token in [(0, 0, 0), (2, 7, 4), (5, 11, len(enc) - 1)]:
        steps = walkthrough.head_steps(model, internals.hidden_states[layer], layer, head, token)
        assert walkthrough.largest_difference(steps, internals, layer, head, token) < 1e-4
        assert np.allclose(steps.probs, out.attentions[layer][0, head, token].numpy(), atol=1e-5)
        assert steps.concatenated.shape == (384,)


def test_embedding_parts_add_up_and_come_from_the_tables(default_model):
    model, tokenizer = default_model
    enc = encode(tokenizer, "Embeddings are learned", "yes")
    parts = tokens.embedding_parts(model, enc)
    emb = model.embeddings
    assert np.allclose(parts["summed"], parts["token"] + parts["segment"] + parts["position"], atol=1e-6)
    assert np.allclose(parts["token"], emb.word_embeddings.weight[enc.input_ids].detach().numpy())
    assert np.allclose(parts["position"][3], emb.position_embeddings.weight[3].detach().numpy())
    assert np.allclose(parts["segment"][-1], emb.token_type_embeddings.weight[1].detach().numpy())  # B's [SEP]
    shares = tokens.part_shares(parts)
    assert np.allclose(shares["token"] + shares["segment"] + shares["position"], 1, atol=1e-5)
    norms = tokens.part_norms(parts)
    assert np.allclose(norms["normalized"], np.linalg.norm(parts["normalized"], axis=-1))


def test_token_rows_mark_continuations_specials_and_segments(default_model):
    _, tokenizer = default_model
    rows = tokens.token_rows(encode(tokenizer, "Embeddings", "ok"))
    assert [r["piece"] for r in rows] == ["[CLS]", "em", "##bed", "##ding", "##s", "[SEP]", "ok", "[SEP]"]
    assert [r["kind"] for r in rows[:3]] == ["special", "word start", "continuation (##)"]
    assert [r["segment"] for r in rows] == ["A"] * 6 + ["B"] * 2
    assert [r["position"] for r in rows] == list(range(8))


def test_parameter_counts_match_the_published_bert_sizes(default_model):
    # BERT-base: 109,482,240 and BERT-large: 335,141,888 parameters (transformers' BertModel with pooler)
    assert tokens.count_parameters(PRESETS["bert-base"]) == 109_482_240
    assert tokens.count_parameters(PRESETS["bert-large"]) == 335_141_888
    model, _ = default_model
    family = tokens.size_family(model, "mini")
    assert [row["parameters"] for row in family] == sorted(row["parameters"] for row in family)
    this = next(row for row in family if row["model"].startswith("mini"))
    assert this["parameters"] == sum(p.numel() for p in model.parameters())
    assert tokens.model_card(model)["layers"] == 6
