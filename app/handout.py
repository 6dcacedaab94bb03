"""A printable handout from a lesson: every step's title, text and what to look at, with its figure.

One self-contained HTML file that works offline: plotly.js is inlined once (about 4.6 MB) and each
figure is a plotly div (interactive on screen, drawn as vectors when printed); the syntax arcs are SVG
and the tables are HTML. The figure of a step is computed here, with the page's own plain functions
and the step's state (its sentences, layer, head, token, toggles): the figure the step's page shows,
or the part of it the step is about. A browser's Print → Save as PDF makes a PDF of it.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from html import escape

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from bert_core import encode
from components.attention_heatmap import attention_figure
from components.dependency_arcs import arcs_svg
from components.plotly_text import plain

from . import (
    attention,
    compare,
    overview,
    polysemy,
    pretraining,
    sentence_embeddings,
    syntax,
    tokens,
    vectors,
    walkthrough,
)
from .conllu import read_conllu
from .lessons import PAGES, Lesson, Step, param_of, widget_value

log = logging.getLogger(__name__)
FIGURE_HEIGHT = 380


def _state(step: Step, name: str, default):
    """The step's value for a page parameter, as the page's widget holds it, or `default`."""
    if name not in step.state:
        return default
    return widget_value(param_of(step.page, name), step.state[name])


def _table(rows: list[dict]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{escape(str(key))}</th>" for key in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{escape(_cell(value))}</td>" for value in row.values()) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _plot(figure: go.Figure, height: int | None = FIGURE_HEIGHT) -> str:
    """A plotly div (plotly.js is in the page once). Margins grow to fit the tick labels on paper."""
    figure.update_layout(template=pio.templates["plotly_white"], margin=dict(t=100, l=20, r=20, b=20))
    figure.update_xaxes(automargin=True)
    figure.update_yaxes(automargin=True)
    if height:
        figure.update_layout(height=height)
    return figure.to_html(full_html=False, include_plotlyjs=False, config={"displayModeBar": False})


def _sentences(step: Step) -> tuple[str, str]:
    return str(step.state.get("a", "")), str(step.state.get("b", ""))


def tokens_figure(step: Step, model, tokenizer) -> str:
    if step.highlight == "The model":  # the step about sizes: the family table
        return _table(tokens.size_family(model, "this model"))
    enc = encode(tokenizer, *_sentences(step))
    norms = tokens.part_norms(tokens.embedding_parts(model, enc))
    rows = [{**row, **{f"‖{part}‖": float(norms[part][i]) for part in ("token", "segment", "position", "summed")}}
            for i, row in enumerate(tokens.token_rows(enc))]
    return _table(rows)


def attention_heatmap(step: Step, model, tokenizer) -> str:
    run = attention.run_attention(model, tokenizer, *_sentences(step))
    layer, head = _state(step, "layer", 0), _state(step, "head", 0)
    hide = _state(step, "hide", False)
    view = attention.attention_view(run, layer, hide_specials=hide, renormalize=hide and _state(step, "renorm", False),
                                    merge_words=_state(step, "words", False), direction=_state(step, "dir", "All"))
    return _plot(attention_figure(weights=view.weights[head], from_labels=view.from_labels, to_labels=view.to_labels,
                                  title=f"Layer {layer + 1}, head {head + 1}"), height=None)


def inside_head_figure(step: Step, model, tokenizer) -> str:
    enc = encode(tokenizer, *_sentences(step))
    layer, head = _state(step, "layer", min(1, model.config.num_hidden_layers - 1)), _state(step, "head", 1)
    token = min(max(_state(step, "token", 1), 0), len(enc) - 1)
    internals = walkthrough.layer_internals(model, enc)
    steps = walkthrough.head_steps(model, internals.hidden_states[layer], layer, head, token)
    figure = go.Figure(go.Bar(x=[f"{i}: {plain(t)}" for i, t in enumerate(enc.tokens)], y=steps.probs))
    figure.update_layout(title=plain(f"softmax(q·k/√d) for “{enc.tokens[token]}”, layer {layer + 1}, head {head + 1}"),
                         yaxis_title="attention weight")
    return _plot(figure)


def head_overview_figure(step: Step, model, tokenizer) -> str:
    enc = encode(tokenizer, *_sentences(step))
    attn = np.stack([attention.attention_view(attention.run_attention(model, tokenizer, *_sentences(step)), i).weights
                     for i in range(model.config.num_hidden_layers)])
    patterns = overview.head_patterns(attn, enc.tokens, enc.special)
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Attention to [CLS]", "Attention to [SEP]"))
    layers, heads = patterns["cls"].shape
    for column, name in enumerate(("cls", "sep"), start=1):
        figure.add_trace(go.Heatmap(z=patterns[name], x=list(range(1, heads + 1)), y=list(range(1, layers + 1)),
                                    zmin=0, zmax=1, colorscale="Viridis", showscale=column == 2), row=1, col=column)
    figure.update_yaxes(title_text="layer", autorange="reversed", dtick=1)
    figure.update_xaxes(title_text="head", dtick=1)
    return _plot(figure)


def word_in_context_figure(step: Step, model, tokenizer) -> str:
    preset = _state(step, "preset", next(iter(polysemy.PRESETS)))
    word = _state(step, "word", preset)
    default = "\n".join(polysemy.PRESETS.get(preset, []))
    sentences = [line for line in str(_state(step, "sentences", default)).splitlines() if line.strip()]
    kept = [s for s in sentences if polysemy.find_occurrences(s, word)]
    comparison = polysemy.compare_word(model, tokenizer, word, kept, [0] * len(kept))
    labels = [f"S{i + 1}" for i in comparison.compared]
    figure = go.Figure()
    for i in range(len(labels)):
        for j in range(i + 1, len(labels)):
            figure.add_trace(go.Scatter(y=comparison.similarities[:, i, j], mode="lines+markers",
                                        name=plain(f"{labels[i]}–{labels[j]}")))
    static = comparison.static_similarity[np.triu_indices(len(labels), 1)]
    if len(static) and np.ptp(static) < 1e-6:  # the same pieces everywhere: one dashed line, as on the page
        figure.add_trace(go.Scatter(y=[static[0]] * comparison.similarities.shape[0], mode="lines",
                                    name="static input embedding", line=dict(dash="dash")))
    figure.update_layout(title=plain(f"Cosine similarity of “{word}” against layer"),
                         xaxis=dict(title="layer (0 = embedding output)", dtick=1), yaxis_title="cosine")
    legend = _table([{"": label, "sentence": kept[i]} for label, i in zip(labels, comparison.compared, strict=True)])
    return legend + _plot(figure)


def sentence_embeddings_figure(step: Step, model, tokenizer) -> str:
    typed = str(_state(step, "sentences", "\n".join(sentence_embeddings.EXAMPLE_SENTENCES)))
    sentences = [line for line in typed.splitlines() if line.strip()]
    pooling = _state(step, "pooling", "mean")
    layer = _state(step, "layer", model.config.num_hidden_layers)
    embedded = sentence_embeddings.sentence_embeddings(model, tokenizer, sentences, pooling)[:, layer]
    labels = [f"S{i + 1}" for i in range(len(sentences))]
    figure = go.Figure(go.Heatmap(z=vectors.cosine_matrix(embedded), x=labels, y=labels, zmin=-1, zmax=1,
                                  colorscale="RdBu", reversescale=True, texttemplate="%{z:.2f}"))
    figure.update_layout(title=f"Cosine similarity, {pooling} pooling, layer {layer}", yaxis_autorange="reversed")
    return _table([{"": label, "sentence": s} for label, s in zip(labels, sentences, strict=True)]) + _plot(figure)


def syntax_sentence_figure(step: Step, model, tokenizer) -> str:
    sentence = syntax.parse_text(syntax.load_parser(), _sentences(step)[0])[0]
    analysis = syntax.analyse_sentence(model, tokenizer, sentence)
    layer, head = _state(step, "ss_layer", 1), _state(step, "ss_head", 1)
    direction = ["dependent → head", "head → dependent"].index(_state(step, "ss_direction", "dependent → head"))
    guesses = syntax.head_guesses(sentence, analysis.targets[direction, layer - 1, head - 1], direction)
    svg, _ = arcs_svg(words=list(sentence.words), heads=list(sentence.heads), labels=list(sentence.deprels),
                      guesses=guesses)
    return f"<p class='figure-title'>Layer {layer}, head {head}: spaCy's tree above, the head's guesses below</p>{svg}"


def syntax_corpus_figure(step: Step, model, tokenizer) -> str:
    if _state(step, "sc_source", "Built-in sample") != "Built-in sample":
        return "<p>(This step's treebank is the teacher's own: open the page to see it.)</p>"
    result = syntax.probe(model, tokenizer, read_conllu(syntax.SAMPLE_TREEBANK.read_bytes()))
    relations = result.to_json()["relations"]
    chosen = _state(step, "sc_relation", "")
    rows = [{"relation": name, "words": summary["count"], "best head": summary["best_head"],
             "accuracy": summary["accuracy"], "baseline offset": f"{summary['baseline_offset']:+d}",
             "baseline accuracy": summary["baseline_accuracy"]}
            for name, summary in relations.items() if summary["count"] >= 5 or name == chosen]
    return "<p class='figure-title'>The built-in sample, dependent → head</p>" + _table(rows)


def masking_figure(step: Step, model, tokenizer, prefix: str = "mask") -> str:
    """The masking simulator's draw for the step's seed: the pieces BERT's recipe chose, and what it did."""
    seed, whole = _state(step, f"{prefix}_seed", 0), _state(step, f"{prefix}_wwm", False)
    rows = pretraining.simulate_masking(tokenizer, *_sentences(step), seed=seed, whole_word=whole)
    return (f"<p class='figure-title'>One masking draw (seed {seed}{', whole words' if whole else ''}): "
            "the label is what the model must predict</p>" + _table(rows))


