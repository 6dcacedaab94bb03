"""Fine-tune a classifier: the lecture's three approaches on a labelled set, watched while it learns,
then what changed inside the model. The training runs in a thread (app/finetune.TrainingJob) that waits
for the server's job queue; this page redraws its progress every second and can stop it."""
import hashlib
import tempfile
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from app import finetune, inputs, jobs, services, task_outputs, url_state
from app.vectors import project
from components.attention_heatmap import render_attention_heatmap
from components.head_grid import head_grid
from components.job_wait import server_queue, waiting_text
from components.matrix_heatmap import matrix_heatmap
from components.projection import projection_scatter
from components.training_curves import training_curves

MAX_KEPT_MODELS = 3     # runs whose fine-tuned model stays in memory (older runs keep their figures only)
MAX_INSIDE_TEXTS = 64   # dev texts for the attention divergence and the head views
SAVED = Path(tempfile.gettempdir()) / "bert-explorer-finetuned"

selection = st.session_state["selection"]
model, tokenizer = selection.model, selection.tokenizer
L = model.config.num_hidden_layers
runs: list[dict] = st.session_state.setdefault("ft_runs", [])

st.title("Fine-tune a classifier")
st.markdown(
    f"Put **{inputs.inline_code(selection.model_name)}** to work on a task: a new **head** (dropout, then one "
    "linear layer) reads the sentence vector and gives a score per label; training moves the head and, "
    "depending on the approach, the encoder. The lecture's three approaches: update **all layers**; update "
    "only the **top N layers** (the embeddings and the layers below stay frozen); or **freeze the encoder** "
    "and train the head only. AdamW with a linear warm-up (10 % of the steps) then linear decay, batches of "
    "similar length, all seeded; after each epoch the dev split is scored and the best epoch's weights are "
    "kept (early stopping after 2 epochs without a better dev accuracy). **Accuracy is measured on the test "
    "split**, which training and the choice of epoch never see.")


def finished_job() -> None:
    """Move a finished job's result into the list of runs (once)."""
    job = st.session_state.get("ft_job")
    if job is None or job.running:
        return
    st.session_state.pop("ft_job")
    if job.error is not None:
        st.error(f"Training failed: {inputs.escape_markdown(job.error)}")
        return
    runs.append({"id": uuid.uuid4().hex[:8], "number": len(runs) + 1, "model_name": job.model_name,
                 "data_name": job.data_name, "base": job.base, "result": job.result, "inside": {},
                 "dev_texts": job.dev_texts, "task": "token" if job.token_task else "sequence",
                 "test_sentences": job.test_sentences})
    st.session_state["ft_run"] = runs[-1]["number"]  # show the new run
    for old in runs[:-MAX_KEPT_MODELS]:  # free the memory of older fine-tuned copies
        if old["result"] is not None:
            old["summary"] = old["result"].summary()
            old["result"] = old["base"] = None


finished_job()


def drawn_tag(word: task_outputs.WordLabel, gold: str) -> str:
    shown = f"{inputs.escape_markdown(word.word)} "
    if word.label == gold:
        return shown + inputs.inline_code(word.label)
    return shown + f":red[{inputs.escape_markdown(word.label)}] ({inputs.escape_markdown(gold)})"

# ------------------------------------------------------------------------------------------------ data
st.subheader("1. Data")
SHIPPED = {"Spam or not (shipped)": finetune.SPAM_DATA, "UPOS tags (shipped)": finetune.UPOS_DATA}
source = st.radio("Labelled texts", [*SHIPPED, "Upload a file"], horizontal=True, key="data", bind="query-params",
                  help="Spam or not: a label per text (sequence classification). UPOS tags: a part-of-speech "
                       "tag per word (token classification).")
