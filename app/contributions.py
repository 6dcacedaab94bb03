"""What each head contributes, beyond its attention weights ("Contributions" page, `python -m app mixing`).

Plain functions, no Streamlit. Attention arrays are (L, nh, T, T) as everywhere: layer, head, row i
(the token being computed), column j (the token it reads). Conventions, as the papers define them:

- Norm-based attention (Kobayashi et al. 2020, "Attention is not only a weight"): a head's output for
  token i is Σ_j α_ij f(x_j) (plus the output bias), with f(x_j) = (x_j W_V^h + b_V^h) W_O^h the value
  vector, b_V included, carried through the head's share W_O^h of the output projection. The head's
  norm-based weight is ‖α_ij f(x_j)‖ = α_ij ‖f(x_j)‖.
- Attention + residual (Kobayashi et al. 2021, "Incorporating residual and normalization layers",
  their AttnRes-N): for the whole layer, ‖Σ_h α^h_ij f^h(x_j) + [i = j] x_i‖, with x_i the layer's
  input (the residual); b_O is left out, as in the paper. The context-mixing ratio of token i is
  ‖mixing‖ / (‖mixing‖ + ‖preserving‖), mixing = Σ_{j≠i} Σ_h α^h_ij f^h(x_j),
  preserving = Σ_h α^h_ii f^h(x_i) + x_i.
- Value zeroing (Mohebbi et al. 2023): in layer l, token j's value vector is set to zero in every head
  and the layer's output (after its feed-forward and LayerNorms) is recomputed from the layer's original
  input; C_ij = cosine distance between token i's output with and without j's value. Each row is then
  divided by its sum (rows of zeros stay zero), and the rollout is R_1 = C_1, R_l = C_l·R_(l-1), with no
  residual added (the layer output already holds it), as in the authors' code.
- Head importance (Michel et al. 2019): the head mask ξ (1 = on) scales each head's output; importance
  is the size of the derivative through ξ at ξ = 1. For every model: ‖∂Y/∂ξ_h‖, Y the last layer's output
  (T × hidden), the first-order estimate of how far the outputs move when head h is switched off
  (Y(ξ_h = 0) ≈ Y − ∂Y/∂ξ_h). The squared distance ‖Y(ξ) − Y(1)‖² would be the scalar objective, but its
  gradient at ξ = 1 is zero for every head (it is a minimum), so it ranks nothing. For models with a
  masked-LM head also Michel's own |∂L/∂ξ_h|, L = the masked-LM cross-entropy of the sentence's own word
  pieces read at their positions from the unmasked input (BERT trains on this case: 10 % of its
  predicted pieces are left unchanged), averaged over the non-special pieces.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bert_core import BertModel, Encoding

from .overview import attention_to

CONTRIBUTION_STATS = {"contribution": "Mean contribution Σⱼ ‖αᵢⱼ f(xⱼ)‖",
                      "cls_share": "Norm-based share to [CLS]", "sep_share": "Norm-based share to [SEP]"}
IMPORTANCE = {"output": "Output change ‖∂Y/∂ξ‖", "mlm": "Masked-LM loss |∂L/∂ξ|"}  # objective → its label


def transformed_vectors(model: BertModel, layer: int, layer_input: torch.Tensor) -> torch.Tensor:
    """(nh, T, H): f_h(x_j) = (x_j W_V^h + b_V^h) W_O^h for every head h and token j; layer_input (1, T, H)."""
    attention = model.encoder.layer[layer].attention
    values = attention.self.split_heads(attention.self.value(layer_input))[0]    # (nh, T, hd), b_V included
    nh, _, hd = values.shape
    w_out = attention.output.dense.weight.view(-1, nh, hd)                      # (H, nh, hd): W_O split by head
    return torch.einsum("htv,dhv->htd", values, w_out)


def head_norms(attn: torch.Tensor, transformed: torch.Tensor) -> torch.Tensor:
    """(nh, T, T): ‖α_ij f_h(x_j)‖ = α_ij ‖f_h(x_j)‖ (α ≥ 0), from attn (nh, T, T) and transformed (nh, T, H)."""
    return attn * transformed.norm(dim=-1)[:, None, :]


def attended(model: BertModel, layer: int, attn: torch.Tensor, layer_input: torch.Tensor) -> torch.Tensor:
    """(T, H): Σ_j Σ_h α^h_ij f^h(x_j), the attention block's output before b_O and the residual, computed
    as (Σ_h α^h V^h) W_O^h: T²·H multiplications, not the T²·nh·H of summing the f vectors."""
    attention = model.encoder.layer[layer].attention
    values = attention.self.split_heads(attention.self.value(layer_input))[0]     # (nh, T, hd)
    context = (attn.to(values.dtype) @ values).transpose(0, 1).reshape(len(values[0]), -1)  # heads concatenated
    return context @ attention.output.dense.weight.T


def attention_residual(attn: torch.Tensor, transformed: torch.Tensor, layer_input: torch.Tensor,
                       everything: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(T, T) ‖Σ_h α^h_ij f^h(x_j) + [i = j] x_i‖ and (T,) the context-mixing ratio of each token, from
    attn (nh, T, T), transformed (nh, T, H), layer_input (1, T, H) and everything = attended(…) (T, H).

    The T × T × H vectors are never built (400 MB a layer at 512 pieces): the squared norm of a sum
    over heads is Σ_h Σ_g α^h_ij α^g_ij ⟨f^h(x_j), f^g(x_j)⟩, from each token's nh × nh Gram matrix, in
    float64 since the terms may cancel."""
    a, f, x = attn.double(), transformed.double(), layer_input[0].double()
    gram = f.transpose(0, 1) @ f.permute(1, 2, 0)                               # (T_j, nh, nh)
    weights = a.permute(2, 0, 1).contiguous()                                   # (T_j, nh, T_i): α^h_ij
    squared = ((gram @ weights) * weights).sum(1).T                             # ‖Σ_h α f‖², (T_i, T_j)
    own = torch.einsum("hi,hid->id", torch.diagonal(a, dim1=-2, dim2=-1), f)   # Σ_h α_ii f(x_i), (T, H)
    diagonal = torch.arange(len(x))
    squared[diagonal, diagonal] += 2 * (own * x).sum(-1) + (x * x).sum(-1)     # + x_i on the diagonal
    mixing, preserving = (everything.double() - own).norm(dim=-1), (own + x).norm(dim=-1)
    return squared.clamp_min(0).sqrt().float(), (mixing / (mixing + preserving)).float()