def _missing_head(step: Step, model, tokenizer, head: str, prefix: str) -> str | None:
    missing = pretraining.missing_head(model, head, "this lesson's model")
    if missing is None:
        return None
    return f"<p><em>{escape(missing[0].upper() + missing[1:])}</em></p>" + masking_figure(step, model, tokenizer,
                                                                                           prefix)


def masked_words_figure(step: Step, model, tokenizer) -> str:
    """Top-k words at each mask (the sidebar's [MASK]s and the step's picked words), or what to load."""
    missing = _missing_head(step, model, tokenizer, "mlm", "mw_mask")
    if missing:
        return missing
    masked = pretraining.mask_input(tokenizer, *_sentences(step), words=tuple(_state(step, "mask", [])))
    run = pretraining.run_fill_mask(model, masked)
    k, temperature = _state(step, "k", pretraining.TOP_K), _state(step, "temp", 1.0)
    parts = []
    for m, hidden in enumerate(masked.hidden):
        probs = pretraining.probabilities(run.logits[m, -1], temperature)
        rows = [{"word piece": p.token, "probability": p.probability} for p in pretraining.top_k(probs, tokenizer, k)]
        parts.append(f"<p class='figure-title'>Mask {m + 1} (hid {escape(hidden)}): top {k}</p>" + _table(rows))
    return "".join(parts)


