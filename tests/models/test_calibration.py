"""Temperature scaling lowers the calibration error of an over-confident head."""

from __future__ import annotations

import numpy as np

from models.calibration import expected_calibration_error, fit_temperature, softmax


def _overconfident(seed: int = 0, n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose argmax is right 70 % of the time but which claim ~99 % confidence."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    predicted = np.where(rng.random(n) < 0.7, labels, (labels + rng.integers(1, 3, n)) % 3)
    logits = rng.normal(0, 0.5, (n, 3))
    logits[np.arange(n), predicted] += 6.0
    return logits, labels


def test_temperature_fit_lowers_ece_without_changing_predictions() -> None:
    logits, labels = _overconfident()
    before = expected_calibration_error(softmax(logits), labels)
    temperature = fit_temperature(logits, labels)
    after = expected_calibration_error(softmax(logits, temperature), labels)
    assert temperature > 1.5
    assert before > 0.2
    assert after < 0.05
    assert (softmax(logits, temperature).argmax(1) == logits.argmax(1)).all()


def test_fitted_temperature_carries_to_unseen_rows() -> None:
    fit_logits, fit_labels = _overconfident(seed=1)
    test_logits, test_labels = _overconfident(seed=2)
    temperature = fit_temperature(fit_logits, fit_labels)
    assert expected_calibration_error(softmax(test_logits, temperature), test_labels) < 0.05


def test_ece_of_a_perfectly_calibrated_predictor_is_small() -> None:
    rng = np.random.default_rng(3)
    probs = rng.dirichlet([1, 1, 1], 20_000)
    labels = np.array([rng.choice(3, p=p) for p in probs])
    assert expected_calibration_error(probs, labels) < 0.02


def test_ece_bins_by_confidence() -> None:
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    labels = np.array([0, 1, 0, 0])
    # Bin of 0.9: accuracy 0.5 (gap 0.4); bin of 0.6: accuracy 1.0 (gap 0.4).
    assert expected_calibration_error(probs, labels) == 0.4


def test_no_rows_mean_identity() -> None:
    assert fit_temperature(np.zeros((0, 3)), np.zeros(0, dtype=int)) == 1.0
