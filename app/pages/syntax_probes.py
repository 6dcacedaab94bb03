"""Probes per layer: how much syntax a linear map finds in each layer's word vectors, with baselines and controls."""
import hashlib
import json

import pandas as pd
import streamlit as st

from app import inputs, probes, services, syntax
from app.conllu import ConlluError, read_conllu
from components.layer_lines import layer_lines
from components.skipped_sentences import skipped_sentences

SOURCES = ["Built-in sample (split in two)", "Upload training and evaluation files"]

selection = st.session_state["selection"]

st.title("Probes per layer: where syntax lives")
st.markdown(
    "Which layer's vectors should you use as features? Linear maps are trained on one treebank's word vectors "
    "and scored on another's, for every layer. **Structural probes** (Hewitt & Manning 2019): a rank-*k* map "
    "*B* whose squared distances ‖*B*(*hᵢ* − *hⱼ*)‖² approximate tree distances (scored by the UUAS of the "
    "minimum spanning tree and by DSpr.), and whose squared norms approximate depth (root accuracy, NSpr.). "
    "**Linear probes** for the UPOS tag and the relation label, each against a **control task** "
    "(Hewitt & Liang 2019): a probe that memorises word types scores well on the control too, so "
    "**selectivity** = accuracy − control accuracy is what counts. Same numbers as "
    "`python -m app structural-probe` and `python -m app layer-probe`.")
with st.expander("Conventions", expanded=False):
    st.markdown(
        "- A word's vector at a layer is the **mean of its pieces'** hidden states (layer 0: the embedding "
        "output); [CLS]/[SEP] are not used. Extracted once per (model, file) and kept in memory.\n"
        "- Sentences that are malformed, of **one word**, or over **510 word pieces** are skipped and counted. "
        "**Punctuation is kept** (Hewitt & Manning leave it out of their scores).\n"
        f"- Distance loss: Σ |predicted − tree distance| / n² per sentence; depth loss Σ |predicted − depth| / n "
        f"(L1, as in Hewitt & Manning's code). Adam, learning rate {probes.LEARNING_RATE}, batches of "
        f"{probes.BATCH} sentences, a fixed number of epochs, seeded.\n"
        "- **UUAS**: minimum spanning tree over the predicted distances, gold undirected edges found ÷ Σ (words − 1). "
        "**DSpr.**: Spearman correlation of each word's predicted and gold distances, averaged per sentence length, "
        "then over lengths 5–50. **Root accuracy**: the word of least predicted depth is the root. **NSpr.**: "
        "Spearman of predicted and gold depths per sentence, averaged per length, then over 5–50.\n"
        "- Baselines in the same run: **layer 0**, and the **same-shaped model with random weights** at every layer.\n"
        "- Linear probes: a softmax layer on standardised vectors; **control task**: every word type (its form as "
        "written) gets one fixed random label drawn from the task's label frequencies in the training file. "
        "Feature combinations: last layer, second-to-last, sum of the last four, concatenation of the last "
        "four, mean of all layers.")

source = st.radio("Data", SOURCES, key="sp_source", bind="query-params", horizontal=True,
                  captions=["30 sentences: even ones train, odd ones evaluate (a demonstration, too small to "
                            "trust)", "e.g. a UD treebank's train and dev files"])
if source == SOURCES[1]:
    left, right = st.columns(2)
    train_upload = left.file_uploader("Training file (CoNLL-U)", type=["conllu", "conll", "txt"], key="sp_train")
    eval_upload = right.file_uploader("Evaluation file (CoNLL-U)", type=["conllu", "conll", "txt"], key="sp_eval")
    if train_upload is None or eval_upload is None:
        st.info("Upload both files: the probes are trained on the first and scored on the second.")
        st.stop()
    files = [(u.name, u.getvalue(), services.upload_digest(u)) for u in (train_upload, eval_upload)]
else:
    lines = syntax.SAMPLE_TREEBANK.read_text(encoding="utf-8").split("\n\n")
    halves = ["\n\n".join(block for n, block in enumerate(b for b in lines if "\t" in b) if n % 2 == part) + "\n"
              for part in (0, 1)]
    files = [(f"{syntax.SAMPLE_TREEBANK.name} ({kind})", half.encode(), hashlib.sha256(half.encode()).hexdigest())
             for kind, half in zip(("even sentences", "odd sentences"), halves, strict=True)]