seed = st.number_input("Seed (split, head, dropout, batch order)", 0, 1_000_000, 0, key="seed", bind="query-params")
if source == "Upload a file":
    st.caption("A CSV or TSV with a `text` column and a `label` column, and optionally `split` (train, dev, "
               "test); without it the rows are shuffled with the seed and split 80/10/10. Or a CoNLL-U file: "
               "a UPOS tag per word, sentences split 80/10/10 with the seed. An uploaded file cannot travel "
               "in a link.")
    upload = st.file_uploader("Labelled texts (.csv, .tsv) or tagged sentences (.conllu)",
                              type=["csv", "tsv", "conllu"], key="ft_upload")
    if upload is None:
        st.info("Upload a file, or use the shipped spam / not-spam messages.")
        st.stop()
    data_name, raw = upload.name, upload.getvalue()
    digest = services.upload_digest(upload)
elif SHIPPED[source] == finetune.SPAM_DATA:
    data_name, raw = finetune.SPAM_DATA.name, finetune.SPAM_DATA.read_bytes()
    digest = "shipped:" + hashlib.sha256(raw).hexdigest()
    st.caption(f"{inputs.escape_markdown(data_name)}: short messages written for this project (Apache-2.0, "
               "data/spam/LICENSE), labelled spam or ham (not spam), with their own train/dev/test split.")
else:
    data_name, raw = finetune.UPOS_DATA.name, finetune.UPOS_DATA.read_bytes()
    digest = "shipped:" + hashlib.sha256(raw).hexdigest()
    st.caption(f"{inputs.escape_markdown(data_name)}: 400 sentences of the UD English Web Treebank's training "
               "split with their UPOS tags (CC BY-SA 4.0, data/upos/LICENSE). Each word's tag is learnt and "
               "scored on its first word piece.")
try:
    data = services.labelled_data(digest, data_name, int(seed), raw)
except finetune.DataError as err:
    st.error(str(err))
    st.stop()
for notice in data.notices:
    getattr(st, notice.level)(notice.text)
token_task = isinstance(data, finetune.TaggedData)
counts = pd.DataFrame(data.counts()).T
if not token_task:
    counts["all"] = counts.sum(axis=1)
st.dataframe(counts, width="content")
if not data.split_given:
    st.caption("No `split` column: a seeded 80/10/10 split.")

# ------------------------------------------------------------------------------------------- settings
st.subheader("2. Approach")
left, middle, right = st.columns(3)
kind = left.radio("Train", list(finetune.APPROACHES), format_func=finetune.APPROACHES.get, key="approach",
                  bind="query-params")
top = left.slider("N (top layers trained)", 1, L, min(2, L), key="top", bind="query-params",
                  disabled=kind != "top")
epochs = middle.slider("Epochs (at most)", 1, 10, 3, key="epochs", bind="query-params")
pooling = middle.radio("Sentence vector for the head", list(finetune.POOLS), horizontal=True, key="pool",
                       bind="query-params", disabled=token_task, format_func=finetune.POOLS.get,
                       help="[CLS]: the pooler's output, as transformers' BertForSequenceClassification (the "
                            "saved checkpoint gives the same scores there). Mean: the mean of the last layer's "
                            "token vectors, what all-MiniLM-L6-v2 was trained to give; transformers' class "
                            "would read [CLS] instead, so only this app reads such a checkpoint as trained.")
approach = f"top:{top}" if kind == "top" else kind
lr = right.number_input("Learning rate", 1e-6, 1e-1, finetune.DEFAULT_LR[kind], format="%.0e", key=f"lr_{kind}",
                        help="Defaults: 5e-5 all layers, 1e-4 top N, 5e-3 head only (a head alone, learning from "
                             "scratch on frozen vectors, needs larger steps)")
settings = finetune.Settings(approach=approach, epochs=epochs, learning_rate=float(lr), seed=int(seed),
                             pooling=pooling)
right.caption(f"Batches of {settings.batch_size}, weight decay {settings.weight_decay}, dropout {settings.dropout}.")

