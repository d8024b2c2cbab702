"""Measure every backend of a model (quality, throughput, latency, cold load) and pick the CPU default.

The default is the fastest backend whose validation macro-F1 stays within 0.5 point of torch
fp32 on both tasks. Results go into the model's metrics.json and model card.
"""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from models.artifact import SPEC_FILE, ModelSpec, resolve_model_dir
from models.backends import CPU_BACKENDS, CUDA_BACKENDS, cuda_available
from models.classifier import Classifier
from models.data import read_labelled
from models.evaluate import batch_one_latency_ms, evaluate_file
from models.exceptions import ModelConfigError
from models.labels import resolve_label_map

MAX_F1_DROP = 0.005
REFERENCE = "torch-fp32"


def measure_backend(directory: Path, backend: str, data: dict[str, Path], limit: int | None) -> dict[str, float]:
    """Validation metrics and speed of one backend at batch 64.

    ``texts_per_s`` is measured on the sentiment split (tweets, ~30 tokens); the topic split's
    texts are longer and are reported apart.
    """
    started = time.perf_counter()
    classifier = Classifier.load(directory, backend=backend, max_batch=64)
    load_s = time.perf_counter() - started
    sentiment = evaluate_file(classifier, "sentiment", data["sentiment"], "tfn-sentiment", limit)
    topic = evaluate_file(classifier, "topic", data["topic"], "tfn-topic", limit)
    sample = read_labelled(data["sentiment"], resolve_label_map("tfn-sentiment")).texts[:100]
    latency = batch_one_latency_ms(classifier, sample, repeats=100)
    return {
        "sentiment_macro_f1": float(sentiment["macro_f1"]),
        "sentiment_accuracy": float(sentiment["accuracy"]),
        "topic_macro_f1": float(topic["macro_f1"]),
        "topic_accuracy": float(topic["accuracy"]),
        "texts_per_s": float(sentiment["texts_per_s"]),
        "texts_per_s_topic_set": float(topic["texts_per_s"]),
        "batch1_p50_ms": latency["p50_ms"],
        "batch1_p95_ms": latency["p95_ms"],
        "load_s": round(load_s, 2),
    }


def measure_in_fresh_process(
    directory: Path, backend: str, data: dict[str, Path], limit: int | None
) -> dict[str, float]:
    """``measure_backend`` in a new interpreter: torch's thread pool, once loaded, slows ONNX Runtime."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(measure_backend, directory, backend, data, limit).result()


def select_default(results: dict[str, dict[str, float]]) -> str:
    """Fastest CPU backend within 0.5 F1 point of the fp32 reference on both tasks."""
    reference = results[REFERENCE]
    eligible = [
        name
        for name, r in results.items()
        if name in CPU_BACKENDS
        and reference["sentiment_macro_f1"] - r["sentiment_macro_f1"] <= MAX_F1_DROP
        and reference["topic_macro_f1"] - r["topic_macro_f1"] <= MAX_F1_DROP
    ]
    return max(eligible, key=lambda name: results[name]["texts_per_s"])


def cold_load_seconds(directory: Path, backend: str) -> float:
    """Seconds from a fresh interpreter to a first prediction (with the export cache warm)."""
    code = (
        "import time; t = time.perf_counter(); from models import Classifier; "
        f"c = Classifier.load({str(directory)!r}, backend={backend!r}); c.predict(['warm up']); "
        "print(time.perf_counter() - t)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return round(float(done.stdout.strip().splitlines()[-1]), 2)


def benchmark_model(
    model: str | None, data: dict[str, Path], limit: int | None = None, write: bool = False, default: str | None = None
) -> dict[str, object]:
    """Measure all available backends; with ``write``, record them and the chosen default in the model dir.

    ``default`` overrides the rule's choice (``select_default``); both are recorded, and the card says so.
    """
    if default is not None and default not in CPU_BACKENDS:
        raise ModelConfigError(f"unknown CPU backend {default!r}; choose one of {', '.join(CPU_BACKENDS)}")
    directory = resolve_model_dir(model)
    names = list(CPU_BACKENDS) + (list(CUDA_BACKENDS[:2]) if cuda_available() else [])
    results = {name: measure_in_fresh_process(directory, name, data, limit) for name in tqdm(names, desc="backends")}
    by_rule = select_default(results)
    chosen = default or by_rule
    for name, r in results.items():
        r["f1_delta_vs_fp32"] = round(r["sentiment_macro_f1"] - results[REFERENCE]["sentiment_macro_f1"], 4)
        r["selected"] = name == chosen
    report = {
        "model": str(directory),
        "default_cpu_backend": chosen,
        "default_by_rule": by_rule,
        "backends": results,
        "cold_load_s": cold_load_seconds(directory, chosen),
    }
    if write:
        _record(directory, report)
    return report


def _record(directory: Path, report: dict[str, object]) -> None:
    from models.report import write_report

    spec = ModelSpec.from_dir(directory)
    (directory / SPEC_FILE).write_text(replace(spec, default_cpu_backend=str(report["default_cpu_backend"])).to_json())
    metrics_path = directory / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    metrics["backends"] = report["backends"]
    metrics["default_by_rule"] = report["default_by_rule"]
    metrics["cold_load_s"] = report["cold_load_s"]
    metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    write_report(directory)
