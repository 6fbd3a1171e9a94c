"""The recurrences of the chapter, one per file, and the stack that layers any of them: Elman RNN, LSTM, GRU,
and the recurrent revival — minGRU/minLSTM, xLSTM's mLSTM and sLSTM, Mamba, RWKV — over the scans of
``scan.py``.

>>> from seqlab.recurrent import Recurrent
>>> rnn = Recurrent("lstm", 32, 64, num_layers=2, bidirectional=True)
"""

from .base import Recurrence
from .gru import GRU, GRUState
from .lstm import LSTM, LSTMState
from .mamba import Mamba, MambaState
from .mingru import MinGRU, MinGRUState, MinLSTM, MinLSTMState
from .registry import RECURRENCES, build_recurrence, recurrence_options, register_recurrence
from .rnn import ElmanRNN, RNNState
from .rwkv import RWKV, RWKVState
from .scan import linear_scan, log_linear_scan
from .stack import BiState, Recurrent
from .xlstm import MLSTM, SLSTM, MLSTMState, SLSTMState

__all__ = [
    "GRU",
    "LSTM",
    "MLSTM",
    "RECURRENCES",
    "RWKV",
    "SLSTM",
    "BiState",
    "ElmanRNN",
    "GRUState",
    "LSTMState",
    "MLSTMState",
    "Mamba",
    "MambaState",
    "MinGRU",
    "MinGRUState",
    "MinLSTM",
    "MinLSTMState",
    "RNNState",
    "RWKVState",
    "Recurrence",
    "Recurrent",
    "SLSTMState",
    "build_recurrence",
    "linear_scan",
    "log_linear_scan",
    "recurrence_options",
    "register_recurrence",
]
