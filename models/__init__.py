"""Topic and sentiment classifiers: training, evaluation and the inference engine."""

from models.classifier import Classifier, Prediction
from models.exceptions import EmptyTextError, ModelConfigError, ModelError

__all__ = ["Classifier", "EmptyTextError", "ModelConfigError", "ModelError", "Prediction"]
