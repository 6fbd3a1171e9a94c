"""seqlab: sequence models you can read and run."""

from .recurrent import GRU, LSTM, ElmanRNN, Recurrent, build_recurrence

__all__ = ["GRU", "LSTM", "ElmanRNN", "Recurrent", "build_recurrence"]
__version__ = "0.1.0"