# ------------------------------------------------------------------------------------------- training
job = st.session_state.get("ft_job")
if job is None and st.button("Train", type="primary", icon=":material/model_training:"):
    try:
        jobs.check_size("This labelled set", len(data.texts), jobs.max_job_items(services.server_access().classroom))
    except jobs.JobRefused as refused:
        st.error(str(refused))
        st.stop()
    job = finetune.TrainingJob(model, tokenizer, data, settings, wait_turn=server_queue().turn)
    job.model_name, job.data_name, job.base = selection.model_name, data_name, model
    job.dev_texts, job.token_task = [data.texts[i] for i, s in enumerate(data.splits) if s == "dev"], token_task
    job.test_sentences = data.part("test") if token_task else ([], [])
    st.session_state["ft_job"] = job


@st.fragment(run_every=1.0)
def live_progress() -> None:
    job = st.session_state.get("ft_job")
    if job is None:
        return
    if not job.running:
        st.rerun(scope="app")
    if job.waiting:
        st.info(waiting_text(server_queue().ahead() - 1, 0), icon=":material/hourglass_top:")
    steps = list(job.steps)
    total = steps[-1].total_steps if steps else 1
    text = (f"Epoch {steps[-1].epoch}, step {steps[-1].step} of {total} (at most), loss {steps[-1].loss:.3f}"
            if steps else "Starting…")
    st.progress(len(steps) / total if steps else 0.0, text=text)
    if st.button("Stop", icon=":material/stop_circle:", disabled=job.stop_requested.is_set(),
                 help="Ends the epoch here, scores it on dev, and keeps the best weights so far"):
        job.stop()
        st.info("Stopping after this step…")
    training_curves(steps=[{"step": s.step, "epoch": s.epoch, "loss": s.loss} for s in steps],
                    history=[], total_steps=total, key="ft_live")


if job is not None:
    live_progress()
    st.stop()
if not runs:
    st.stop()

# -------------------------------------------------------------------------------------------- results
st.subheader("3. Runs")
table = []
for run in runs:
    summary = run["result"].summary() if run["result"] is not None else run["summary"]
    table.append({"run": run["number"], "model": run["model_name"], "data": run["data_name"],
                  "task": run["task"],
                  "approach": summary["approach"], "trained parameters": summary["trained_parameters"],
                  "of": summary["total_parameters"],
                  "trained %": 100 * summary["trained_parameters"] / summary["total_parameters"],
                  "epochs": summary["epochs_run"], "seconds": summary["seconds"],
                  "dev accuracy": summary["dev_accuracy"], "test accuracy": summary["test_accuracy"],
                  "stopped": summary["stopped"]})
st.dataframe(pd.DataFrame(table), hide_index=True, column_config={
    "trained %": st.column_config.NumberColumn(format="%.2f"),
    "dev accuracy": st.column_config.NumberColumn(format="%.3f"),
    "test accuracy": st.column_config.NumberColumn(format="%.3f")})
kept = {run["number"]: run for run in runs[::-1] if run["result"] is not None}
number = st.selectbox("Look at run", list(kept), key="ft_run", help=f"The last {MAX_KEPT_MODELS} runs are kept",
                      format_func=lambda n: f"run {n}: {kept[n]['result'].settings.approach}, "
                                            f"test accuracy {kept[n]['result'].test.accuracy:.3f}")
run = kept[number]
result: finetune.FineTuneResult = run["result"]
token_run = run["task"] == "token"
unit = "word" if token_run else "text"
for note in result.notices + (["Stopped early: the weights are the best of what was trained."] if result.stopped
                              else []):
    st.info(note)
majority = np.bincount(result.test_labels).max() / max(len(result.test_labels), 1)
st.markdown(f"**{result.trained_parameters:,}** of {result.total_parameters:,} parameters trained "
            f"({100 * result.trained_parameters / result.total_parameters:.2f} %), {result.epochs_run} epoch(s) in "
            f"{result.seconds:.0f} s; kept epoch {result.best_epoch}; dev accuracy **{result.dev.accuracy:.3f}**, "
            f"test accuracy **{result.test.accuracy:.3f}** ({len(result.test_labels)} test {unit}s; the majority "
            f"{'tag' if token_run else 'class'} alone would score {majority:.3f}).")