def _layer_inputs(model: BertModel, enc: Encoding) -> tuple[torch.Tensor, ...]:
    """hidden_states of one forward: L + 1 tensors (1, T, H); layer l reads [l] and writes [l + 1]."""
    with torch.inference_mode():
        return model(**enc.to_tensors(model.device), output_hidden_states=True).hidden_states


def norm_analysis(model: BertModel, enc: Encoding, run=None) -> dict[str, np.ndarray]:
    """Every layer: "heads" (L, nh, T, T) ‖α f(x)‖, "residual" (L, T, T) attention + residual,
    "mixing_ratio" (L, T). With `run` (the app.attention.AttentionRun of this input), its forward and the
    maps it already holds are used instead of a forward of its own."""
    hidden = _layer_inputs(model, enc) if run is None else None
    heads, residual, ratio = [], [], []
    with torch.inference_mode():
        for layer in range(model.config.num_hidden_layers):
            x = hidden[layer] if run is None else run.layer_input(layer)
            transformed = transformed_vectors(model, layer, x).float()
            if run is None:
                attn = model.attention_probabilities(x, layer)[0].float()
                heads.append(head_norms(attn, transformed))
            else:
                attn = torch.tensor(run.layer(layer), device=x.device)
                heads.append(torch.tensor(run.norms(layer)))
            everything = attended(model, layer, attn, x).float()
            norms, mixing = attention_residual(attn, transformed, x.float(), everything)
            residual.append(norms.cpu())
            ratio.append(mixing.cpu())
    return {"heads": torch.stack([h.cpu() for h in heads]).numpy(), "residual": torch.stack(residual).numpy(),
            "mixing_ratio": torch.stack(ratio).numpy()}


