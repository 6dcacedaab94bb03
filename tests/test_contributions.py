"""app/contributions.py on tiny random models: norm-based attention against an independent float64
computation, value zeroing against a loop that zeroes one token's value vectors with a hook, the
invariants, head importance, and the `mixing` command line."""
from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest
import torch

from app import contributions
from app.__main__ import EXIT_UNUSABLE, main
from app.attention import AttentionRun, attention_view
from bert_core import BertModel, Encoding, encode
from bert_core.config import PRESETS
from tests.test_bert_parity import randomize

IDS = [2, 17, 43, 5, 88, 3, 61, 9, 3]  # [CLS] a b c d [SEP] e f [SEP]
TOKENS = ["[CLS]", "a", "b", "c", "d", "[SEP]", "e", "f", "[SEP]"]


def tiny_model(seed: int = 0, **changes) -> BertModel:
    model = BertModel(dataclasses.replace(PRESETS["test"], **changes), mlm_head=True).eval()
    randomize(model, seed)
    return model


def encoding() -> Encoding:
    return Encoding(input_ids=IDS, token_type_ids=[0] * 6 + [1] * 3, tokens=TOKENS, offsets=[(0, 0)] * len(IDS),
                    words=[], truncated=False, special=[t in ("[CLS]", "[SEP]") for t in TOKENS])


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def hidden_states(model, enc):
    with torch.inference_mode():
        return model(**enc.to_tensors(), output_hidden_states=True).hidden_states


def reference_layer(model, layer: int, x: np.ndarray):
    """float64, from the weights and by explicit loops: α (nh, T, T), f (nh, T, H) and the vectors
    Σ_h α^h_ij f^h(x_j) (T, T, H)."""
    params = {name: p.detach().double().numpy() for name, p in model.encoder.layer[layer].named_parameters()}
    nh = model.config.num_attention_heads
    hd = x.shape[1] // nh
    q = x @ params["attention.self.query.weight"].T + params["attention.self.query.bias"]
    k = x @ params["attention.self.key.weight"].T + params["attention.self.key.bias"]
    v = x @ params["attention.self.value.weight"].T + params["attention.self.value.bias"]
    w_out = params["attention.output.dense.weight"]
    T = len(x)
    alpha, f = np.zeros((nh, T, T)), np.zeros((nh, T, x.shape[1]))
    for h in range(nh):
        part = slice(h * hd, (h + 1) * hd)
        scores = q[:, part] @ k[:, part].T / np.sqrt(hd)
        scores = np.exp(scores - scores.max(1, keepdims=True))
        alpha[h] = scores / scores.sum(1, keepdims=True)
        for j in range(T):
            f[h, j] = v[j, part] @ w_out[:, part].T
    summed = np.zeros((T, T, x.shape[1]))
    for i in range(T):
        for j in range(T):
            summed[i, j] = sum(alpha[h, i, j] * f[h, j] for h in range(nh))
    return alpha, f, summed


