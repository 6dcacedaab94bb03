"""Head overview: what every head attends to, attention rollout, and switching heads off."""
import json

import numpy as np
import pandas as pd
import streamlit as st

from app import contributions, heads, overview, services, url_state
from components.head_grid import head_grid
from components.job_wait import main_view_drawn
from components.matrix_heatmap import matrix_heatmap
from components.stacked_parts import stacked_parts

selection = st.session_state["selection"]
config = selection.model.config
L, nh = config.num_hidden_layers, config.num_attention_heads
enc, patterns, flow = services.head_overview(selection.model_name, selection.text_a, selection.text_b)
contribution = services.head_contributions(selection.model_name, selection.text_a, selection.text_b)
labels = enc.tokens

st.title("Head overview")
st.markdown(
    f"Every one of the {L} × {nh} heads on this input, measured the way Clark et al. (2019) describe "
    "BERT's surface patterns. Each number is a **mean over every query token** ([CLS] and [SEP] included): "
    "**entropy in bits** of the attention row (0 = all on one token, "
    f"log₂ {len(enc)} = {np.log2(len(enc)):.1f} = evenly spread), the attention mass on [CLS], on [SEP] "
    "(all of them), on punctuation pieces, the weight on the previous and the next token, and the mean "
    "distance Σⱼ pᵢⱼ·|i − j| in word pieces. **Click a cell** (or pick below) to choose a head. "
    f"Layers are numbered 1…{L} and heads 1…{nh}, as on every page.")

# The chosen head is bound to the URL as ?pick_layer=&pick_head= (numbered from 1): not ?layer=&head=,
# which the pages this one links to bind, and a link's parameter bound on the page it leaves is dropped.
# A click on a grid takes effect on the next run, before the selectboxes exist.
if "pick_clicked" in st.session_state:
    st.session_state["pick_layer"], st.session_state["pick_head"] = st.session_state.pop("pick_clicked")
grids = st.container()  # drawn above the pick, once the pick is known
st.subheader("The chosen head")
pick, numbers = st.columns(2)
with pick:
    left, right = st.columns(2)
    layer = left.selectbox("Layer", range(L), format_func=url_state.number_label, key="pick_layer",
                           bind="query-params")
    head = right.selectbox("Head", range(nh), format_func=url_state.number_label, key="pick_head",
                           bind="query-params")
    layer_number, head_number = url_state.number(layer), url_state.number(head)
    chosen = f"layer {layer_number}, head {head_number}"
    st.page_link("app/pages/inside_head.py", label=f"Open {chosen} step by step (Inside one head)",
                 icon=":material/neurology:", query_params=url_state.page_params(layer=layer_number, head=head_number))
    st.page_link("app/pages/attention.py", label=f"See {chosen} in the head view (Attention views)",
                 icon=":material/visibility:", query_params=url_state.page_params(layer=layer_number, head=head_number))


def pick_grid(values: np.ndarray, title: str, name: str, bounded: bool) -> None:
    """One statistic's grid, the chosen head outlined; a click on a cell chooses that head."""
    clicked = head_grid(values=values, title=title, key=f"ho_{name}", selected=(layer, head),
                        zmin=0 if bounded else None, zmax=1 if bounded else None)
    if clicked is not None and clicked != st.session_state.get(f"ho_{name}_last"):
        st.session_state[f"ho_{name}_last"] = clicked  # a new click, not the lingering selection
        if clicked != (layer, head):
            st.session_state["pick_clicked"] = clicked
            st.rerun()  # redraw the grids with the new head outlined


with grids:
    columns = st.columns(3)
    for index, (name, title) in enumerate(overview.PATTERNS.items()):
        with columns[index % 3]:
            pick_grid(patterns[name], title, name, bounded=name not in ("entropy", "distance"))  # masses: [0, 1]
with numbers:
    statistics = {**{overview.PATTERNS[n]: patterns[n] for n in overview.PATTERNS},
                  **{contributions.CONTRIBUTION_STATS[n]: contribution[n] for n in contributions.CONTRIBUTION_STATS}}
    st.dataframe(pd.DataFrame({"statistic": list(statistics),
                               chosen: [f"{values[layer, head]:.3f}" for values in statistics.values()]}),
                 hide_index=True)
main_view_drawn()  # under load, every student's grids before anyone's rest of the page

