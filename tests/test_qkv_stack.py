"""The one-matmul Q/K/V projection follows its three Linear layers: updates, dtype moves, gradients."""
import torch

from bert_core import PRESETS, BertModel


def tiny_model():
    torch.manual_seed(0)
    return BertModel(PRESETS["test"]).eval()


def separate_qkv(attention, x):
    """Q, K, V as three plain Linear calls, the reference for the stacked projection."""
    return torch.cat([attention.query(x), attention.key(x), attention.value(x)], dim=-1)


def test_stacked_projection_equals_three_linears_and_follows_in_place_updates():
    model = tiny_model()
    attention = model.encoder.layer[0].attention.self
    x = torch.randn(2, 5, model.config.hidden_size)
    with torch.inference_mode():
        stacked = torch.nn.functional.linear(x, *attention.qkv_projection())
        assert torch.allclose(stacked, separate_qkv(attention, x), atol=1e-6)
        before = model(torch.tensor([[2, 7, 9, 3]]), output_intermediates=True).intermediates[0].key
    with torch.no_grad():
        attention.key.weight.mul_(2.0)  # an in-place edit, as a weight-loading or ablation tool does
        attention.value.bias.add_(1.0)
    with torch.inference_mode():
        stacked = torch.nn.functional.linear(x, *attention.qkv_projection())
        assert torch.allclose(stacked, separate_qkv(attention, x), atol=1e-6)
        after = model(torch.tensor([[2, 7, 9, 3]]), output_intermediates=True).intermediates[0].key
    assert not torch.allclose(before, after)


def test_stacked_projection_follows_a_dtype_move():
    model = tiny_model()
    ids = torch.tensor([[2, 7, 9, 3]])
    with torch.inference_mode():
        model(ids)  # builds the float32 stack
        model.to(torch.float64)
        out = model(ids, output_attentions=True)
    assert out.last_hidden_state.dtype == torch.float64 and out.attentions[0].dtype == torch.float64


def test_gradients_reach_query_key_and_value_when_training():
    model = tiny_model().train()
    out = model(torch.tensor([[2, 7, 9, 3]]), output_attentions=True)
    # a random weighting: a plain sum of LayerNorm outputs has zero gradient
    (out.last_hidden_state * torch.randn_like(out.last_hidden_state)).sum().backward()
    attention = model.encoder.layer[0].attention.self
    for linear in (attention.query, attention.key, attention.value):
        assert linear.weight.grad is not None and linear.weight.grad.abs().sum() > 0
