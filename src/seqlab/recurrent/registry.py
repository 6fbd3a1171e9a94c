"""Recurrences by name, so every task can say ``recurrence="gru"`` plus options."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from .base import Recurrence
from .gru import GRU
from .lstm import LSTM
from .mamba import Mamba
from .mingru import MinGRU, MinLSTM
from .rnn import ElmanRNN
from .rwkv import RWKV
from .xlstm import MLSTM, SLSTM

__all__ = ["RECURRENCES", "build_recurrence", "recurrence_options", "register_recurrence"]

RECURRENCES: dict[str, type[Recurrence]] = {
    "rnn": ElmanRNN,
    "lstm": LSTM,
    "gru": GRU,
    "mingru": MinGRU,
    "minlstm": MinLSTM,
    "mamba": Mamba,
    "rwkv": RWKV,
    "mlstm": MLSTM,
    "slstm": SLSTM,
}


def register_recurrence(name: str, cls: type[Recurrence]) -> None:
    """Make ``cls`` available as ``recurrence=name``."""
    if not (isinstance(cls, type) and issubclass(cls, Recurrence)):
        raise ValueError(f"register_recurrence: expected a Recurrence subclass, got {cls!r}")
    if name in RECURRENCES and RECURRENCES[name] is not cls:
        raise ValueError(
            f"register_recurrence: {name!r} is already registered to {RECURRENCES[name].__name__}"
        )
    RECURRENCES[name] = cls


def recurrence_options(name: str) -> dict[str, Any]:
    """The options ``name`` accepts, with their defaults."""
    cls = _lookup(name)
    params = inspect.signature(cls.__init__).parameters.values()
    return {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}


def build_recurrence(
    name: str, input_size: int, hidden_size: int, options: Mapping[str, Any] | None = None
) -> Recurrence:
    """One layer of the recurrence called ``name``.

    >>> build_recurrence("lstm", 32, 64, {"peephole": True})
    LSTM(32, 64, peephole=True)
    """
    options = dict(options or {})
    known = recurrence_options(name)
    unknown = sorted(set(options) - set(known))
    if unknown:
        listed = ", ".join(f"{k}={v!r}" for k, v in known.items()) or "none"
        raise ValueError(
            f"recurrence {name!r}: unknown option(s) {', '.join(map(repr, unknown))}; it accepts: {listed}"
        )
    return RECURRENCES[name](input_size, hidden_size, **options)


def _lookup(name: str) -> type[Recurrence]:
    try:
        return RECURRENCES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown recurrence {name!r}; known: {', '.join(sorted(RECURRENCES))}") from None