def row_shares(values: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (a row of zeros stays zero): for drawing norms like attention weights."""
    sums = values.sum(-1, keepdims=True)
    return np.divide(values, sums, out=np.zeros_like(values), where=sums > 0)


def contribution_stats(norms: np.ndarray, tokens: list[str], special: list[bool]) -> dict[str, np.ndarray]:
    """(L, nh) each, means over every query token (as app.overview's statistics): "contribution" the
    row's total Σ_j ‖α_ij f(x_j)‖ (how much the head sends, in the hidden space's units), and the share of
    that total coming from [CLS] / [SEP] (all of them), to set beside the attention to them."""
    tokens_array, special_array = np.array(tokens), np.array(special, dtype=bool)
    shares = row_shares(norms)
    return {"contribution": norms.sum(-1).mean(-1),
            "cls_share": attention_to(shares, special_array & (tokens_array == "[CLS]")),
            "sep_share": attention_to(shares, special_array & (tokens_array == "[SEP]"))}


def cosine_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """1 − cos(a, b) over the last axis, as half the squared distance between the unit vectors: the same
    number, but 1 − cos loses distances under ~1e-7 to float32 rounding (a token that barely moves, as
    [CLS] in middle layers, then gets a row of rounding noise that its row share would blow up)."""
    return (F.normalize(a, dim=-1) - F.normalize(b, dim=-1)).square().sum(-1) / 2


def _at_least_float32(values: torch.Tensor) -> torch.Tensor:
    return values.float() if values.dtype in (torch.float16, torch.bfloat16) else values


@dataclass(frozen=True, eq=False)
class ZeroingLayer:
    """One layer's value zeroing, prepared from the intact run. Zeroing v_j takes α_ij^h · v_j^h out of row
    i's context in each head h. Every step up to the feed-forward's activation is linear in that except the
    attention LayerNorm's division by the standard deviation, a scalar per row, so the intact sum and each
    v_j^h W_O^h go through the output projection, LayerNorm's centring and the feed-forward's first product
    once; a zeroed run then needs only a weighted sum of those (nh terms), its LayerNorm and the second
    product, the largest piece of T × T work left. The result is the same function, to float rounding."""
    module: nn.Module
    probs: torch.Tensor       # (nh, T, T) the intact attention weights
    summed: torch.Tensor      # (T, H) the attention LayerNorm's input: x_i + context_i W_O + b_O
    removed: torch.Tensor     # (nh, T, H) v_j^h W_O^h: what zeroing token j takes out of that sum, times α_ij^h
    up_summed: torch.Tensor   # (T, I) summed, centred, times γ, through the feed-forward's first weights
    up_removed: torch.Tensor  # (nh, T, I) the same for each v_j^h W_O^h
    up_bias: torch.Tensor     # (I,) β through the first weights, plus their bias

    @classmethod
    def of(cls, model: BertModel, layer: int, x: torch.Tensor) -> ZeroingLayer:
        module = model.encoder.layer[layer]
        self_attention, output = module.attention.self, module.attention.output
        v = self_attention.split_heads(self_attention.value(x))[0]                 # (nh, T, hd)
        probs = model.attention_probabilities(x, layer)[0]
        nh, T, hd = v.shape
        summed = output.dense((probs @ v).transpose(0, 1).reshape(T, nh * hd)) + x[0]
        removed = torch.einsum("htd,ohd->hto", v, output.dense.weight.view(-1, nh, hd))
        up = module.intermediate.dense
        up_weight = up.weight * output.LayerNorm.weight                           # diag(γ) folded in

        def centred_up(vectors):
            return (vectors - vectors.mean(-1, keepdim=True)) @ up_weight.T

        return cls(module, probs, summed, removed, centred_up(summed), centred_up(removed), up(output.LayerNorm.bias))

    def outputs(self, zeroed: torch.Tensor) -> torch.Tensor:
        """(J, T, H): the layer's output, once for each token in `zeroed` (J,) with its value vectors zeroed
        in every head."""
        weights = self.probs[:, :, zeroed].permute(2, 1, 0)                          # (J, T, nh)
        # the intact rows less α_ij^h times what v_j^h carries, per zeroed j: baddbmm(M, A, B, alpha=-1) = M - A·B
        summed = torch.baddbmm(self.summed, weights, self.removed[:, zeroed].transpose(0, 1), alpha=-1)
        norm = self.module.attention.output.LayerNorm
        attention_output, _, inverse_std = torch.native_layer_norm(    # its 1/σ per row comes with it
            summed, norm.normalized_shape, norm.weight, norm.bias, norm.eps)
        up = torch.baddbmm(self.up_summed, weights, self.up_removed[:, zeroed].transpose(0, 1), alpha=-1)
        hidden = self.module.intermediate.intermediate_act_fn(up.mul_(inverse_std).add_(self.up_bias))
        return self.module.output(hidden, attention_output)


def value_zeroing(model: BertModel, enc: Encoding, *, batch: int | None = None, normalize: bool = True) -> np.ndarray:
    """(L, T, T) value-zeroing context mixing (Mohebbi et al. 2023): row i, column j = cosine distance
    between token i's layer output with and without token j's value vectors, rows divided by their sums
    (normalize=False: the raw distances). T zeroed runs of each layer, `batch` at a time (None: about
    1,536 rows, whose feed-forward activations stay in a CPU's cache)."""
    hidden = _layer_inputs(model, enc)
    T = len(enc)
    batch = batch or max(1, 1536 // T)
    scores = torch.zeros(model.config.num_hidden_layers, T, T)
    with torch.inference_mode():
        for layer in range(model.config.num_hidden_layers):
            zeroing, intact = ZeroingLayer.of(model, layer, hidden[layer]), _at_least_float32(hidden[layer + 1][0])
            for start in range(0, T, batch):
                zeroed = torch.arange(start, min(start + batch, T), device=intact.device)
                distance = cosine_distance(_at_least_float32(zeroing.outputs(zeroed)), intact[None])  # (J, T)
                scores[layer, :, start:start + len(zeroed)] = distance.T.cpu()
    scores = scores.numpy()
    return row_shares(scores) if normalize else scores


def mixing_rollout(matrices: np.ndarray) -> np.ndarray:
    """(L, T, T): R_1 = C_1, R_l = C_l·R_(l-1) (no residual added: value zeroing's layer output holds it)."""
    result, flow = np.empty(matrices.shape, dtype=np.float64), np.eye(matrices.shape[-1])
    for layer, matrix in enumerate(matrices.astype(np.float64)):
        flow = matrix @ flow
        result[layer] = flow
    return result.astype(np.float32)


def output_importance(model: BertModel, enc: Encoding, *, chunk: int | None = None) -> np.ndarray:
    """(L, nh): ‖∂Y/∂ξ_h‖ at ξ = 1, Y the last layer's output (T × H), by forward-mode differentiation:
    one Jacobian-vector product per head, `chunk` of them batched (None: a budget by input length)."""
    L, nh = model.config.num_hidden_layers, model.config.num_attention_heads
    inputs = enc.to_tensors(model.device)
    ones = torch.ones(L, nh, device=model.device)

    def outputs(mask: torch.Tensor) -> torch.Tensor:
        # output_attentions: the explicit softmax path (the fused kernel has no forward-mode derivative)
        return model(**inputs, head_mask=mask, output_attentions=True).last_hidden_state

    def moved(direction: torch.Tensor) -> torch.Tensor:
        return torch.func.jvp(outputs, (ones,), (direction,))[1].float().norm()

    basis = torch.eye(L * nh, device=model.device).view(L * nh, L, nh)
    chunk = chunk or max(1, min(L * nh, 2_000_000 // (nh * len(enc) ** 2)))  # ≤ ~8 MB of attention maps a tangent
    with torch.no_grad():
        return torch.func.vmap(moved, chunk_size=chunk)(basis).view(L, nh).cpu().numpy()


def mlm_importance(model: BertModel, enc: Encoding) -> np.ndarray:
    """(L, nh): |∂L/∂ξ_h| at ξ = 1 (Michel et al. 2019) for L the masked-LM loss of the sentence's own
    pieces (see the module's docstring); raises ValueError when the model has no masked-LM head."""
    if "mlm" not in model.heads:
        raise ValueError("this checkpoint has no masked-LM head (cls.predictions.*)")
    inputs = enc.to_tensors(model.device)
    mask = torch.ones(model.config.num_hidden_layers, model.config.num_attention_heads, device=model.device,
                      requires_grad=True)
    words = torch.tensor([not s for s in enc.special], device=model.device)
    with torch.enable_grad():
        logits = model.mlm_logits(model(**inputs, head_mask=mask).last_hidden_state)[0]
        loss = F.cross_entropy(logits[words].float(), inputs["input_ids"][0][words])
        (gradient,) = torch.autograd.grad(loss, mask)
    return gradient.abs().cpu().numpy()


def pruning_curve(model: BertModel, enc: Encoding, importance: np.ndarray,
                  points: int = 24) -> tuple[list[int], list[float]]:
    """Heads switched off from least to most important (ties in reading order): after k of them, the mean
    over tokens of 1 − cosine(Y_k, Y), Y the intact last-layer output. About `points` values of k from 0
    to every head."""
    L, nh = importance.shape
    order = np.argsort(importance.reshape(-1), kind="stable")
    counts = sorted({int(round(k)) for k in np.linspace(0, L * nh, min(points, L * nh) + 1)})
    inputs = enc.to_tensors(model.device)
    moved = []
    with torch.inference_mode():
        intact = model(**inputs).last_hidden_state[0].float()
        for count in counts:
            mask = torch.ones(L * nh, device=model.device)
            mask[torch.as_tensor(order[:count], device=model.device)] = 0
            pruned = model(**inputs, head_mask=mask.view(L, nh)).last_hidden_state[0].float()
            moved.append(float(cosine_distance(pruned, intact).mean()))
    return counts, moved


def mixing_json(model_name: str, enc: Encoding, norms: dict[str, np.ndarray], zeroing: np.ndarray) -> dict:
    """What `python -m app mixing` writes: "norm_based" [layer][head] T × T of ‖α_ij f(x_j)‖ (not
    normalised), "value_zeroing" [layer] T × T (rows summing to 1, as in the paper)."""
    return {"model": model_name, "tokens": list(enc.tokens),
            "norm_based": np.round(norms["heads"].astype(float), 6).tolist(),
            "value_zeroing": np.round(zeroing.astype(float), 6).tolist()}
