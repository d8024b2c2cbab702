"""The one drift measure finsent uses: the population stability index of a class mix.

Alert rules (``class_psi``) and the drift report (``finsent query drift``) both read it, so a
threshold means the same number in both places. Rules of thumb: below 0.1 stable, 0.1–0.25 a
moderate shift, above 0.25 a large one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

SMOOTHING = 0.5
"""Added to every class count, so that a class absent on one side gives a large but finite index."""


def population_stability_index(observed: Sequence[float], expected: Sequence[float]) -> float:
    """PSI of two class counts (or shares) over the same classes: Σ (o − e) · ln(o / e) on the shares."""
    if len(observed) != len(expected) or not observed:
        raise ValueError("observed and expected need the same, non-empty list of classes")
    o_total = sum(observed) + SMOOTHING * len(observed)
    e_total = sum(expected) + SMOOTHING * len(expected)
    psi = 0.0
    for o, e in zip(observed, expected, strict=True):
        o_share, e_share = (o + SMOOTHING) / o_total, (e + SMOOTHING) / e_total
        psi += (o_share - e_share) * math.log(o_share / e_share)
    return psi