training_curves(steps=result.steps, history=result.history, key=f"ft_curves_{run['id']}")

labels = result.labels
left, right = st.columns(2)
with left:
    matrix_heatmap(values=result.test.confusion, rows=labels, columns=labels, colorscale="Blues", zmid=None,
                   title="Confusion matrix on test (rows: true label, columns: predicted)", key=f"ft_cm_{run['id']}",
                   height=160 + 60 * len(labels))
predictions = pd.DataFrame({unit: result.test_texts, "true": [labels[i] for i in result.test_labels],
                            "predicted": [labels[i] for i in result.test.predictions]})
for index, label in enumerate(labels):
    predictions[f"P({label})"] = result.test.probabilities[:, index]
wrong = predictions[predictions["true"] != predictions["predicted"]]
with right:
    st.markdown(f"**Misclassified test {unit}s: {len(wrong)}**")
    st.dataframe(wrong, hide_index=True, height=260)
    if token_run:  # accuracy per tag: the confusion matrix's diagonal over its rows
        totals = result.test.confusion.sum(1)
        st.dataframe(pd.DataFrame({"tag": labels, "test words": totals,
                                   "accuracy": np.diag(result.test.confusion) / np.maximum(totals, 1)}),
                     hide_index=True, column_config={"accuracy": st.column_config.NumberColumn(format="%.3f")})
if token_run:
    st.markdown("**Predicted tags drawn on a test sentence** (a wrong tag in red, the gold tag after it):")
    sentences, gold = run["test_sentences"]
    if sentences:
        pick = st.selectbox("Test sentence", range(len(sentences)), format_func=lambda i: " ".join(sentences[i])[:80],
                            key="ft_tag_sentence")
        tagged = task_outputs.word_labels(result.model, tokenizer, " ".join(sentences[pick]))
        st.markdown(" ".join(drawn_tag(w, labels[g]) for w, g in zip(tagged, gold[pick], strict=False)))
with st.expander(f"All {len(predictions)} test predictions with their probabilities"):
    st.dataframe(predictions, hide_index=True)
    st.download_button("Predictions (CSV)", predictions.to_csv(index=False), file_name="test_predictions.csv",
                       on_click="ignore", icon=":material/download:")

# ---------------------------------------------------------------------------------- what changed inside
st.subheader("4. What changed inside")
base, tuned = run["base"], result.model
inside = run["inside"]
if "movement" not in inside:
    with st.spinner("Comparing the weights and the attention before and after…"):
        texts = run["dev_texts"][:MAX_INSIDE_TEXTS]
        ids = finetune.encode_texts(tokenizer, texts, model.config.max_tokens).ids
        inside["texts"] = texts
        inside["movement"] = finetune.weight_movement(base, tuned)
        inside["divergence"] = finetune.attention_divergence(base, tuned, ids)
        if not token_run:
            test_ids = finetune.encode_texts(tokenizer, result.test_texts, model.config.max_tokens).ids
            pooling = result.settings.pooling
            inside["before"] = project(finetune.sentence_vectors(base, test_ids, pooling), "pca", 2)
            inside["after"] = project(finetune.sentence_vectors(tuned, test_ids, pooling), "pca", 2)
movement = pd.DataFrame(inside["movement"])
st.markdown("**How far each part's weights moved**: ‖W after − W before‖ / ‖W before‖ over all its weights "
            "(0 for a frozen part; the new head has no 'before').")
st.bar_chart(movement, x="part", y="relative_change", sort=False, height=260)

st.markdown(f"**Which heads' attention changed most** on {len(inside['texts'])} dev texts: per head, the "
            "Jensen-Shannon divergence (nats, 0 to ln 2 ≈ 0.693) between a token's attention before and after, "
            "averaged over every token. **Click a cell** to see that head before and after.")
if st.session_state.get("ft_heads_of") != run["id"]:  # a run's first look: the head that changed most
    most = np.unravel_index(int(np.argmax(inside["divergence"])), np.shape(inside["divergence"]))
    st.session_state["ft_layer"], st.session_state["ft_head"] = int(most[0]), int(most[1])
    st.session_state["ft_heads_of"] = run["id"]
