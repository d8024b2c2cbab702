"""The benchmark harness measures what it says, on small inputs (the full runs are benchmarks, not tests)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from config import Settings
from finsent.dev import bench
from finsent.dev.bench import (
    PipelineBenchOptions,
    cpu_info,
    feed,
    machine,
    naive_throughput,
    run_e2e,
    run_latency,
    texts_of,
)
from finsent.dev.bench_windows import bench_windows
from finsent.dev.model_alone import model_throughput, routed_texts
from models import NullClassifier, load_classifier
from schemas import DocumentKind
from streams.stages import STAGES


def test_the_null_model_is_instant_fixed_and_refused_in_production() -> None:
    assert isinstance(load_classifier("null"), NullClassifier)
    predictions = NullClassifier().predict(["a", "b"])
    assert [p.sentiment_label for p in predictions] == ["neutral", "neutral"]
    with pytest.raises(ValueError, match="benchmarking-only"):
        Settings(_env_file=None, environment="production", author_hash_key="k" * 32, model="null")  # type: ignore[call-arg]


def test_the_feed_is_valid_deterministic_and_mixed() -> None:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    first, again = feed(200, seed=5, start=start), feed(200, seed=5, start=start)
    assert [m.value for m in first] == [m.value for m in again]
    assert all(m.valid for m in first) and {m.kind.value for m in first} == {"news", "social"}
    assert len(texts_of(first)) == 200


def test_model_throughput_counts_every_text() -> None:
    figures = model_throughput("null", "auto", texts_of(feed(300, seed=5)), batch_size=64)
    assert figures["docs_per_s"] > 1_000 and figures["backend"] == "null"


def test_model_alone_reads_each_text_with_the_model_its_route_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINSENT_ROUTES", raising=False)
    texts, kinds = ["news one", "post one", "news two"], [DocumentKind.NEWS, DocumentKind.SOCIAL, DocumentKind.NEWS]
    # Without a model the worker's default routes apply: news to the shipped teacher, the rest to the served model.
    assert routed_texts(texts, kinds, None) == {"finsent-mpnet": ["news one", "news two"], None: ["post one"]}
    assert routed_texts(texts, kinds, "finsent-minilm") == {"finsent-minilm": texts}
    monkeypatch.setenv("FINSENT_ROUTES", "social=finsent-mpnet")
    assert routed_texts(texts, kinds, "finsent-minilm") == {"finsent-minilm": ["news one", "news two"],
                                                             "finsent-mpnet": ["post one"]}  # fmt: skip


def test_model_alone_keeps_the_faster_of_its_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """One slow sample of the model alone must not inflate the efficiency (docs/performance.md, "Lanes")."""
    samples = iter([100.0, 300.0, 200.0])
    monkeypatch.setattr(bench, "_in_fresh_process", lambda *_: {"docs_per_s": next(samples), "backend": "null"})
    figures = bench.routed_model_throughput(feed(50, seed=5), PipelineBenchOptions(model="null"))
    assert bench.MODEL_ALONE_RUNS == 2
    assert figures == {"docs_per_s": 300.0, "backend": "null"}


def test_cpu_info_reads_the_first_processor_only(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: AMD EPYC 9B14\nflags\t\t: fpu avx2 avx512f avx512_vnni\n\n"
        "processor\t: 1\nmodel name\t: other\nflags\t\t: fpu\n"
    )
    info = cpu_info(cpuinfo)
    assert info["model name"] == "AMD EPYC 9B14"
    assert info["flags"].split() == ["fpu", "avx2", "avx512f", "avx512_vnni"]
    assert cpu_info(tmp_path / "missing") == {}


def test_machine_names_the_int8_extensions_of_this_cpu() -> None:
    flags = set(cpu_info().get("flags", "").split())
    extensions = machine()["vector_extensions"]
    assert set(extensions) == flags & {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8"}


@pytest.mark.integration
def test_e2e_and_naive_runs_store_every_document() -> None:
    messages = feed(300, seed=6)
    e2e = run_e2e(messages, PipelineBenchOptions(batch_size=128), "null")
    assert e2e["docs_per_s"] > 0 and e2e["peak_rss_mb"] > 50
    # The worker's stats page says where the time went: every stage, each document's stages spent time.
    assert list(e2e["stages"]) == list(STAGES)
    assert all(e2e["stages"][name]["wall_us"] > 0 for name in ("parse", "stories", "rows", "store", "produce", "ack"))
    naive = naive_throughput(messages[:30], "null", "auto")
    assert 0 < naive < e2e["docs_per_s"]


@pytest.mark.integration
def test_the_run_without_stories_keeps_no_story_index() -> None:
    messages = feed(200, seed=8)
    options = PipelineBenchOptions(batch_size=128)
    plain = run_e2e(messages, options, "null", stories=False)
    indexed = run_e2e(messages, options, "null")
    # Without an index a document's story is itself: microseconds, against an index write and lookup.
    assert plain["stages"]["stories"]["wall_us"] * 10 < indexed["stages"]["stories"]["wall_us"]


@pytest.mark.integration
def test_latency_is_timed_by_an_outside_reader_and_by_the_worker_itself() -> None:
    latency = run_latency(PipelineBenchOptions(model="null", latency_seconds=2.0), rate=30.0)
    assert latency["samples"] == 60
    # The worker counts every message it committed, each from its Kafka timestamp.
    assert latency["worker_delay_ms"]["messages"] == 60
    assert 0 < latency["p50_ms"] <= latency["p99_ms"]
    assert 0 < latency["worker_delay_ms"]["p50"] <= latency["worker_delay_ms"]["p99"]


def test_the_window_bench_scores_long_documents_under_each_cap(tiny_model_dir: Path) -> None:
    sentences = [f"Company {i} reported results and its shares moved in late trading." for i in range(500)]
    report = bench_windows(str(tiny_model_dir), sentences, docs=2, caps=(1, 1_000))
    assert report["documents"] == 2 and report["mean_chars"] > 2_000
    assert report["caps"]["uncapped"]["windows_mean"] > 1  # longer than one window: a cap of one cuts it
    assert report["caps"]["1"]["seconds_mean"] > 0
    # A cap above every document's windows reads exactly what the uncapped model reads.
    above = report["caps"]["1000"]
    assert above["label_agreement"] == 1.0 and above["mean_abs_score_change"] == 0.0
