"""Joint fine-tuning of one encoder with a topic head and a sentiment head, resumable.

The texts of both training files form one pool; each text carries the labels it has (a
sentiment tweet has no topic label and the other way round; -1 marks a missing one) and, when
distilling, a teacher's logits for both heads. Batches come from length-sorted buckets to keep
padding, and so CPU time, low. A hashed 5 % of the texts is held out: it picks the best
checkpoint and fits the heads' temperatures, so the validation files are never looked at
before the final report.

The parts, as sentence-transformers keeps them apart:

- ``config``: ``TrainConfig`` and its checks, ``load_config`` of a checkpointed run;
- ``examples``, ``dataset``, ``teacher``: tokenised examples and batches, the files read into
  them, the teacher's logits (distillation's soft targets);
- ``losses``: per-head cross-entropy and distillation, summed by ``JointLoss(model, batch)``;
- ``evaluators``: callables scoring a model under a named primary metric; one picks the checkpoint;
- ``trainer``: ``Trainer``, the loop with its checkpoint/resume state;
- ``build``, ``output``, ``run``: the network and optimiser, the model directory, ``train`` itself.

A further head (an entity head, say) adds its labels to the examples, an objective to the loss,
an evaluator to ``holdout_evaluator`` and its logits to the network's ``logits_by_task``; the
``Trainer`` does not change.
"""

from models.exceptions import TrainingStopped
from models.train.config import CHECKPOINT_DIR, TrainConfig, load_config
from models.train.evaluators import Evaluator, HeadEvaluator, MeanEvaluator, holdout_evaluator
from models.train.run import EvaluatorFactory, TrainResult, train

__all__ = [
    "CHECKPOINT_DIR",
    "Evaluator",
    "EvaluatorFactory",
    "HeadEvaluator",
    "MeanEvaluator",
    "TrainConfig",
    "TrainResult",
    "TrainingStopped",
    "holdout_evaluator",
    "load_config",
    "train",
]