if "ft_clicked" in st.session_state:
    st.session_state["ft_layer"], st.session_state["ft_head"] = st.session_state.pop("ft_clicked")
grid, views = st.columns([2, 3])
with views:
    a, b, c = st.columns(3)
    layer = a.selectbox("Layer", range(L), format_func=url_state.number_label, key="ft_layer")
    head = b.selectbox("Head", range(model.config.num_attention_heads), format_func=url_state.number_label,
                       key="ft_head")
    pick = c.selectbox("Dev text", range(len(inside["texts"])), format_func=lambda i: inside["texts"][i][:40],
                       key="ft_text")
with grid:
    clicked = head_grid(values=inside["divergence"], title="Attention divergence, before vs after",
                        key=f"ft_div_{run['id']}", selected=(layer, head), zmin=0)
    if clicked is not None and clicked != (layer, head) and clicked != st.session_state.get("ft_last_click"):
        st.session_state["ft_last_click"] = clicked
        st.session_state["ft_clicked"] = clicked
        st.rerun()
with views:
    enc = finetune.encode_texts(tokenizer, [inside["texts"][pick]], model.config.max_tokens).ids[0]
    tokens = tokenizer.convert_ids_to_tokens(enc)
    maps = [finetune.head_attention(which, enc, layer, head) for which in (base, tuned)]
    x, y = st.columns(2)
    with x:
        render_attention_heatmap(weights=maps[0], from_labels=tokens, to_labels=tokens,
                                 title=f"Before: layer {layer + 1}, head {head + 1}", key="ft_before_map")
    with y:
        render_attention_heatmap(weights=maps[1], from_labels=tokens, to_labels=tokens,
                                 title=f"After: layer {layer + 1}, head {head + 1}", key="ft_after_map")

if not token_run:
    st.markdown("**Sentence vectors of the test texts, before and after** (what the head reads: "
                f"{'the pooled [CLS] output' if result.settings.pooling == 'cls' else 'the mean of the token vectors'}"
                "; PCA to 2-D, each map on its own axes), coloured by the true label.")
    x, y = st.columns(2)
    true_labels = [labels[i] for i in result.test_labels]
    with x:
        projection_scatter(coords=inside["before"], labels=true_labels, hover=result.test_texts, title="Before",
                           key=f"ft_map_before_{run['id']}")
    with y:
        projection_scatter(coords=inside["after"], labels=true_labels, hover=result.test_texts, title="After",
                           key=f"ft_map_after_{run['id']}")

# ------------------------------------------------------------------------------------------------ save
st.subheader("5. Take it with you")
name = f"finetuned-{run['number']}-{result.settings.approach.replace(':', '')}"
folder = SAVED / run["id"] / name


def saved_zip() -> bytes:
    finetune.save_checkpoint(tuned, tokenizer, folder)
    return finetune.zip_folder(folder)


architecture = "BertForTokenClassification" if token_run else "BertForSequenceClassification"
st.markdown(f"A Hugging Face checkpoint folder: `config.json` (with `architectures` "
            f"{architecture}, `id2label`, `label2id`), `model.safetensors` and the tokenizer "
            f"files. `transformers.AutoModelFor{'Token' if token_run else 'Sequence'}Classification.from_pretrained"
            "(folder)` loads it; so does this app's sidebar, which then shows its labels on the **Task heads** page.")
st.download_button("Download the checkpoint (zip)", saved_zip, file_name=f"{name}.zip", mime="application/zip",
                   on_click="ignore", icon=":material/download:", type="primary")
if not services.server_access().classroom:
    if st.button("Open it in every page", icon=":material/open_in_new:",
                 help=f"Saves it to {folder} and loads it in the sidebar"):
        finetune.save_checkpoint(tuned, tokenizer, folder)
        st.session_state["model_name"] = str(folder)
        st.switch_page("app/pages/task_heads.py")
