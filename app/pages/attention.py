"""Attention views: bertviz's head and model views (offline, compact) and one head's exact heatmap."""
from functools import partial

import streamlit as st

from app import services, url_state
from app.attention import DIRECTIONS, MEASURES, attention_view, head_csv, head_json
from components.attention_heatmap import render_attention_heatmap
from components.bertviz_views import MIN_OPACITY, MIN_WEIGHT, THUMBNAIL_MIN_WEIGHT, render_head_view, render_model_view
from components.html import png_download
from components.job_wait import main_view_drawn

VIEWS = ("Head view", "Model view")

st.title("Attention views")
selection = st.session_state["selection"]  # the sidebar has checked the text and announced any truncation
run = services.attention_run(selection.model_name, selection.text_a, selection.text_b)
is_pair = bool(selection.text_b.strip())


@st.fragment
def views() -> None:
    """Everything below redraws from the cached forward: changing a control never re-runs the model."""
    # Bound to the URL: the keys are the query names (?view=&layer=&head=&dir=&hide=&renorm=&words=).
    controls = st.columns([2, 1, 1, 3])
    kind = controls[0].segmented_control("View", VIEWS, default=VIEWS[0], key="view",
                                         bind="query-params") or VIEWS[0]
    layer = controls[1].selectbox("Layer", range(run.num_layers), format_func=url_state.number_label, key="layer",
                                  bind="query-params")
    head = controls[2].selectbox("Head (heatmap)", range(run.num_heads), format_func=url_state.number_label,
                                 key="head", bind="query-params")
    layer_number, head_number = url_state.number(layer), url_state.number(head)  # what the user sees: from 1
    direction = "All"
    if is_pair:
        direction = controls[3].radio("Sentences (from → to)", DIRECTIONS, horizontal=True, key="dir",
                                      bind="query-params")
    measure = MEASURES[st.radio("Draw", list(MEASURES), horizontal=True, key="measure", bind="query-params",
                       help="Attention weights α, or norm-based attention ‖α f(x)‖ (Kobayashi et al. 2020): the "
                            "size of what each token actually sends, its value vector through the head's share of "
                            "the output projection")]
    if measure == "norm":
        st.caption("Norm-weighted: ‖αᵢⱼ f(xⱼ)‖ with f(xⱼ) = (xⱼ W_V + b_V) W_O of the head, each row divided by its "
                   "sum so it reads like attention (the share of the row's norm-weighted total); the toggles "
                   "below then apply as for weights. A head with high attention to [SEP] but a tiny f([SEP]) "
                   "shows little here. Contributions page: the whole layer and value zeroing.")
    toggles = st.columns(3)
    tokenizer = services.get_model(selection.model_name)[1]
    specials = f"{tokenizer.cls_token}/{tokenizer.sep_token}"  # the model's own: [CLS]/[SEP], <s>/</s>
    hide = toggles[0].toggle(f"Hide {specials}", key="hide", bind="query-params")
    renormalize = toggles[1].toggle("Renormalise rows", key="renorm", disabled=not hide, bind="query-params",
                                    help=f"After hiding {specials}, divide each row by what is left so it sums to 1 "
                                         "again")
    merge = toggles[2].toggle("Merge word pieces into words", key="words", bind="query-params",
                              help="Attention TO a word = sum over its pieces; FROM a word = mean over its pieces")

    options = {"hide_specials": hide, "renormalize": renormalize and hide, "merge_words": merge, "direction": direction,
               "measure": measure}
    layer_view = attention_view(run, layer, **options)
    if not layer_view.from_labels or not layer_view.to_labels:
        st.warning("Nothing to show: this filter leaves no tokens (is there a sentence B?).")
        return

    left, right = st.columns([1, 1])
    with left:
        if kind == "Head view":
            shown = render_head_view(weights=layer_view.weights, from_labels=layer_view.from_labels,
                                    to_labels=layer_view.to_labels, layer=layer, key="attention-head-view")
            st.caption(f"bertviz's head view of layer {layer_number}, all heads (one colour each), "
                       f"{shown.sent_bytes / 1e6:.2f} MB sent. Only this layer is sent, weights ≥ {MIN_WEIGHT} "
                       "quantised to 1/255 (uint8); a line "
                       f"is drawn when its opacity, weight ÷ heads shown, is ≥ {MIN_OPACITY:.0%}. Exact values: "
                       "the heatmap and the downloads.")
        else:
            all_layers = attention_view(run, None, **options)
            shown = render_model_view(weights=all_layers.weights, from_labels=all_layers.from_labels,
                                     to_labels=all_layers.to_labels, key="attention-model-view")
            st.caption(f"bertviz's model view, every layer and head, {shown.sent_bytes / 1e6:.2f} MB sent: weights ≥ "
                       f"{MIN_WEIGHT} quantised to 1/255; thumbnails draw weights ≥ {THUMBNAIL_MIN_WEIGHT}.")
    main_view_drawn()  # under load, every student's head view before anyone's heatmap
    with right:
        figure = render_attention_heatmap(weights=layer_view.weights[head], from_labels=layer_view.from_labels,
                                          to_labels=layer_view.to_labels,
                                          title=f"Layer {layer_number}, head {head_number}"
                                                + (" · norm-weighted, row shares" if measure == "norm" else ""),
                                          key="attention-heatmap")
        st.caption("Row = the token attending, column = the token attended to; hover for the exact weight. "
                   f"Layers are numbered 1…{run.num_layers} and heads 1…{run.num_heads}, as on every page.")

    about = {"model": selection.model_name, "text_a": selection.text_a, "text_b": selection.text_b,
             "layer": layer_number, "head": head_number, **options}
    stem = f"attention_L{layer_number}H{head_number}"
    downloads = st.columns(5)
    downloads[0].download_button(f"{kind} (HTML, works offline)", shown.standalone,
                                 file_name=f"{kind.lower().replace(' ', '_')}.html",
                                 mime="text/html", key="attention_dl_view")
    downloads[1].download_button("Head matrix (CSV)", partial(head_csv, layer_view, head), file_name=f"{stem}.csv",
                                 mime="text/csv", key="attention_dl_csv")
    downloads[2].download_button("Head matrix (JSON)", partial(head_json, layer_view, head, **about),
                                 file_name=f"{stem}.json", mime="application/json", key="attention_dl_json")
    downloads[3].download_button("Heatmap (HTML)", partial(figure.to_html, include_plotlyjs=True),
                                 file_name=f"{stem}_heatmap.html", mime="text/html", key="attention_dl_figure")
    with downloads[4]:
        png_download(frame_title=shown.frame_title, file_name=f"{kind.lower().replace(' ', '_')}.png",
                     label=f"{kind} (PNG)")


views()
