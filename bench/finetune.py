"""Fine-tuning benchmark: our fine_tune against a straightforward transformers loop, same run.

Both fine-tune the default model (all layers) on the shipped spam / ham set with the same
hyperparameters: AdamW (lr 5e-5, weight decay 0.01 except biases and LayerNorm), linear warm-up over
10 % of the steps then linear decay, batch 16, gradient clipping at 1.0, dropout 0.1 before the head,
the same batches in the same order (our length batching, seed 0), dev accuracy after each epoch and
the best epoch's weights kept. transformers' BertForSequenceClassification is given
attention_probs_dropout_prob = 0, since our model has no attention dropout; its head is initialised by
its own generator, so the runs differ by that and by float rounding. Prints one JSON line:
seconds and dev/test accuracy of each, and time_ratio = transformers' seconds / ours.

    python bench/finetune.py [--epochs 3] [--device cpu|cuda] [--model NAME_OR_PATH]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import cpu_tuning, finetune  # noqa: E402
from app.batching import padded_inputs  # noqa: E402
from app.models import load_model  # noqa: E402
from bert_core import DEFAULT_MODEL, default_checkpoint  # noqa: E402


def transformers_run(folder: Path, tokenizer, data: finetune.LabelledData, settings: finetune.Settings,
                     device: torch.device) -> dict:
    """The plain loop a transformers user writes, with our data, batches and hyperparameters."""
    import transformers

    started = time.perf_counter()
    random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    model = transformers.BertForSequenceClassification.from_pretrained(
        folder, num_labels=len(data.label_names), attention_probs_dropout_prob=0.0, dtype=torch.float32,
        attn_implementation="sdpa").to(device)
    (train_texts, train_labels), (dev_texts, dev_labels), (test_texts, test_labels) = (
        data.part(s) for s in finetune.SPLITS)
    limit = model.config.max_position_embeddings  # a BERT: no position offset
    train, dev, test = (finetune.encode_texts(tokenizer, t, limit).ids for t in (train_texts, dev_texts, test_texts))
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": settings.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=settings.lr)
    total = math.ceil(len(train) / settings.batch_size) * settings.epochs
    scheduler = transformers.get_linear_schedule_with_warmup(optimizer, round(settings.warmup * total), total)
    targets = torch.tensor(train_labels, device=device)
    rng = random.Random(settings.seed)

    def batch(ids, rows):
        input_ids, mask, types = padded_inputs([ids[i] for i in rows], pad_token_id=0, device=device)
        return {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": types}

    def accuracy(ids, labels):
        model.eval()
        right = 0
        with torch.inference_mode():
            for start in range(0, len(ids), 64):
                rows = list(range(start, min(start + 64, len(ids))))
                predicted = model(**batch(ids, rows)).logits.argmax(-1).cpu()
                right += int((predicted == torch.tensor([labels[i] for i in rows])).sum())
        return right / len(ids)

    best, best_state, waited = -1.0, None, 0
    for _ in range(settings.epochs):
        model.train()
        for rows in finetune.length_batches(train, settings.batch_size, rng):
            loss = torch.nn.functional.cross_entropy(model(**batch(train, rows)).logits, targets[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
        dev_accuracy = accuracy(dev, dev_labels)
        if dev_accuracy > best:
            best, waited = dev_accuracy, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
            if waited >= settings.patience:
                break
    model.load_state_dict(best_state)
    return {"seconds": time.perf_counter() - started, "dev_accuracy": accuracy(dev, dev_labels),
            "test_accuracy": accuracy(test, test_labels)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args()
    threads = cpu_tuning.tune_process(leave_free=0)
    device = torch.device(args.device)
    model, tokenizer = load_model(args.model)
    model = model.to(device)
    folder = default_checkpoint() if args.model == DEFAULT_MODEL else Path(args.model)
    data = finetune.read_labelled(finetune.SPAM_DATA.read_bytes(), finetune.SPAM_DATA.name)
    settings = finetune.Settings(approach="all", epochs=args.epochs)
    # Warm-up: one step of each, so neither pays first-call costs (kernels, allocator) in its time.
    tiny = finetune.LabelledData(data.texts[:48], data.labels[:48], ["train"] * 16 + ["dev"] * 16 + ["test"] * 16,
                                 data.label_names)
    finetune.fine_tune(model, tokenizer, tiny, finetune.Settings(epochs=1))
    transformers_run(folder, tokenizer, tiny, finetune.Settings(epochs=1), device)

    result = finetune.fine_tune(model, tokenizer, data, settings)
    ours = {"seconds": result.seconds, "dev_accuracy": result.dev.accuracy, "test_accuracy": result.test.accuracy,
            "epochs_run": result.epochs_run}
    theirs = transformers_run(folder, tokenizer, data, settings, device)
    print(json.dumps({
        "bench": "finetune", "model": args.model, "device": str(device),
        "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None,
        "cpu": platform.processor() or platform.machine(), "threads": threads,
        "omp": os.environ.get("OMP_NUM_THREADS"), "train_texts": len(data.part("train")[0]),
        "test_texts": len(data.part("test")[0]), "epochs": args.epochs,
        "ours": {k: round(v, 4) for k, v in ours.items()},
        "transformers": {k: round(v, 4) for k, v in theirs.items()},
        "time_ratio": round(theirs["seconds"] / ours["seconds"], 3),
        "majority_test_accuracy": round(float(np.bincount(data.part("test")[1]).max() / len(data.part("test")[1])), 4),
    }))


if __name__ == "__main__":
    main()
