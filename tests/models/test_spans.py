"""Mention spans through normalisation and tokenisation, and the entity head's pooling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.network import EntityHead, masked_mean
from models.spans import context_bounds, span_masks, token_span
from models.text import normalise, normalise_with_spans


def spans_of(text: str, *names: str) -> list[tuple[int, int]]:
    return [(text.index(name), text.index(name) + len(name)) for name in names]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Ford beats estimates while rival General Motors misses https://t.co/x 🚀", ("Ford", "General Motors")),
        ("  $TSLA deliveries crushed it 🚀🚀 and Apple🚀 fell", ("$TSLA", "Apple")),
        ("Apple  Inc. and https://x.y Microsoft", ("Apple  Inc.", "Microsoft")),
        ("🚀Apple🚀", ("Apple",)),
        ("x  Apple  y 📉😭", ("Apple",)),
    ],
)
@pytest.mark.parametrize("normaliser", [None, "strip-urls", "demojize+strip-urls"])
def test_spans_cover_the_normalised_form_of_their_characters(
    text: str, names: tuple[str, ...], normaliser: str | None
) -> None:
    out, spans = normalise_with_spans(text, spans_of(text, *names), normaliser)
    assert out == normalise(text, normaliser)
    assert [out[s[0] : s[1]] for s in spans if s is not None] == [normalise(n, normaliser) for n in names]


def test_a_span_inside_a_link_is_lost_and_says_so() -> None:
    text = "read https://example.com/Apple now, Apple"
    out, spans = normalise_with_spans(text, [(25, 30), (36, 41)], "strip-urls")
    assert out == "read now, Apple"
    assert spans == [None, (10, 15)]


def test_token_span_and_masks() -> None:
    offsets = [(0, 0), (0, 4), (5, 10), (11, 18), (19, 25), (0, 0)]
    assert token_span(offsets, 5, 18) == (2, 4)
    assert token_span(offsets, 100, 104) is None
    assert context_bounds((2, 4), length=6, context=1) == (1, 5)
    mention, around = span_masks([[(2, 4), None], [(1, 2)]], lengths=[6, 3], width=6, context=1)
    assert mention.shape == around.shape == (2, 2, 6)
    assert mention[0, 0].tolist() == [0, 0, 1, 1, 0, 0]
    assert around[0, 0].tolist() == [0, 1, 1, 1, 1, 0]
    assert not mention[0, 1].any() and not mention[1, 1].any()
    assert around[1, 0].tolist() == [0, 1, 0, 0, 0, 0]  # [CLS] and [SEP] are never context


def test_entity_head_pools_each_mention_in_one_pass() -> None:
    torch.manual_seed(0)
    states = torch.randn(2, 6, 4)
    mention, around = span_masks([[(1, 3), (3, 5)], [(2, 3)]], lengths=[6, 4], width=6)
    pooled = masked_mean(states, torch.from_numpy(mention))
    assert torch.allclose(pooled[0, 0], states[0, 1:3].mean(0))
    assert torch.allclose(pooled[1, 0], states[1, 2])
    head = EntityHead(hidden=4, n_sentiments=3).eval()
    logits = head(states, states.mean(1), torch.from_numpy(mention), torch.from_numpy(around))
    assert logits.shape == (2, 2, 3)
    assert np.isfinite(logits.detach().numpy()).all()


@pytest.mark.parametrize("normaliser", ["strip-urls", "demojize+strip-urls"])
def test_a_span_edge_inside_a_link_scheme_still_loses_the_link(normaliser: str) -> None:
    text = "Oracle loses bid https://t.co/xyz"
    out, spans = normalise_with_spans(text, [(0, 6), (21, 26), (13, len(text))], normaliser)
    assert out == normalise(text, normaliser) == "Oracle loses bid"
    assert spans == [(0, 6), None, (13, 16)]


def test_a_span_ending_in_an_emoji_covers_its_words_without_spaces() -> None:
    text = "a 👍🏽b  Apple🚀 fell  🚀"
    out, spans = normalise_with_spans(text, spans_of(text, "👍🏽", "Apple", "fell  🚀"), "demojize+strip-urls")
    assert out == normalise(text, "demojize+strip-urls")
    assert [out[s[0] : s[1]] for s in spans if s is not None] == ["thumbs up", "Apple", "fell rocket"]


def test_text_characters_like_marks_are_kept() -> None:
    text = "\ufeffApple \uf8ff rises \ufffd"
    out, spans = normalise_with_spans(text, spans_of(text, "Apple"), "strip-urls")
    assert out == normalise(text, "strip-urls")
    assert spans == [(1, 6)]
