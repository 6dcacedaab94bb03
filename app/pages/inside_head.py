"""Inside one head: a classroom walkthrough of self-attention with the model's real numbers."""
import json

import numpy as np
import pandas as pd
import streamlit as st

from app import inputs, services, url_state, walkthrough
from components.matrix_heatmap import matrix_heatmap
from components.query_key import query_key

selection = st.session_state["selection"]
model = selection.model
config = model.config
L, nh, H, d_k = config.num_hidden_layers, config.num_attention_heads, config.hidden_size, config.head_dim
enc, internals = services.layer_internals(selection.model_name, selection.text_a, selection.text_b)
T = len(enc)
labels = enc.tokens

st.title("Inside one head")
st.markdown("Self-attention in one head, step by step, for one token, with this model's real numbers. "
            "Pick a layer, a head and the token whose query we follow.")

# Layer and head are bound to the URL (?layer=&head=, numbered from 1; the widgets hold 0-based
# indices). The token is written by hand (?token=, its position): a bound selectbox would link its
# label, which also shows the token's text.
url_state.seed_int("token", "token", min(1, T - 1), 0, T - 1)
left, middle, right = st.columns(3)
layer = left.selectbox("Layer", range(L), index=min(1, L - 1), format_func=url_state.number_label, key="layer",
                       bind="query-params")
head = middle.selectbox("Head", range(nh), index=min(1, nh - 1), format_func=url_state.number_label, key="head",
                        bind="query-params")
token = right.selectbox("Query token", range(T), key="token", format_func=lambda i: f"{i}: {labels[i]}")
url_state.set_value("token", token)
layer_number, head_number = url_state.number(layer), url_state.number(head)
st.page_link("app/pages/head_overview.py", label="All heads at a glance (Head overview)", icon=":material/grid_view:",
             query_params=url_state.page_params(pick_layer=layer_number, pick_head=head_number))

steps = walkthrough.head_steps(model, internals.hidden_states[layer], layer, head, token)
difference = walkthrough.largest_difference(steps, internals, layer, head, token)
token_label = f"“{labels[token]}” (position {token})"
token_md = inputs.escape_markdown(token_label)

st.header("1. The input X")
source = "the embedding output (layer 0)" if layer == 0 else f"the output of layer {layer_number - 1}"
st.markdown(f"X is the input of layer {layer_number}: {source}, one row of {H} numbers per token, shape "
            f"**({T}, {H})**. Layers are numbered 1…{L} and heads 1…{nh}. Shown: the first 32 dimensions.")
matrix_heatmap(values=steps.x[:, :32], rows=labels, columns=[str(d) for d in range(min(32, H))],
               title=f"X, layer {layer_number} input (first 32 of {H} dimensions)", highlight_row=token, key="ih_x")

st.header("2. Queries, keys and values")
st.markdown(f"Head {head_number} multiplies X by its own slice of three learned matrices: "
            f"$Q = X W_Q^T + b_Q$, and likewise K and V. Each W is **({d_k}, {H})**, so Q, K and V are "
            f"**({T}, {d_k})**: {nh} heads × {d_k} = {H}, the model's width.")
q_col, k_col, v_col = st.columns(3)
dims = [str(d) for d in range(d_k)]
with q_col:
    matrix_heatmap(values=steps.query, rows=labels, columns=dims, title="Q (queries)", highlight_row=token, key="ih_q")
with k_col:
    matrix_heatmap(values=steps.key, rows=labels, columns=dims, title="K (keys)", key="ih_k")
with v_col:
    matrix_heatmap(values=steps.value, rows=labels, columns=dims, title="V (values)", key="ih_v")

st.header("3. Scores: q·k / √dₖ, then softmax")
st.markdown(f"The query of {token_md} meets every key: $s_j = q \\cdot k_j / \\sqrt{{{d_k}}}$. Below, as in bertviz's "
            "neuron view, each row multiplies q and $k_j$ **dimension by dimension** (red: they agree, blue: "
            "they disagree); a row's sum divided by √dₖ is its score, and softmax turns the scores into "
            "weights that sum to 1.")
query_key(products=steps.qk_products, scores=steps.scores, probs=steps.probs, tokens=labels,
          query_label=token_label, key="ih_qk")

st.header("4. The weighted sum of V")
top = np.argsort(-steps.probs)[:3]
st.markdown(f"The head's output for {token_md} is $\\sum_j p_j v_j$, shape **({d_k},)**. Most of it comes from "
            + ", ".join(f"“{inputs.escape_markdown(labels[j])}” ({steps.probs[j]:.0%})" for j in top) + ".")
matrix_heatmap(values=steps.head_context[None, :], rows=[f"head {head_number} output"], columns=dims,
               title="p·V for this token", height=180, key="ih_context")

st.header("5. All heads together, then Wᴼ")
st.markdown(f"Every head does the same in parallel; their {nh} outputs of {d_k} numbers are **concatenated** "
            f"into {H} numbers (head {head_number} is columns {head * d_k}–{(head + 1) * d_k - 1}), multiplied by "
            f"$W_O$ **({H}, {H})**, added to X (the residual connection) and normalised: "
            "$\\mathrm{LayerNorm}(z W_O^T + b_O + x_t)$. That is what the layer's feed-forward reads.")
stages = np.stack([steps.concatenated, steps.projected, steps.attention_output])
matrix_heatmap(values=stages, rows=["concatenated heads z", "z·Wᴼᵀ + bᴼ", "LayerNorm(… + x)"],
               columns=[str(d) for d in range(H)],
               title=f"{token_label}: after the attention block (outlined: head {head_number})",
               highlight_columns=(head * d_k, (head + 1) * d_k - 1), height=260, key="ih_output")
if difference < 1e-3:
    st.success(f"Check: recomputed here from X and the weights, these numbers match the model's own Q, K, V, "
               f"head output and attention output (largest difference {difference:.1e}).")
else:
    st.warning(f"The recomputed numbers differ from the model's own by up to {difference:.1e} "
               "(low-precision weights?).")

steps_json = {"layer": layer_number, "head": head_number, "token": token, "tokens": labels, "d_k": d_k,
              "scores": steps.scores.tolist(), "probs": steps.probs.tolist(), "query": steps.query[token].tolist(),
              "head_context": steps.head_context.tolist(), "attention_output": steps.attention_output.tolist()}
table = pd.DataFrame({"key": labels, "score": steps.scores, "softmax": steps.probs,
                      **{f"q*k_{d}": steps.qk_products[:, d] for d in range(d_k)}})
one, two = st.columns(2)
one.download_button("Scores and q∘k (CSV)", table.to_csv(index_label="position"),
                    f"head_L{layer_number}_H{head_number}_T{token}.csv", "text/csv", on_click="ignore",
                    icon=":material/download:")
two.download_button("Every step (JSON)", json.dumps(steps_json), f"head_L{layer_number}_H{head_number}_T{token}.json",
                    "application/json", on_click="ignore", icon=":material/download:")
