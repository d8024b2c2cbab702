"""Topic and sentiment classifiers: training, evaluation and the inference engine."""

from models.classifier import DEFAULT_MAX_WINDOWS, Classifier, Prediction
from models.exceptions import EmptyTextError, ModelConfigError, ModelError
from models.null import NULL_MODEL, NullClassifier


def load_classifier(
    model: str | None, device: str = "auto", backend: str = "auto", max_windows: int = DEFAULT_MAX_WINDOWS
) -> Classifier | NullClassifier:
    """``Classifier.load``, or the benchmarking-only ``NullClassifier`` when ``model`` is ``"null"``."""
    if model == NULL_MODEL:
        return NullClassifier()
    return Classifier.load(model, device=device, backend=backend, max_windows=max_windows)


__all__ = [
    "NULL_MODEL",
    "Classifier",
    "EmptyTextError",
    "ModelConfigError",
    "ModelError",
    "NullClassifier",
    "Prediction",
    "load_classifier",
]