st.header("Attention is not contribution")
st.markdown(
    "A head's output for token i is Σⱼ αᵢⱼ f(xⱼ), f(xⱼ) = (xⱼ W_V + b_V) W_O the value vector through the head's "
    "share of the output projection (Kobayashi et al. 2020). **Norm-based share to [CLS] / [SEP]**: the mean "
    "over query tokens of Σ over those keys of ‖αᵢⱼ f(xⱼ)‖ ÷ Σⱼ ‖αᵢⱼ f(xⱼ)‖, to compare with the attention "
    "mass on them above. **Mean contribution**: the mean over query tokens of Σⱼ ‖αᵢⱼ f(xⱼ)‖, how much the "
    "head sends (in the units of the hidden vectors). High attention with a low share means the head "
    "looks at a token that gives it almost nothing. The Contributions page has the whole layer and value zeroing.")
# The head where attention to [CLS] or [SEP] most overstates what that token contributes.
gaps = {name: patterns[name] - contribution[f"{name}_share"] for name in ("cls", "sep")}
special = max(gaps, key=lambda name: gaps[name].max())
heavy = np.unravel_index(int(gaps[special].argmax()), gaps[special].shape)
token_name = f"[{special.upper()}]"
st.info(f"On this input, layer {heavy[0] + 1} head {heavy[1] + 1} puts {patterns[special][heavy]:.0%} of its "
        f"attention on {token_name} (mean over tokens), but {token_name} gives only "
        f"{contribution[special + '_share'][heavy]:.0%} of its norm-weighted total: the largest such gap of "
        "any head.")
lesson = st.columns(3)
for index, name in enumerate(contributions.CONTRIBUTION_STATS):
    with lesson[index]:
        pick_grid(contribution[name], contributions.CONTRIBUTION_STATS[name], name, bounded=name != "contribution")

st.header("Attention rollout")
st.markdown(
    "Attention mixes tokens layer after layer, so a single layer's weights do not say which **input** "
    "tokens a position finally draws on. Rollout (Abnar & Zuidema 2020) follows the flow: per layer, "
    "average the heads, account for the residual connection as **0.5·A + 0.5·I**, renormalise each row to "
    "sum 1, and multiply through the layers (R₁ = Ã₁, Rₗ = Ãₗ·Rₗ₋₁). Row i of Rₗ: how much of each input "
    "token has reached token i after layer l.")
rollout_layer = st.slider("After layer", 1, L, L, key="rollout", bind="query-params")
matrix_heatmap(values=flow[rollout_layer - 1], rows=labels, columns=[f"{i}: {t}" for i, t in enumerate(labels)],
               title=f"Rollout after layer {rollout_layer} (rows: tokens, columns: input tokens)",
               colorscale="Blues", zmid=None, key="ho_rollout")

st.header("Head ablation")
st.markdown("Switch heads off (their output is set to zero, bert_core's head_mask) and compare the last "
            "layer's output, token by token, with the intact model's: cosine similarity 1 = unchanged.")
options = [heads.head_label(i, h) for i in range(L) for h in range(nh)]
switched_off = st.multiselect("Heads switched off (layer-head)", options, default=[heads.head_label(layer, head)],
                              key="off", bind="query-params")  # ?off=1-4&off=6-12
if switched_off:
    similarity = services.ablation(selection.model_name, selection.text_a, selection.text_b, ",".join(switched_off))
    ablation_table = pd.DataFrame({"token": labels, "cosine": similarity})
    stacked_parts(tokens=labels, parts={"1 − cosine": 1 - similarity}, totals={},
                  title="How much each token's output changed: 1 − cosine(ablated, intact)",
                  y_title="1 − cosine similarity", key="ho_ablation")
    st.caption(f"Mean cosine similarity {similarity.mean():.4f}; lowest {similarity.min():.4f} "
               f"at “{labels[int(similarity.argmin())]}”.")
    st.download_button("Ablation (CSV)", ablation_table.to_csv(index_label="position"), "ablation.csv", "text/csv",
                       on_click="ignore", icon=":material/download:")
else:
    st.info("Pick one or more heads to switch off.")



def rollout_json() -> str:  # built only when the button is pressed: L × T × T numbers
    return json.dumps({"tokens": labels, "residual": 0.5, "after_layer": list(range(1, L + 1)),
                       "rollout": np.round(flow, 6).tolist()})


stats = pd.DataFrame([{"layer": url_state.number(i), "head": url_state.number(h),
                       **{name: float(patterns[name][i, h]) for name in overview.PATTERNS},
                       **{name: float(contribution[name][i, h]) for name in contributions.CONTRIBUTION_STATS}}
                      for i in range(L) for h in range(nh)])
one, two = st.columns(2)
one.download_button("Head statistics (CSV)", stats.to_csv(index=False), "head_overview.csv", "text/csv",
                    on_click="ignore", icon=":material/download:")
two.download_button("Rollout, every layer (JSON)", rollout_json, "rollout.json", "application/json",
                    on_click="ignore", icon=":material/download:")
