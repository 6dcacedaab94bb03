"""Fine-tuning heads on top of BertModel, as transformers' BertForSequenceClassification,
BertForTokenClassification and BertForQuestionAnswering have them.

A head is a small module kept on the model as `model.task_head` (absent on a plain encoder): the
loader attaches the one a checkpoint carries (`classifier.*` or `qa_outputs.*`, with the labels of
its config.json), and fine-tuning attaches a new one. Its weights keep transformers' names
(`classifier.weight`, `qa_outputs.bias`), so a checkpoint we save loads in transformers' class.

    output = model(**batch)
    logits = model.task_head(output)   # (B, labels) sequence; (B, T, labels) token; (B, T, 2) QA
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from .config import BertConfig
from .model import BertModel, BertPooler
from .outputs import BertModelOutput

SEQUENCE, TOKEN, QA = "sequence", "token", "qa"
ARCHITECTURES = {SEQUENCE: "BertForSequenceClassification", TOKEN: "BertForTokenClassification",
                 QA: "BertForQuestionAnswering"}
QA_LABELS = ("start", "end")


POOLINGS = ("cls", "mean")


class TaskHead(nn.Module):
    """Dropout + linear on the pooled [CLS] output (sequence) or on every token's last hidden state
    (token); a linear to start/end scores on every token (QA, which has no dropout in transformers).

    A sequence head may read the mean of the last layer's token vectors instead (pooling="mean",
    saved as config.json's "classifier_pooling"): ours, not transformers', whose class reads [CLS]."""

    def __init__(self, config: BertConfig, task: str, labels: list[str], dropout: float | None = None,
                 pooling: str = "cls"):
        super().__init__()
        if task not in ARCHITECTURES:
            raise ValueError(f"task must be one of {tuple(ARCHITECTURES)}, not {task!r}")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, not {pooling!r}")
        self.task = task
        self.pooling = pooling if task == SEQUENCE else "cls"
        self.labels = list(QA_LABELS) if task == QA else list(labels)
        if len(self.labels) < 1:
            raise ValueError("a classification head needs at least one label")
        self.dropout = nn.Dropout(config.hidden_dropout_prob if dropout is None else dropout)
        if task == QA:
            self.qa_outputs = nn.Linear(config.hidden_size, 2)
        else:
            self.classifier = nn.Linear(config.hidden_size, len(self.labels))

    @property
    def linear(self) -> nn.Linear:
        return self.qa_outputs if self.task == QA else self.classifier

    def forward(self, output: BertModelOutput, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """attention_mask (B, T): needed by mean pooling only (None: every token counts)."""
        if self.task == SEQUENCE and self.pooling == "mean":
            return self.classifier(self.dropout(mean_pool(output.last_hidden_state, attention_mask)))
        if self.task == SEQUENCE:
            if output.pooler_output is None:
                raise ValueError("a sequence-classification head reads the pooler output: the model has no pooler")
            return self.classifier(self.dropout(output.pooler_output))       # (B, labels)
        if self.task == TOKEN:
            return self.classifier(self.dropout(output.last_hidden_state))   # (B, T, labels)
        return self.qa_outputs(output.last_hidden_state)                     # (B, T, 2): start, end


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """(B, H): the mean of the token vectors the mask keeps ([CLS] and [SEP] included)."""
    if attention_mask is None:
        return hidden.mean(1)
    mask = attention_mask[..., None].to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp_min(1)


def task_head_of(model: BertModel) -> TaskHead | None:
    """The model's fine-tuning head, or None for a plain encoder."""
    return getattr(model, "task_head", None)


def attach_task_head(model: BertModel, head: TaskHead) -> BertModel:
    """Put `head` on `model` (replacing any other): a submodule, so .to(), .train() and the parameters
    include it. A sequence head reads the pooler: a model without one gets a new pooler, randomly
    initialised as transformers initialises the one it adds."""
    if head.task == SEQUENCE and head.pooling == "cls" and model.pooler is None:
        model.pooler = BertPooler(model.config)
        model.pooler.apply(model._init_weights)
    model.task_head = head.to(device=model.device, dtype=next(model.parameters()).dtype)
    return model


