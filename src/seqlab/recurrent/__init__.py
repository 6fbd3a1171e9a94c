"""The recurrences of the chapter, one per file, and the stack that layers any of them.

>>> from seqlab.recurrent import Recurrent
>>> rnn = Recurrent("lstm", 32, 64, num_layers=2, bidirectional=True)
"""

from .base import Recurrence
from .gru import GRU, GRUState
from .lstm import LSTM, LSTMState
from .registry import RECURRENCES, build_recurrence, recurrence_options, register_recurrence
from .rnn import ElmanRNN, RNNState
from .stack import BiState, Recurrent

__all__ = [
    "GRU",
    "LSTM",
    "RECURRENCES",
    "BiState",
    "ElmanRNN",
    "GRUState",
    "LSTMState",
    "RNNState",
    "Recurrence",
    "Recurrent",
    "build_recurrence",
    "recurrence_options",
    "register_recurrence",
]
