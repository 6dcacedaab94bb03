"""One attention head, step by step, with the model's real numbers ("Inside one head" page).

For layer l, head h and query token t, starting from the layer's input X (T, H):
    Q = X·W_Qᵀ + b_Q, K = …, V = …          sliced to head h: (T, d_k), d_k = H / heads
    s = Q[t]·Kᵀ / √d_k                      (T,) one score per key
    p = softmax(s)                          (T,) the attention row bertviz draws
    z_h = p·V                               (d_k,) this head's output for token t
    z = [z_1 … z_heads]                     (H,) every head's output, concatenated
    o = z·W_Oᵀ + b_O                        (H,) the output projection
    LayerNorm(o + X[t])                     (H,) what the feed-forward reads next
Everything is recomputed here from X and the weights, so a test (and the page) can check it
against what the model itself computed. Layer, head and token are 0-based indices here; the page
numbers layers and heads from 1 (X of layer index l is hidden_states[l], the embeddings for l = 0).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from bert_core import BertModel, Encoding


@dataclass(frozen=True)
class HeadSteps:
    x: np.ndarray            # (T, H) the layer's input
    query: np.ndarray        # (T, d_k) Q of this head (every token; row t is the query used)
    key: np.ndarray          # (T, d_k)
    value: np.ndarray        # (T, d_k)
    qk_products: np.ndarray  # (T, d_k) q_t ∘ k_j elementwise: summed over d_k and divided by √d_k gives scores
    scores: np.ndarray       # (T,) q_t·k_j / √d_k
    probs: np.ndarray        # (T,) softmax(scores)
    head_context: np.ndarray    # (d_k,) probs·V
    concatenated: np.ndarray    # (H,) every head's context for token t, head after head
    projected: np.ndarray       # (H,) concatenated·W_Oᵀ + b_O
    attention_output: np.ndarray  # (H,) LayerNorm(projected + x_t)


@dataclass(frozen=True)
class LayerInternals:
    """What the model itself computed, per layer, for checking and for every head's context."""
    hidden_states: np.ndarray     # (L+1, T, H) the input of layer l is hidden_states[l]
    query: np.ndarray             # (L, nh, T, d_k)
    key: np.ndarray
    value: np.ndarray
    context: np.ndarray           # (L, nh, T, d_k)
    attention_output: np.ndarray  # (L, T, H)


def layer_internals(model: BertModel, enc: Encoding) -> LayerInternals:
    """One forward with intermediates, kept as float32 numpy arrays (batch dimension dropped)."""
    device = model.device
    with torch.inference_mode():
        out = model(**enc.to_tensors(device), output_hidden_states=True, output_intermediates=True)

    def stack(tensors):
        return torch.stack([t[0] for t in tensors]).float().cpu().numpy()

    records = out.intermediates
    return LayerInternals(stack(out.hidden_states), stack([r.query for r in records]),
                          stack([r.key for r in records]), stack([r.value for r in records]),
                          stack([r.context for r in records]), stack([r.attention_output for r in records]))


def _head_rows(linear: torch.nn.Linear, head: int, head_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    rows = slice(head * head_dim, (head + 1) * head_dim)
    return linear.weight[rows].float().cpu(), linear.bias[rows].float().cpu()


def head_steps(model: BertModel, x: np.ndarray, layer: int, head: int, token: int) -> HeadSteps:
    """Recompute layer `layer`'s attention for query `token` through head `head`, from its input x (T, H)."""
    config = model.config
    d_k, heads = config.head_dim, config.num_attention_heads
    block = model.encoder.layer[layer].attention
    X = torch.from_numpy(x).float()
    with torch.inference_mode():
        per_head = []
        for h in range(heads):  # every head's Q, K, V: the concatenation needs all their outputs
            q, k, v = (X @ w.T + b for w, b in (_head_rows(block.self.query, h, d_k),
                                                _head_rows(block.self.key, h, d_k),
                                                _head_rows(block.self.value, h, d_k)))
            scores = q[token] @ k.T / math.sqrt(d_k)       # (T,)
            probs = scores.softmax(-1)                     # (T,)
            per_head.append((q, k, v, scores, probs, probs @ v))
        q, k, v, scores, probs, context = per_head[head]
        concatenated = torch.cat([step[5] for step in per_head])                    # (H,)
        out = block.output
        projected = concatenated @ out.dense.weight.float().cpu().T + out.dense.bias.float().cpu()
        normed = torch.nn.functional.layer_norm(projected + X[token], (config.hidden_size,),
                                                out.LayerNorm.weight.float().cpu(), out.LayerNorm.bias.float().cpu(),
                                                out.LayerNorm.eps)
    return HeadSteps(x=x, query=q.numpy(), key=k.numpy(), value=v.numpy(),
                     qk_products=(q[token] * k).numpy(), scores=scores.numpy(), probs=probs.numpy(),
                     head_context=context.numpy(), concatenated=concatenated.numpy(),
                     projected=projected.numpy(), attention_output=normed.numpy())


def largest_difference(steps: HeadSteps, internals: LayerInternals, layer: int, head: int, token: int) -> float:
    """The largest |difference| between the recomputed numbers and the model's own (Q, K, V, the
    head's context, the layer's attention output)."""
    pairs = [(steps.query, internals.query[layer, head]), (steps.key, internals.key[layer, head]),
             (steps.value, internals.value[layer, head]), (steps.head_context, internals.context[layer, head, token]),
             (steps.attention_output, internals.attention_output[layer, token])]
    return float(max(np.abs(mine - theirs).max() for mine, theirs in pairs))
