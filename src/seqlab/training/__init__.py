"""The training engine shared by every task: the only part of seqlab that imports Lightning.

>>> from seqlab.training import TrainConfig, fit
>>> result = fit(tagger, train_loader, dev_loader, TrainConfig(monitor="f1", mode="max", patience=5))

Task models implement :class:`TaskModel` (three methods) and stay plain ``nn.Module``s.
"""

from .engine import OPTIMIZERS, TrainConfig, TrainResult, default_mode, fit
from .protocol import TaskModel
from .schedules import SCHEDULES, lr_factor

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "TaskModel",
    "TrainConfig",
    "TrainResult",
    "default_mode",
    "fit",
    "lr_factor",
]
