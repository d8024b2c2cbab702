"""Confusion-matrix plots and the model card, rendered from a model directory's metrics.json."""

from __future__ import annotations

import json
from pathlib import Path
from string import Template

from models.artifact import SPEC_FILE, ModelSpec

CARD_TEMPLATE = Template((Path(__file__).parent / "card_template.md").read_text())


def plot_confusion(matrix: list[list[int]], classes: list[str], title: str, out: Path) -> None:
    """Row-normalised confusion matrix (rows: truth), counts in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    counts = np.array(matrix, dtype=float)
    rates = counts / counts.sum(axis=1, keepdims=True).clip(min=1)
    size = max(4.5, 0.45 * len(classes) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(len(classes)):
        for j in range(len(classes)):
            if counts[i, j]:
                ax.text(
                    j,
                    i,
                    str(int(counts[i, j])),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if rates[i, j] > 0.5 else "black",
                )
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of true class")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _metric_rows(metrics: dict) -> str:
    rows = ["| task | n | accuracy | macro-F1 | weighted-F1 |", "|---|---|---|---|---|"]
    for task in ("sentiment", "topic"):
        m = metrics["validation"][task]
        rows.append(f"| {task} | {m['n']} | {m['accuracy']:.4f} | {m['macro_f1']:.4f} | {m['weighted_f1']:.4f} |")
    return "\n".join(rows)


def _backend_rows(metrics: dict) -> str:
    backends = metrics.get("backends")
    if not backends:
        return "_Not measured yet: run `python benchmarks/model_backends.py --write`._"
    rows = [
        "| backend | sentiment macro-F1 | topic macro-F1 | topic accuracy | texts/s (tweets, batch 64) "
        "| texts/s (topic set) | batch-1 p50 ms | selected |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, b in backends.items():
        rows.append(
            f"| {name} | {b['sentiment_macro_f1']:.4f} | {b['topic_macro_f1']:.4f} | {b['topic_accuracy']:.4f} "
            f"| {b['texts_per_s']:.0f} | {b.get('texts_per_s_topic_set', 0):.0f} | {b['batch1_p50_ms']:.1f} "
            f"| {'yes' if b.get('selected') else ''} |"
        )
    return "\n".join(rows)


def _baseline_rows(metrics: dict) -> str:
    baselines = metrics.get("baselines")
    if not baselines:
        return "_Not measured yet: run `python benchmarks/baselines.py --write`._"
    rows = ["| baseline (sentiment) | accuracy | macro-F1 |", "|---|---|---|"]
    rows += [f"| {name} | {b['accuracy']:.4f} | {b['macro_f1']:.4f} |" for name, b in baselines.items()]
    return "\n".join(rows)


def _history_rows(metrics: dict) -> str:
    rows = ["| epoch | train loss | sentiment macro-F1 | topic accuracy |", "|---|---|---|---|"]
    rows += [
        f"| {h['epoch']} | {h['train_loss']:.4f} | {h['sentiment']['macro_f1']:.4f} | {h['topic']['accuracy']:.4f} |"
        for h in metrics["history"]
    ]
    return "\n".join(rows)


def write_report(directory: Path) -> None:
    """Write confusion_sentiment.png, confusion_topic.png and README.md (the model card)."""
    metrics = json.loads((directory / "metrics.json").read_text())
    spec = ModelSpec.from_dir(directory)
    for task in ("sentiment", "topic"):
        m = metrics["validation"][task]
        plot_confusion(
            m["confusion"], m["classes"], f"{task} — validation (n={m['n']})", directory / f"confusion_{task}.png"
        )
    config = metrics["config"]
    card = CARD_TEMPLATE.substitute(
        model_version=spec.model_version,
        base_model=spec.base_model,
        finetune=spec.finetune,
        lora_rank=config.get("lora_rank"),
        epochs=config.get("epochs"),
        best_epoch=metrics["best_epoch"],
        learning_rate=config.get("learning_rate") or "default",
        max_length=config.get("max_length"),
        train_sentiment=metrics["train_examples"]["sentiment"],
        train_topic=metrics["train_examples"]["topic"],
        train_minutes=round(metrics["train_seconds"] / 60, 1),
        metric_table=_metric_rows(metrics),
        history_table=_history_rows(metrics),
        backend_table=_backend_rows(metrics),
        baseline_table=_baseline_rows(metrics),
        default_backend=spec.default_cpu_backend or "onnx-int8 (fallback; not measured)",
        cold_load=metrics.get("cold_load_s", "not measured"),
        spec_file=SPEC_FILE,
        versions=", ".join(f"{k} {v}" for k, v in spec.versions.items()),
    )
    (directory / "README.md").write_text(card)
