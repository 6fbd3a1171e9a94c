"""The adapter to torch's fused RNN kernels (oneDNN on CPU, cuDNN on GPU).

This is the only place in seqlab that sees ``PackedSequence`` or torch's time-major, layers×directions
state layout. Callers hand in batch-first tensors, per-layer weight lists and optional ``lengths``;
they get batch-first outputs (zeros on padded steps) and the final state at each sequence's last
valid step, exactly as ``torch.nn.LSTM/GRU/RNN`` compute them.

Variable lengths, training on CPU: torch runs a ``PackedSequence`` there with a generic loop that takes
one ``narrow`` of the packed input projections per time step, and the backward of each ``narrow``
zero-fills a gradient the size of the *whole* packed input — work quadratic in T (at T = 200, 80% of a
BiLSTM training step was ``fill_``). Instead, ``_run_segments`` sorts the batch by length and cuts time
at every distinct length: between two cuts the same rows are active, so each piece is one padded
kernel call (oneDNN) on those rows, started from the state the previous piece left. The backward
direction reads each sequence reversed within its own length (a gather) the same way. Every piece is
cut once (``split``), so the backward pass stays linear. With bucketed batches (a few distinct lengths)
this runs at the speed of the padded kernel; with many distinct lengths and short sequences the packed
path is kept (see ``_use_segments``). Results are the same up to float rounding.
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
    if _use_segments(x, weights, lengths):
        return _run_segments(
            kernel, mode, x, hx, weights, num_layers, bidirectional, dropout, training, lengths
        )
    return _run_packed(kernel, mode, x, hx, weights, num_layers, bidirectional, dropout, training, lengths)


def _run_packed(kernel, mode, x, hx, weights, num_layers, bidirectional, dropout, training, lengths):
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


def _use_segments(x: Tensor, weights: Sequence[Tensor], lengths: Tensor) -> bool:
    """Segments for CPU training (the packed path's backward is quadratic in T), unless there are many
    distinct lengths in a short batch — one kernel call per distinct length then costs more than it saves
    (measured, BiLSTM/BiGRU 256: T = 14 with 14 distinct lengths 13% slower, T = 50 with ~24 even to 20%
    slower, T = 200 with 28 3.4x faster; bucketed batches, 3 distinct lengths: 2.6x at T = 50, 4.7x at
    T = 200)."""
    if x.device.type != "cpu" or not torch.is_grad_enabled():
        return False
    if not (x.requires_grad or any(w.requires_grad for w in weights)):
        return False
    T = x.shape[1]
    return int(torch.unique(lengths).numel()) <= max(4, T // 3)


def _run_segments(kernel, mode, x, hx, weights, num_layers, bidirectional, dropout, training, lengths):
    """The packed computation as padded kernel calls between distinct lengths; see the module docstring."""
    T = x.shape[1]
    dirs = 2 if bidirectional else 1
    per_cell = len(weights) // (num_layers * dirs)
    order = torch.argsort(lengths.cpu(), descending=True, stable=True).to(x.device)
    unorder = torch.argsort(order)
    sorted_lengths = lengths.index_select(0, order).tolist()
    hx = _permute(hx, order)
    fields = hx if isinstance(hx, tuple) else (hx,)
    reverse = None
    if bidirectional:  # each row read backwards within its own length; padded steps stay in place
        t = torch.arange(T, device=x.device)[None, :]  # (1, T)
        L = torch.tensor(sorted_lengths, device=x.device)[:, None]  # (B, 1)
        reverse = torch.where(t < L, L - 1 - t, t)  # (B, T), its own inverse
    layer_input = x.index_select(0, order)
    finals = []  # per (layer, direction): a tuple of state fields, each (B, H)
    for layer in range(num_layers):
        if layer > 0 and dropout and training:
            layer_input = torch.nn.functional.dropout(layer_input, dropout, training=True)
        outputs = []
        for d in range(dirs):
            cell = layer * dirs + d
            w = weights[cell * per_cell : (cell + 1) * per_cell]
            state = tuple(f[cell] for f in fields)  # (B, H) each
            seq = layer_input if d == 0 else _gather_time(layer_input, reverse)
            out, state = _run_sorted(kernel, mode, seq, state, w, sorted_lengths, training)
            outputs.append(out if d == 0 else _gather_time(out, reverse))
            finals.append(state)
        layer_input = torch.cat(outputs, dim=-1) if dirs == 2 else outputs[0]
    h_n = tuple(torch.stack([s[i] for s in finals]) for i in range(len(fields)))  # (L·dirs, B, H) each
    h_n = h_n if mode == "lstm" else h_n[0]
    return layer_input.index_select(0, unorder), _permute(h_n, unorder)


def _run_sorted(kernel, mode, x, state, weights, lengths, training):
    """One layer, one direction, rows sorted by length (descending): (B, T, D) → (B, T, H), final state."""
    B, T, _ = x.shape
    ends = sorted(set(lengths))  # a piece of time ends at every distinct length
    starts = [0, *ends[:-1]]
    sizes = [end - start for start, end in zip(starts, ends)]
    pieces = x.split([*sizes, T - ends[-1]] if ends[-1] < T else sizes, dim=1)
    outs = []
    for piece, end in zip(pieces, ends):
        n = sum(1 for length in lengths if length >= end)  # rows still running: the first n
        hx = tuple(s[None, :n] for s in state)  # (1, n, H)
        result = kernel(
            piece[:n], hx if mode == "lstm" else hx[0], weights, True, 1, 0.0, training, False, True
        )
        out, new = result[0], _state(mode, result)
        new = new if isinstance(new, tuple) else (new,)
        state = tuple(torch.cat([s_new[0], s[n:]]) if n < B else s_new[0] for s_new, s in zip(new, state))
        outs.append(torch.cat([out, out.new_zeros(B - n, *out.shape[1:])]) if n < B else out)
    if ends[-1] < T:
        outs.append(x.new_zeros(B, T - ends[-1], outs[0].shape[-1]))
    return torch.cat(outs, dim=1), state


def _gather_time(x: Tensor, index: Tensor) -> Tensor:
    """x (B, T, F) with each row's steps reordered by index (B, T)."""
    return x.gather(1, index[:, :, None].expand(-1, -1, x.shape[-1]))


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
