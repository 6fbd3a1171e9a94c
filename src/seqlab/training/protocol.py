"""What the training engine asks of a task model: three methods, no Lightning.

A task model (tagger, classifier, seq2seq, forecaster, …) is a plain ``nn.Module``. To be trained by
:func:`seqlab.training.fit` it also implements:

``training_loss(batch) -> Tensor``
    The scalar loss of one training batch (a mean over the batch's examples, so that data-parallel
    gradient averaging gives the same update as one process on the whole global batch).

``validation_outputs(batch) -> Any``
    Whatever the metric needs from one validation batch — e.g. ``(predicted_tags, gold_tags)`` — on the
    CPU. It runs under ``torch.no_grad()`` with the model in eval mode. Tensors still on an accelerator
    are moved to the CPU by the engine.

``validation_metrics(outputs: list[Any]) -> dict[str, float]``
    Turns the list of every batch's ``validation_outputs`` into named figures, e.g.
    ``{"f1": 0.91, "loss": 0.23}``. The engine logs them as ``val_<name>``; ``TrainConfig.monitor``
    names one of them. With several processes (DDP) the list holds the outputs of *all* processes, in
    no particular order, so metrics must not depend on the order of batches.

Optionally, ``default_monitor`` (an attribute or property): the name of the validation figure that picks
the best epoch when ``TrainConfig.monitor`` is None, e.g. ``"f1"``; without it the engine uses ``"loss"``.

A batch is whatever the task's ``DataLoader`` yields; the engine moves the tensors inside it (nested
tuples, lists, dicts, NamedTuples and dataclasses, frozen ones included) to the training device
before calling the model.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from torch import Tensor

__all__ = ["TASK_MODEL_METHODS", "TaskModel"]

TASK_MODEL_METHODS = ("training_loss", "validation_outputs", "validation_metrics")


@runtime_checkable
class TaskModel(Protocol):
    """A model the engine can train: see the module docstring for the contract of each method."""

    def training_loss(self, batch: Any) -> Tensor:
        """Scalar loss for one batch."""
        ...

    def validation_outputs(self, batch: Any) -> Any:
        """What the metric needs from one batch (e.g. predicted and gold tags), on the CPU."""
        ...

    def validation_metrics(self, outputs: list[Any]) -> dict[str, float]:
        """Figures over the whole validation set, e.g. ``{"f1": 0.91, "loss": 0.23}``."""
        ...