def new_task_head(config: BertConfig, task: str, labels: list[str], *, seed: int,
                  dropout: float | None = None, pooling: str = "cls") -> TaskHead:
    """A freshly initialised head (normal(0, initializer_range) weights, zero bias, as transformers)."""
    head = TaskHead(config, task, labels, dropout, pooling)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        head.linear.weight.copy_(torch.randn(head.linear.weight.shape, generator=generator)
                                 * config.initializer_range)
        head.linear.bias.zero_()
    return head


def task_of(config_json: dict, keys) -> str | None:
    """Which head a checkpoint has: its config's architectures first, else its weight names."""
    names = {k.removeprefix("bert.") for k in keys}
    if "qa_outputs.weight" in names:
        return QA
    if "classifier.weight" not in names:
        return None
    architectures = config_json.get("architectures") or []
    return TOKEN if ARCHITECTURES[TOKEN] in architectures else SEQUENCE


def head_labels(config_json: dict, count: int) -> list[str]:
    """id2label's names in id order, or LABEL_0… (transformers' defaults) where it has none."""
    id2label = config_json.get("id2label") or {}
    return [str(id2label.get(str(i), id2label.get(i, f"LABEL_{i}"))) for i in range(count)]


def read_task_head(folder: Path, config: BertConfig, raw: dict[str, torch.Tensor]) -> TaskHead | None:
    """The checkpoint's fine-tuning head (from its raw weights and config.json), or None when it has none.
    Raises ValueError when its weights do not fit the config."""
    config_json = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    task = task_of(config_json, raw)
    if task is None:
        return None
    prefix = "qa_outputs" if task == QA else "classifier"
    weight, bias = (raw.get(f"{prefix}.{name}", raw.get(f"bert.{prefix}.{name}")) for name in ("weight", "bias"))
    if weight is None or bias is None or weight.ndim != 2 or weight.shape[1] != config.hidden_size \
            or bias.shape != weight.shape[:1] or (task == QA and weight.shape[0] != 2):
        raise ValueError(f"{folder}: its {prefix}.weight/bias do not fit a {config.hidden_size}-wide model")
    dropout = config_json.get("classifier_dropout")
    pooling = config_json.get("classifier_pooling", "cls")
    if pooling not in POOLINGS:
        raise ValueError(f"{folder}: classifier_pooling {pooling!r} is not one of {POOLINGS}")
    head = TaskHead(config, task, head_labels(config_json, weight.shape[0]), dropout, pooling)
    with torch.no_grad():
        head.linear.weight.copy_(weight)
        head.linear.bias.copy_(bias)
    return head


def checkpoint_state(model: BertModel) -> dict[str, torch.Tensor]:
    """The weights under transformers' names for the model's class: `bert.` before the encoder's,
    the head's own (`classifier.*`, `qa_outputs.*`) at the top; contiguous, for safetensors."""
    state = {}
    for key, tensor in model.state_dict().items():
        name = key.removeprefix("task_head.") if key.startswith("task_head.") else f"bert.{key}"
        state[name] = tensor.detach().contiguous().cpu()
    return state


def checkpoint_config(model: BertModel) -> dict:
    """config.json for the model with its head: BERT's settings, `architectures`, `id2label`/`label2id`."""
    head = task_head_of(model)
    values = model.config.to_dict()
    if head is None:
        return {**values, "architectures": ["BertModel"]}
    values.update(architectures=[ARCHITECTURES[head.task]],
                  id2label={str(i): label for i, label in enumerate(head.labels)},
                  label2id={label: i for i, label in enumerate(head.labels)})
    if head.task == SEQUENCE:
        values["problem_type"] = "single_label_classification"
        if head.pooling != "cls":  # read by our loader; transformers' class ignores it and reads [CLS]
            values["classifier_pooling"] = head.pooling
    return values
