"""Compare two models: the sidebar's model and a second one on the same sentence, and the family's flavours."""
import hashlib

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import compare, inputs, services, syntax
from app.attention import attention_view
from app.model_access import LoadRefused
from components.bertviz_views import render_head_view
from components.layer_lines import layer_lines
from components.plotly_text import plain

selection = st.session_state["selection"]

st.title("Compare two models")
st.markdown(
    "The sidebar's model beside a second one, on the sidebar's sentence A: each one's head view, how its "
    "attention spreads layer by layer, how a word's vector changes with context, and where its parameters "
    "are. Below, the BERT family's flavours from their published configurations.")

second = st.text_input("Second model (a checkpoint folder or hub id this server offers)", key="model_b",
                       bind="query-params", placeholder="e.g. a DistilBERT, RoBERTa, ALBERT or ELECTRA folder").strip()
names = [selection.model_name]
if second == selection.model_name:
    st.info("The second model is the sidebar's model: give another one to compare.")
elif second:
    try:
        services.get_model(second)
        names.append(second)
    except LoadRefused as refused:
        st.error(f"Cannot compare with {inputs.inline_code(second)}: {refused}")
if len(names) == 1 and not second:
    st.info("Give a second model to see the two side by side; the first column shows the sidebar's model.")

runs = {name: services.attention_run(name, selection.text_a, "") for name in names}

st.header("Head view")
layer_number = st.slider("Layer (counted from the top: the last layer of each model is 1.0)", 0.0, 1.0, 1.0, 0.05,
                         key="depth", bind="query-params")
columns = st.columns(len(names))
for column, (name, run) in zip(columns, runs.items(), strict=True):
    with column:
        layer = round(layer_number * (run.num_layers - 1))
        view = attention_view(run, layer)
        st.markdown(f"**{inputs.escape_markdown(name)}**: layer {layer + 1} of {run.num_layers}, "
                    f"{len(view.from_labels)} pieces")
        render_head_view(weights=view.weights, from_labels=view.from_labels, to_labels=view.to_labels, layer=layer,
                         key=f"compare-head-{len(name)}-{names.index(name)}")

st.header("Attention per layer")
stats = {name: compare.layer_attention_statistics(run.attentions) for name, run in runs.items()}
for statistic, title, unit in (("entropy", "Attention entropy per layer (mean over heads and queries)", "bits"),
                               ("distance", "Mean attention distance per layer", "word pieces")):
    figure = go.Figure()
    for name, values in stats.items():
        x = [i + 1 for i in range(len(values[statistic]))]
        figure.add_trace(go.Scatter(x=x, y=values[statistic], name=plain(name), mode="lines+markers"))
    figure.update_layout(title=title, xaxis_title="layer", yaxis_title=unit, height=320, xaxis_dtick=1)
    st.plotly_chart(figure, key=f"compare-{statistic}")
st.caption("Entropy −Σ p log₂ p of each query's attention row, and Σ p·|i − j|, the distance in word pieces "
           "from a query to what it attends to; both averaged over every query token (specials included) and "
           "every head. Word pieces differ between tokenizers, so the same sentence has different lengths.")

st.header("A word in context, layer by layer")
left, right = st.columns(2)
word = left.text_input("Word", "bank", key="cmp_word", bind="query-params").strip()
first = right.text_input("First sentence", "He sat on the bank of the river.", key="cmp_a", bind="query-params")
other = right.text_input("Second sentence", "She went to the bank to pay the bill.", key="cmp_b",
                         bind="query-params")
curves, missing = {}, []
for name in names:
    curve = compare.word_similarity_curve(*services.get_model(name), word, first, other) if word else None
    if curve is None:
        missing.append(name)
    else:
        curves[name] = curve
if missing:
    st.warning(f"{inputs.inline_code(word)} is not a whole word of both sentences (within the model's limit).")
if curves:
    layer_lines(series=curves, title=f"Cosine of {word!r} in the two sentences, per layer (0: embedding output)",
                y_title="cosine similarity", key="compare-wic")
    st.caption("The word's vector is the mean of its pieces. Layer 0 is the embedding output, where the two "
               "differ only by their positions (and segment): context then moves them apart, or together, layer "
               "by layer. Layers are each model's own (1…L): models of different depths end at different x.")

st.header("Syntactic heads on the built-in sample")
sample = syntax.SAMPLE_TREEBANK.read_bytes()
digest = hashlib.sha256(sample).hexdigest()
results = {name: services.syntax_corpus(name, "conllu", digest, 20_000, _data=sample) for name in names}
st.dataframe(pd.DataFrame(compare.syntax_summary(results)), hide_index=True)
st.caption(f"{next(iter(results.values())).sentences} hand-checked sentences ({syntax.SAMPLE_TREEBANK.name}). For "
           "each relation, the head (layer-head, counted from 1) whose strongest attention from a dependent word "
           "most often lands on its syntactic head, and how often; the best fixed offset (the word n places away) "
           "as the baseline. "
           "Chosen and scored on the same sentences (the Syntactic heads page also holds half out).")

st.header("Parameters by part")
columns = st.columns(len(names))
for column, name in zip(columns, names, strict=True):
    parts = compare.parameters_by_part(services.get_model(name)[0])
    column.markdown(f"**{inputs.escape_markdown(name)}**: {sum(parts.values()):,} parameters")
    column.dataframe(pd.DataFrame({"part": list(parts), "parameters": list(parts.values())}), hide_index=True,
                     column_config={"parameters": st.column_config.NumberColumn(format="localized")})

st.header("The BERT family's flavours")
st.dataframe(pd.DataFrame(services.flavours()), hide_index=True,
             column_config={"parameters": st.column_config.NumberColumn(format="localized")})
st.caption("Each flavour's published configuration (its config.json on the Hugging Face hub) built on PyTorch's "
           "meta device, shapes only; parameters of embeddings, encoder and the pooler where the family has one, "
           "as transformers' base model classes count them; 'published' is the round figure of the paper or "
           "model card. ALBERT's layers share one set of weights, so its 12 or 24 layers count once.")
