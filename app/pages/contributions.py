"""Contributions: what each head and layer actually adds, beyond its attention weights."""
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import contributions, services, url_state
from components.figure_download import figure_download
from components.head_grid import head_grid
from components.matrix_heatmap import matrix_heatmap
from components.plotly_text import plain_all

MAX_ZEROING_PIECES = 128  # value zeroing and head importance run the model T times over: seconds at 128 on a CPU
AUTO_IMPORTANCE_PIECES = 64  # longer inputs compute head importance (a derivative per head) only when asked

selection = st.session_state["selection"]
model = selection.model
L, nh = model.config.num_hidden_layers, model.config.num_attention_heads
enc, norms = services.norm_mixing(selection.model_name, selection.text_a, selection.text_b)
labels = enc.tokens
columns = [f"{i}: {t}" for i, t in enumerate(labels)]

st.title("Contributions")
st.markdown(
    "Attention weights say where a head looks, not how much it passes on. A head can put 90 % of its "
    "attention on [SEP] and change almost nothing, because the vector it takes from [SEP] is tiny. Three "
    "measures from the literature, on this input; layers are numbered 1…"
    f"{L} and heads 1…{nh}, as on every page. The Attention views page draws norm-weighted heads too "
    "(its **Draw** choice), and the Head overview sets each head's contribution beside its attention.")

layer = st.selectbox("Layer", range(L), format_func=url_state.number_label, key="mix_layer", bind="query-params")
layer_number = url_state.number(layer)

st.header("Norm-based attention: the whole layer, with the residual")
st.markdown(
    "Kobayashi et al. (2020) write a head's output for token i as Σⱼ αᵢⱼ f(xⱼ), with "
    "f(xⱼ) = (xⱼ W_V + b_V) W_O the value vector carried through the head's share of the output projection, "
    "and measure ‖αᵢⱼ f(xⱼ)‖ instead of αᵢⱼ. For the whole layer, Kobayashi et al. (2021, their AttnRes-N) "
    "add the heads and the residual connection: **‖Σₕ αᵢⱼ fₕ(xⱼ) + [i = j] xᵢ‖**, x the layer's input "
    "(the output bias b_O is left out, as in the paper). The **context-mixing ratio** of token i is "
    "‖mixing‖ / (‖mixing‖ + ‖preserving‖) with mixing = Σ_{j≠i} Σₕ αᵢⱼ fₕ(xⱼ) and preserving = "
    "Σₕ αᵢᵢ fₕ(xᵢ) + xᵢ: how much of what the attention block adds to token i comes from the other tokens.")
left, right = st.columns([3, 2])
with left:
    matrix_heatmap(values=contributions.row_shares(norms["residual"][layer]), rows=labels, columns=columns,
                   title=f"Layer {layer_number}: attention + residual, each row's shares", colorscale="Blues",
                   zmid=None, key="contrib_residual")
    st.caption("Each row divided by its sum (the diagonal holds the residual xᵢ). Exact norms: the downloads.")
with right:
    ratio = norms["mixing_ratio"][layer]
    bars = go.Figure(go.Bar(x=plain_all(columns), y=ratio, marker_color="#4c78a8",
                            hovertemplate="%{x}<br>mixing ratio %{y:.3f}<extra></extra>"))
    bars.update_layout(title=f"Layer {layer_number}: context-mixing ratio per token", yaxis=dict(range=[0, 1]),
                       height=420, margin=dict(t=50, l=10, r=10, b=10))
    st.plotly_chart(bars, key="contrib_ratio_chart")
    figure_download(figure=bars, file_name="mixing_ratio.html", key="contrib_ratio")
    st.caption(f"Mean over tokens: {ratio.mean():.1%} from context in layer {layer_number}; over all layers "
               f"{norms['mixing_ratio'].mean():.1%}. The residual keeps most of each token.")

too_long = len(enc) > MAX_ZEROING_PIECES
st.header("Value zeroing")
st.markdown(
    "Mohebbi et al. (2023) ask the model directly: in layer l, set token j's value vector to zero in every "
    "head, recompute the layer's output (feed-forward and LayerNorms included) from the layer's own input, "
    "and measure how far each token's output moved: **Cᵢⱼ = cosine distance** between token i's output with "
    "and without token j's value. Each row is then divided by its sum, as in the paper. The **rollout** "
    "multiplies the layers, R₁ = C₁, Rₗ = Cₗ·Rₗ₋₁ (no residual added: the layer output already holds it).")
zeroing = rollout = None
if too_long:
    st.warning(f"Value zeroing and head importance run the model about {len(enc)} times per layer: this input has "
               f"{len(enc)} pieces, more than the {MAX_ZEROING_PIECES} this page computes. Shorten the text, or "
               "use `python -m app mixing` (no limit).")