def next_sentence_figure(step: Step, model, tokenizer) -> str:
    """P(IsNext) of sentence B and of the page's other candidates after A, or what to load."""
    missing = _missing_head(step, model, tokenizer, "nsp", "nsp_mask")
    if missing:
        return missing
    text_a, text_b = _sentences(step)
    others = str(_state(step, "alts", PAGES["next_sentence"].params["alts"].default)).splitlines()
    candidates = list(dict.fromkeys(line for line in [text_b, *others] if line.strip()))
    rows = [{"sentence B": r.text_b, "P(IsNext)": r.is_next}
            for r in pretraining.next_sentence(model, tokenizer, text_a, candidates)]
    return f"<p class='figure-title'>After A: {escape(text_a)}</p>" + _table(rows)


def flavours_figure(step: Step, model, tokenizer) -> str:
    rows = [{key: row[key] for key in ("model", "layers", "width H", "heads", "vocabulary", "parameters",
                                       "what changed")} for row in compare.flavours()]
    return "<p class='figure-title'>The BERT family's flavours (published configurations)</p>" + _table(rows)


def no_figure(step: Step, model, tokenizer) -> str:
    return "<p>(Open the page for this step's figures.)</p>"


FIGURES: dict[str, Callable[[Step, object, object], str]] = {
    "tokens": tokens_figure, "attention": attention_heatmap, "inside_head": inside_head_figure,
    "head_overview": head_overview_figure, "word_in_context": word_in_context_figure,
    "sentence_embeddings": sentence_embeddings_figure, "syntax_sentence": syntax_sentence_figure,
    "syntax_corpus": syntax_corpus_figure, "word_senses": no_figure, "training_data": masking_figure,
    "masked_words": masked_words_figure, "next_sentence": next_sentence_figure, "finetune": no_figure,
    "compare": flavours_figure,
}