def test_norm_based_attention_matches_an_independent_float64_computation(model):
    enc = encoding()
    result = contributions.norm_analysis(model, enc)
    hidden = hidden_states(model, enc)
    for layer in range(model.config.num_hidden_layers):
        x = hidden[layer][0].double().numpy()
        alpha, f, summed = reference_layer(model, layer, x)
        heads = np.linalg.norm(alpha[..., None] * f[:, None, :, :], axis=-1)          # ‖α_ij f_h(x_j)‖
        residual = summed + np.eye(len(x))[..., None] * x[:, None, :]                   # + [i = j] x_i
        mixing = np.linalg.norm(summed.sum(1) - np.einsum("iid->id", summed), axis=-1)
        preserving = np.linalg.norm(np.einsum("iid->id", summed) + x, axis=-1)
        np.testing.assert_allclose(result["heads"][layer], heads, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(result["residual"][layer], np.linalg.norm(residual, axis=-1), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(result["mixing_ratio"][layer], mixing / (mixing + preserving), rtol=1e-4)
    assert 0 < result["mixing_ratio"].min() and result["mixing_ratio"].max() < 1


def test_with_one_head_norm_based_attention_is_weight_times_value_norm():
    model = tiny_model(seed=3, num_attention_heads=1)
    enc = encoding()
    hidden = hidden_states(model, enc)
    result = contributions.norm_analysis(model, enc)
    layer = model.encoder.layer[1]
    with torch.inference_mode():
        values = layer.attention.self.value(hidden[1])[0]                              # x W_V + b_V, (T, H)
        value_norms = (values @ layer.attention.output.dense.weight.T).norm(dim=-1)   # ‖f(x_j)‖
        weights = model.attention_probabilities(hidden[1], 1)[0, 0]
    np.testing.assert_allclose(result["heads"][1, 0], (weights * value_norms[None, :]).numpy(), rtol=1e-5, atol=1e-7)
    # One head and no residual off the diagonal: the layer-level norm is the head's own there.
    off_diagonal = ~np.eye(len(IDS), dtype=bool)
    np.testing.assert_allclose(result["residual"][1][off_diagonal], result["heads"][1, 0][off_diagonal], rtol=1e-4)


def test_value_zeroing_matches_a_loop_that_zeroes_one_tokens_values_with_a_hook(model):
    enc = encoding()
    hidden = hidden_states(model, enc)
    raw = contributions.value_zeroing(model, enc, batch=4, normalize=False)   # batches of 4: a partial last batch
    T = len(IDS)
    for layer, module in enumerate(model.encoder.layer):
        for j in range(T):
            def zero_value(_module, _inputs, output, j=j):
                output = output.clone()
                output[:, j] = 0
                return output
            handle = module.attention.self.value.register_forward_hook(zero_value)
            try:
                with torch.inference_mode():
                    out = module(hidden[layer], None, None, False, False)[0][0]
            finally:
                handle.remove()
            expected = 1 - torch.nn.functional.cosine_similarity(out, hidden[layer + 1][0], dim=-1)
            np.testing.assert_allclose(raw[layer, :, j], expected.clamp_min(0).numpy(), atol=2e-6)
    normalized = contributions.value_zeroing(model, enc)
    np.testing.assert_allclose(normalized.sum(-1), 1, rtol=1e-5)
    np.testing.assert_allclose(normalized, raw / raw.sum(-1, keepdims=True), rtol=1e-4, atol=1e-6)  # other batches


def test_value_zeroing_row_shares_match_float64_on_the_default_model(default_model):
    """Rows of tokens that barely move ([CLS] in middle layers: every distance under 1e-6) are divided by
    tiny sums; their shares must come from the distances, not from float32 rounding (1 − cos got them
    wrong by up to 0.03 here). The same computation in float64 is the reference; tolerance 1e-5."""
    model, tokenizer = default_model
    enc = encode(tokenizer, "The bank by the river was closed, so we walked along the water to the old mill.")
    shares = contributions.value_zeroing(model, enc)
    reference = contributions.value_zeroing(copy.deepcopy(model).double(), enc)
    assert reference.min(axis=-1).min() < 1e-3   # some rows' shares are tiny: the case this is about
    np.testing.assert_allclose(shares, reference, atol=1e-5)


def test_zeroing_nothing_changes_nothing(model):
    """The prepared path with nothing taken out reproduces the layer's own output: the LayerNorm's centring,
    the feed-forward's first product and the division by the standard deviation, taken apart, add up."""
    enc = encoding()
    hidden = hidden_states(model, enc)
    for layer in range(model.config.num_hidden_layers):
        with torch.inference_mode():
            zeroing = contributions.ZeroingLayer.of(model, layer, hidden[layer])
            nothing = dataclasses.replace(zeroing, removed=torch.zeros_like(zeroing.removed),
                                          up_removed=torch.zeros_like(zeroing.up_removed))
            outputs = nothing.outputs(torch.arange(3))
        for output in outputs:
            torch.testing.assert_close(output, hidden[layer + 1][0], rtol=1e-5, atol=1e-5)


def test_rollout_multiplies_the_layers():
    rng = np.random.default_rng(0)
    layers = contributions.row_shares(rng.random((3, 4, 4)))
    rolled = contributions.mixing_rollout(layers)
    np.testing.assert_allclose(rolled[0], layers[0], rtol=1e-6)
    np.testing.assert_allclose(rolled[2], layers[2] @ layers[1] @ layers[0], rtol=1e-5)
    np.testing.assert_allclose(rolled.sum(-1), 1, rtol=1e-5)


def test_attention_views_draw_norm_weighted_rows_as_shares(model):
    run = AttentionRun(model, encoding())
    view = attention_view(run, 1, measure="norm")
    expected = run.norms(1) / run.norms(1).sum(-1, keepdims=True)
    np.testing.assert_allclose(view.weights, expected, rtol=1e-6)
    np.testing.assert_allclose(run.norms(1), contributions.norm_analysis(model, encoding())["heads"][1], rtol=1e-5)
    hidden = attention_view(run, None, measure="norm", hide_specials=True, renormalize=True)
    assert hidden.weights.shape == (2, 4, len(IDS) - 3, len(IDS) - 3)
    np.testing.assert_allclose(hidden.weights.sum(-1), 1, rtol=1e-5)
    with pytest.raises(ValueError, match="measure"):
        attention_view(run, 0, measure="gradient")


def test_contribution_statistics_are_row_means_of_norm_shares():
    norms = np.random.default_rng(1).random((2, 3, len(IDS), len(IDS)))
    stats = contributions.contribution_stats(norms, TOKENS, encoding().special)
    sep = [j for j, t in enumerate(TOKENS) if t == "[SEP]"]
    np.testing.assert_allclose(stats["sep_share"], (norms[..., sep].sum(-1) / norms.sum(-1)).mean(-1))
    np.testing.assert_allclose(stats["cls_share"], (norms[..., 0] / norms.sum(-1)).mean(-1))
    np.testing.assert_allclose(stats["contribution"], norms.sum(-1).mean(-1))


def switched_off(model: BertModel, layer: int, head: int) -> BertModel:
    """The head's value projection zeroed (weights and bias): it outputs nothing, whatever it attends to."""
    hd = model.config.head_dim
    with torch.no_grad():
        value = model.encoder.layer[layer].attention.self.value
        value.weight[head * hd:(head + 1) * hd] = 0
        value.bias[head * hd:(head + 1) * hd] = 0
    return model


def test_gradient_importance_of_a_switched_off_head_is_zero():
    model = switched_off(tiny_model(seed=5), layer=1, head=2)
    enc = encoding()
    for importance in (contributions.output_importance(model, enc, chunk=3), contributions.mlm_importance(model, enc)):
        assert importance.shape == (2, 4)
        assert importance[1, 2] == 0
        assert (np.delete(importance.reshape(-1), 1 * 4 + 2) > 0).all()


def test_output_importance_is_the_derivative_through_the_head_mask(model):
    """Against a central difference of the outputs in ξ_h, at ξ = 1."""
    enc = encoding()
    importance = contributions.output_importance(model, enc)
    step = 1e-3
    for layer, head in [(0, 1), (1, 3)]:
        masks = [torch.ones(2, 4) for _ in range(2)]
        masks[0][layer, head], masks[1][layer, head] = 1 + step, 1 - step
        with torch.inference_mode():
            up, down = (model(**enc.to_tensors(), head_mask=m).last_hidden_state.double() for m in masks)
        np.testing.assert_allclose(importance[layer, head], float((up - down).norm() / (2 * step)), rtol=2e-3)


def test_mlm_importance_needs_the_head_and_the_pruning_curve_spans_every_head(model):
    enc = encoding()
    without = BertModel(PRESETS["test"]).eval()
    with pytest.raises(ValueError, match="masked-LM"):
        contributions.mlm_importance(without, enc)
    counts, moved = contributions.pruning_curve(model, enc, contributions.mlm_importance(model, enc), points=4)
    assert counts == [0, 2, 4, 6, 8]
    assert moved[0] < 1e-6 < moved[-1]


def test_cli_writes_the_documented_json(tmp_path):
    out = tmp_path / "mixing.json"
    assert main(["mixing", "--text", "The cat sat.", "--text-b", "It slept.", "--json", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert list(data) == ["model", "tokens", "norm_based", "value_zeroing"]
    T = len(data["tokens"])
    assert data["tokens"][0] == "[CLS]" and data["tokens"].count("[SEP]") == 2
    assert np.array(data["norm_based"]).shape == (6, 12, T, T)
    assert np.array(data["value_zeroing"]).shape == (6, T, T)
    np.testing.assert_allclose(np.array(data["value_zeroing"]).sum(-1), 1, atol=1e-5)


@pytest.mark.parametrize("arguments, message", [
    (["--text", " \u200b "], "--text is empty"),
    (["--text", "fine", "--model", "/nowhere/model"], "cannot load the model"),
])
def test_cli_refuses_unusable_input_with_exit_code_2(tmp_path, caplog, arguments, message):
    assert main(["mixing", *arguments, "--json", str(tmp_path / "out.json")]) == EXIT_UNUSABLE
    assert message in caplog.text
    assert not (tmp_path / "out.json").exists()


def test_norm_analysis_from_an_attention_run_equals_its_own(model):
    run = AttentionRun(model, encoding())
    own, shared = contributions.norm_analysis(model, encoding()), contributions.norm_analysis(model, encoding(), run)
    for name in ("heads", "residual", "mixing_ratio"):
        np.testing.assert_allclose(shared[name], own[name], rtol=1e-5, atol=1e-6)
