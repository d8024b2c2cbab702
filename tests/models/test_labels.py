from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.exceptions import ModelConfigError
from models.labels import TFN_TOPICS, apply_label_map, resolve_label_map, topic_classes


def test_presets_map_the_shared_corpora() -> None:
    sentiment = resolve_label_map("tfn-sentiment")
    assert sentiment == {"0": "negative", "1": "positive", "2": "neutral"}
    topics = resolve_label_map("tfn-topic")
    assert len(topics) == 20
    assert topics["0"] == "Analyst Update"
    assert topics["19"] == "Stock Movement"


def test_inline_and_file_maps(tmp_path: Path) -> None:
    assert resolve_label_map("bear=negative, bull=positive") == {"bear": "negative", "bull": "positive"}
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"1": "positive"}))
    assert resolve_label_map(str(path)) == {"1": "positive"}


def test_unknown_preset_and_label_are_clear_errors() -> None:
    with pytest.raises(ModelConfigError, match="unknown label map"):
        resolve_label_map("no-such-preset")
    with pytest.raises(ModelConfigError, match="not in the label map"):
        apply_label_map("7", {"0": "negative"})


def test_topic_class_order_follows_numeric_keys() -> None:
    assert topic_classes(resolve_label_map("tfn-topic"), []) == TFN_TOPICS
    assert topic_classes({}, ["b", "a", "b"]) == ("a", "b")