_CSS = """
body { font-family: Georgia, 'Times New Roman', serif; max-width: 900px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { font-size: 2em; margin-bottom: 0.2em; } h2 { margin-top: 0; }
section { page-break-before: always; break-before: page; padding-top: 1em; }
section:first-of-type { page-break-before: avoid; break-before: avoid; }
.look { border-left: 4px solid #f5a623; background: #fff8ea; padding: 0.6em 0.9em; margin: 0.8em 0; }
.meta { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; font-family: sans-serif; font-size: 0.85em; margin: 0.6em 0; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: left; }
.figure-title { font-family: sans-serif; font-size: 0.9em; color: #444; }
svg { max-width: 100%; height: auto; }
@media print { body { margin: 0; max-width: none; } }
"""


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{escape(part.strip())}</p>" for part in text.split("\n\n") if part.strip())


def build_handout(lesson: Lesson, model, tokenizer, *, model_name: str) -> str:
    """The handout's HTML. A figure that cannot be made is replaced by a line saying so (the log has why)."""
    sections = []
    for number, step in enumerate(lesson.steps, start=1):
        try:
            figure = FIGURES[step.page](step, model, tokenizer)
        except Exception:  # one step's figure must not cost the teacher the whole handout
            log.exception("handout figure of step %d", number)
            figure = "<p>(The figure of this step could not be made here: open the step in the app.)</p>"
        sentences = " / ".join(f"“{escape(str(step.state[k]))}”" for k in ("a", "b") if step.state.get(k))
        sections.append(
            f"<section><p class='meta'>Step {number} of {len(lesson.steps)} · {escape(PAGES[step.page].title)}"
            + (f" · {sentences}" if sentences else "") + f"</p><h2>{escape(step.title)}</h2>{_paragraphs(step.text)}"
            f"<div class='look'><strong>Look at:</strong> {escape(step.look)}</div>{figure}</section>")
    uses_plotly = any("plotly-graph-div" in section for section in sections)
    script = f"<script>{get_plotlyjs()}</script>" if uses_plotly else ""
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{escape(lesson.title)}</title>"
            f"<style>{_CSS}</style>{script}</head><body><h1>{escape(lesson.title)}</h1>"
            f"<p class='meta'>A handout of BERT Explorer's lesson mode · model {escape(model_name)}</p>"
            f"{_paragraphs(lesson.description)}{''.join(sections)}</body></html>\n")
