"""The adapter to torch's fused RNN kernels (oneDNN on CPU, cuDNN on GPU).

This is the only place in seqlab that sees ``PackedSequence`` or torch's time-major, layers×directions
state layout. Callers hand in batch-first tensors, per-layer weight lists and optional ``lengths``;
they get batch-first outputs (zeros on padded steps) and the final state at each sequence's last
valid step, exactly as ``torch.nn.LSTM/GRU/RNN`` compute them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import _VF, Tensor
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

__all__ = ["MODES", "flatten_for_cudnn", "fused_rnn"]

MODES = ("lstm", "gru", "rnn_tanh", "rnn_relu")


def fused_rnn(
    mode: str,
    x: Tensor,
    hx: Tensor | tuple[Tensor, Tensor],
    weights: Sequence[Tensor],
    *,
    num_layers: int,
    bidirectional: bool,
    dropout: float = 0.0,
    training: bool = False,
    lengths: Tensor | None = None,
) -> tuple[Tensor, Tensor | tuple[Tensor, Tensor]]:
    """Run a stack on torch's fused kernel.

    Args:
        mode: one of ``MODES``.
        x: (B, T, D) batch-first input.
        hx: (L·dirs, B, H) initial hidden state — for ``"lstm"`` a pair (h0, c0) — in torch's layout.
        weights: flat list in torch's order, per layer and direction:
            ``w_ih, w_hh, b_ih, b_hh[, w_hr]``.
        lengths: optional (B,) valid lengths, any order.

    Returns:
        outputs (B, T, dirs·H_out) and the final state in torch's layout, like ``hx``.
    """
    if mode not in MODES:
        raise ValueError(f"fused_rnn: unknown mode {mode!r}; known: {', '.join(MODES)}")
    kernel = getattr(_VF, mode)
    weights = list(weights)
    has_projection = mode == "lstm" and len(weights) == 5 * num_layers * (2 if bidirectional else 1)
    if not (has_projection and x.device.type == "cpu"):
        return _run(kernel, mode, x, hx, weights, num_layers, bidirectional, dropout, training, lengths)
    with warnings.catch_warnings():
        # torch says so on every call of an LSTM with projection on CPU; there is nothing to act on
        warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")
        return _run(kernel, mode, x, hx, weights, num_layers, bidirectional, dropout, training, lengths)


def _run(kernel, mode, x, hx, weights, num_layers, bidirectional, dropout, training, lengths):
    if lengths is None:
        result = kernel(x, hx, weights, True, num_layers, dropout, training, bidirectional, True)
        return result[0], _state(mode, result)

    T = x.shape[1]
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    order, unorder = packed.sorted_indices, packed.unsorted_indices
    hx = _permute(hx, order)
    result = kernel(
        packed.data, packed.batch_sizes, hx, weights, True, num_layers, dropout, training, bidirectional
    )
    out_packed = packed._replace(data=result[0])
    outputs, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=T)  # (B, T, dirs·H)
    return outputs, _permute(_state(mode, result), unorder)


def _state(mode: str, result: tuple[Tensor, ...]) -> Tensor | tuple[Tensor, Tensor]:
    return (result[1], result[2]) if mode == "lstm" else result[1]


def _permute(hx: Tensor | tuple[Tensor, Tensor], index: Tensor) -> Tensor | tuple[Tensor, Tensor]:
    if isinstance(hx, tuple):
        return tuple(h.index_select(1, index) for h in hx)  # type: ignore[return-value]
    return hx.index_select(1, index)


def flatten_for_cudnn(
    weights: Sequence[Tensor],
    mode: str,
    input_size: int,
    hidden_size: int,
    *,
    proj_size: int = 0,
    num_layers: int = 1,
    bidirectional: bool = False,
) -> None:
    """Make ``weights`` views into one contiguous buffer, in place, as cuDNN wants (CUDA only).

    What ``torch.nn.RNNBase.flatten_parameters`` does: without it cuDNN copies the weights into one
    chunk on every call and warns. A no-op on CPU, for dtypes cuDNN does not take, or for aliased weights.
    """
    weights = list(weights)
    first = weights[0]
    if (
        not (first.is_cuda and torch.backends.cudnn.is_acceptable(first))
        or any(w.dtype != first.dtype or not w.is_cuda for w in weights)
        or len({w.data_ptr() for w in weights}) != len(weights)
        or not torch._use_cudnn_rnn_flatten_weight()
    ):
        return
    import torch.backends.cudnn.rnn as cudnn_rnn

    per_cell = len(weights) // (num_layers * (2 if bidirectional else 1))
    with torch.cuda.device_of(first), torch.no_grad():
        torch._cudnn_rnn_flatten_weight(
            weights,
            per_cell,
            input_size,
            cudnn_rnn.get_cudnn_mode(mode.upper()),
            hidden_size,
            proj_size,
            num_layers,
            True,
            bidirectional,
        )