else:
    zeroing, rollout = services.value_zeroing(selection.model_name, selection.text_a, selection.text_b)
    view = st.radio("Show", ["This layer", "Rollout up to this layer"], horizontal=True, key="vz_view",
                    bind="query-params")
    shown = zeroing[layer] if view == "This layer" else rollout[layer]
    what = f"layer {layer_number}" if view == "This layer" else f"rollout after layer {layer_number}"
    matrix_heatmap(values=shown, rows=labels, columns=columns, colorscale="Blues", zmid=None, key="contrib_vz",
                   title=f"Value zeroing, {what} (rows: tokens, columns: the token zeroed)")

st.header("Head importance")
st.markdown(
    "Michel et al. (2019) switch heads through the head mask ξ (1 = on, 0 = off) and score head h by the size "
    "of the derivative through ξₕ at ξ = 1, the first-order estimate of what switching it off would do. "
    "**Every model**: ‖∂Y/∂ξₕ‖, Y the last layer's output (tokens × hidden): how far the outputs move, to "
    "first order, without head h. (The squared distance ‖Y(ξ) − Y‖² has zero gradient at ξ = 1 for every "
    "head, a minimum, so it ranks nothing.) **Masked-LM models**: Michel's own |∂L/∂ξₕ|, L the masked-LM "
    "cross-entropy of the sentence's own pieces, predicted at their positions from the unmasked input (BERT "
    "trains on this: 10 % of its predicted pieces are left unchanged), averaged over the non-special pieces.")
objectives = {contributions.IMPORTANCE[name]: name for name in ["output"] + (["mlm"] if "mlm" in model.heads else [])}
if "mlm" not in model.heads:
    st.info("This model has no masked-LM head: the importance is the output one only.")
importance = None
wanted = not too_long and st.toggle(
    "Compute head importance", value=len(enc) <= AUTO_IMPORTANCE_PIECES, key="importance",
    help=f"One forward-mode derivative per head ({L * nh} of them): computed at once up to "
         f"{AUTO_IMPORTANCE_PIECES} pieces, on request up to {MAX_ZEROING_PIECES}")
if wanted:
    objective = objectives[st.radio("Objective", list(objectives), horizontal=True, key="objective",
                                    bind="query-params")]
    importance, (counts, moved) = services.head_importance(selection.model_name, selection.text_a,
                                                           selection.text_b, objective)
    grid, curve = st.columns(2)
    with grid:
        head_grid(values=importance, title=contributions.IMPORTANCE[objective], key="contrib_importance")
        top = np.unravel_index(np.argsort(-importance, axis=None)[:3], importance.shape)
        st.caption("Most important: " + ", ".join(f"layer {i + 1} head {h + 1} ({importance[i, h]:.3g})"
                                                  for i, h in zip(*top, strict=True)))
    with curve:
        pruning = go.Figure(go.Scatter(x=counts, y=moved, mode="lines+markers",
                                       hovertemplate="%{x} heads off<br>mean 1 − cosine %{y:.4f}<extra></extra>"))
        pruning.update_layout(title="Pruning curve: heads off, least important first",
                              xaxis_title=f"heads switched off (of {L * nh})",
                              yaxis_title="mean over tokens of 1 − cosine(Y, intact Y)", height=420,
                              margin=dict(t=50, l=10, r=10, b=10))
        st.plotly_chart(pruning, key="contrib_pruning_chart")
        figure_download(figure=pruning, file_name="pruning_curve.html", key="contrib_pruning")
        st.caption("How far the last layer's output moves as heads are switched off in order of importance "
                   "(about 24 steps). A good ranking keeps the curve flat for long.")

st.subheader("Downloads")
st.caption("Every chart's own toolbar (camera icon) saves it as PNG; the buttons under the charts save them as HTML.")


def mixing_json() -> str:  # built when pressed: the same JSON as `python -m app mixing`
    zeroing_now = zeroing if zeroing is not None else services.value_zeroing(
        selection.model_name, selection.text_a, selection.text_b)[0]
    return json.dumps(contributions.mixing_json(selection.model_name, enc, norms, zeroing_now), ensure_ascii=False)


ratios = pd.DataFrame({"layer": np.repeat(np.arange(1, L + 1), len(enc)), "position": np.tile(np.arange(len(enc)), L),
                       "token": labels * L, "mixing_ratio": norms["mixing_ratio"].reshape(-1)})
one, two, three = st.columns(3)
if not too_long:
    one.download_button("Mixing matrices (JSON)", mixing_json, "mixing.json", "application/json", on_click="ignore",
                        icon=":material/download:")
two.download_button("Context-mixing ratios (CSV)", ratios.to_csv(index=False), "mixing_ratio.csv", "text/csv",
                    on_click="ignore", icon=":material/download:")
if importance is not None:
    table = pd.DataFrame([{"layer": i + 1, "head": h + 1, "importance": float(importance[i, h])}
                          for i in range(L) for h in range(nh)])
    three.download_button("Head importance (CSV)", table.to_csv(index=False), "head_importance.csv", "text/csv",
                          on_click="ignore", icon=":material/download:")
