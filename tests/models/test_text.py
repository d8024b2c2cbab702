"""Text normalisers (models.text): emoji spelt out, links dropped, the same in training and inference."""

from __future__ import annotations

import random
from pathlib import Path

import emoji
import pytest

from models import Classifier
from models.artifact import ModelSpec, tokenizer_source
from models.text import MAX_RUN_CHARS, MAX_SPELT_RUNS, NORMALISERS, _emoji_words, demojize, normalise

ROCKETS = "$TSLA deliveries crushed it 🚀🚀 https://t.co/AbC123"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("🚀", " rocket "),
        ("wrecked again 📉😭", "wrecked again  chart decreasing  loudly crying face "),
        ("ok👍🏽", "ok thumbs up "),  # the skin tone says nothing about sentiment
        ("🇺🇸 jobs", " United States  jobs"),
        ("snake_case stays, ❤️ goes", "snake_case stays,  red heart  goes"),
        ("plain ASCII text", "plain ASCII text"),
        ("café crème – no emoji", "café crème – no emoji"),
    ],
)
def test_demojize_spells_emoji_out_between_spaces(text: str, expected: str) -> None:
    assert demojize(text) == expected


def test_demojize_spells_out_what_the_emoji_package_names() -> None:
    rng = random.Random(3)
    pool = [*list(emoji.EMOJI_DATA)[::3], "a", " ", "é", "日", "1", "#", "\u200d", "\ufe0f", "→"]
    for _ in range(2_000):
        text = "".join(rng.choice(pool) for _ in range(rng.randrange(1, 8)))
        assert demojize(text) == emoji.replace_emoji(text, replace=_emoji_words), text
    assert demojize("1️⃣ #️⃣") == " keycap 1   keycap # "


def test_demojize_cost_is_bounded_by_runs_and_their_length() -> None:
    many = "a🚀" * (MAX_SPELT_RUNS + 1_000)
    out = demojize(many)
    assert out.count("rocket") == MAX_SPELT_RUNS
    assert "🚀" not in out and out.count("a") == MAX_SPELT_RUNS + 1_000
    assert demojize("📉" * 100_000).split() == ["chart", "decreasing"] * MAX_RUN_CHARS


def test_normalisers_by_name() -> None:
    assert normalise(ROCKETS, "demojize+strip-urls") == "$TSLA deliveries crushed it rocket rocket"
    # The shipped models were trained with "strip-urls": its meaning must not change.
    assert normalise(ROCKETS, "strip-urls") == "$TSLA deliveries crushed it 🚀🚀"
    assert normalise(ROCKETS, None) == ROCKETS
    with pytest.raises(ValueError, match="unknown text normaliser"):
        normalise(ROCKETS, "demojize")
    assert set(NORMALISERS) == {"strip-urls", "demojize+strip-urls"}


def test_training_and_inference_read_an_emoji_text_alike(tiny_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    from models.train import TrainConfig
    from models.train.dataset import _encode, _Pool

    spec = ModelSpec.from_dir(tiny_model_dir)
    assert spec.text_normaliser == TrainConfig.text_normaliser == "demojize+strip-urls"
    texts = [ROCKETS, "$AMC getting wrecked again 📉😭"]
    config = TrainConfig(Path(), Path(), Path(), Path(), Path(), max_length=spec.max_length)
    hf = AutoTokenizer.from_pretrained(tokenizer_source(tiny_model_dir, spec))
    pool = _Pool(texts, {"sentiment": [0, 0], "topic": [0, 0]}, spans=[[], []], entity=[[], []])
    trained_on = _encode(pool, hf, config).token_ids
    classifier = Classifier.load(tiny_model_dir, backend="torch-fp32")
    read = [chunk.ids for chunk in classifier.tokenizer.chunks(texts, spec.max_length, None, spec.text_normaliser)]
    assert read == [list(ids) for ids in trained_on]
    spelt = hf(["$TSLA deliveries crushed it rocket rocket"])["input_ids"][0]
    assert read[0] == list(spelt) and hf.unk_token_id not in read[0] + read[1]
    assert classifier.predict(["crushed it 🚀"])[0].score == pytest.approx(
        classifier.predict(["crushed it rocket"])[0].score, abs=1e-6
    )