for name, data, _ in files:
    try:
        read_conllu(data, syntax.MAX_PAGE_SENTENCES)
    except ConlluError as err:
        st.error(f"{inputs.escape_markdown(name)} cannot be read: {err}.")
        st.stop()

left, right = st.columns(2)
rank = left.select_slider("Rank k of the structural probe", [8, 16, 32, 64, 128], value=128, key="sp_rank",
                          bind="query-params")
epochs = right.select_slider("Epochs", [1, 2, 3, 5, 10], value=probes.EPOCHS, key="sp_epochs", bind="query-params")
if not st.toggle("Train the probes", key="sp_run",
                 help="Training runs once per model, files and settings; the results are then kept."):
    st.info("Training takes a while on a CPU (EWT train: minutes). Switch **Train the probes** on to start.")
    st.stop()
(train_name, train_data, train_digest), (eval_name, eval_data, eval_digest) = files
try:
    results = services.layer_probes(selection.model_name, train_digest, eval_digest, syntax.MAX_PAGE_SENTENCES, rank,
                                    epochs, _train=train_data, _eval=eval_data)
except ConlluError as err:
    st.error(f"The probes cannot be trained: {err}.")
    st.stop()
for kind, notes in results["notes"].items():
    skipped_sentences(notes=notes, source=f"the {kind} file")
structural, linear = results["structural"], results["linear"]
st.caption(f"Trained on {structural['train']['sentences']:,} sentences ({structural['train']['words']:,} words) of "
           f"{inputs.escape_markdown(train_name)}, scored on {structural['eval']['sentences']:,} "
           f"({structural['eval']['words']:,} words) of {inputs.escape_markdown(eval_name)}.")

st.subheader("Structural probes")
ours, random = structural["layers"], structural["random_model"]
left, right = st.columns(2)
with left:
    layer_lines(series={"UUAS": ours["uuas"], "DSpr.": ours["dspr"]},
                references={"UUAS, random-weight model": random["uuas"], "DSpr., random-weight model": random["dspr"]},
                title="Distance probe", y_title="score", key="sp_distance", y_range=(0, 1))
with right:
    layer_lines(series={"root accuracy": ours["root_accuracy"], "NSpr.": ours["nspr"]},
                references={"root accuracy, random-weight model": random["root_accuracy"],
                            "NSpr., random-weight model": random["nspr"]},
                title="Depth probe", y_title="score", key="sp_depth", y_range=(0, 1))
table = pd.DataFrame({"layer": range(len(ours["uuas"])), "UUAS": ours["uuas"], "DSpr.": ours["dspr"],
                      "root accuracy": ours["root_accuracy"], "NSpr.": ours["nspr"],
                      "UUAS (random model)": random["uuas"], "DSpr. (random model)": random["dspr"]})
st.dataframe(table, hide_index=True)

st.subheader("Linear probes and control tasks")
left, right = st.columns(2)
for column, task, label in ((left, "upos", "UPOS"), (right, "relation", "relation label")):
    scores = linear["layers"][task]
    with column:
        layer_lines(series={"accuracy": scores["accuracy"], "selectivity": scores["selectivity"]},
                    references={"control task accuracy": scores["control_accuracy"],
                                "majority label": [linear["majority_baseline"][task]] * len(scores["accuracy"])},
                    title=f"{label}: accuracy, control, selectivity", y_title="share of words",
                    key=f"sp_{task}", y_range=(0, 1))
rows = [{"features": name.replace("_", " "), **{f"{task} {key}": linear["combinations"][name][task][key]
                                                 for task in probes.TASKS
                                                 for key in ("accuracy", "control_accuracy", "selectivity")}}
        for name in probes.COMBINATIONS]
st.caption("Feature combinations, scored the same way:")
st.dataframe(pd.DataFrame(rows), hide_index=True)
left, right = st.columns(2)
left.download_button("Structural probes (JSON)", json.dumps(structural, indent=1), file_name="structural_probe.json",
                     mime="application/json", icon=":material/download:", on_click="ignore")
right.download_button("Linear probes (JSON)", json.dumps(linear, indent=1), file_name="layer_probe.json",
                      mime="application/json", icon=":material/download:", on_click="ignore")
