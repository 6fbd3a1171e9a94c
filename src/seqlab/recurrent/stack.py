"""Stacked and bidirectional layers built from any registered recurrence.

``Recurrent("lstm", D, H, num_layers=2, bidirectional=True)`` is what ``torch.nn.LSTM`` is, for every
recurrence in the registry and with seqlab's conventions:

- batch-first; ``lengths`` (B,), unsorted; padded steps output zeros and leave the state untouched;
- the backward direction of a bidirectional layer starts at each sequence's *own* last valid step;
- state is a tuple with one entry per layer; a bidirectional layer's entry is a ``BiState`` holding
  one state per direction (layers and directions are never merged into one axis);
- dropout is applied between layers (to every layer's output except the last), as in torch.

When every layer is a configuration torch has a fused kernel for, the whole stack runs as *one* call
of that kernel (oneDNN/cuDNN) on seqlab's parameters. Weights convert from and to ``torch.nn.RNN``,
``LSTM`` and ``GRU`` state dicts (`from_torch`, `to_torch`, `load_torch_state_dict`, `torch_state_dict`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from .base import (
    _describe,
    check_input,
    check_lengths,
    check_sizes,
    check_state,
    check_step_input,
    reverse_padded,
)
from .fused import flatten_for_cudnn, fused_rnn
from .registry import build_recurrence

__all__ = ["BiState", "Recurrent"]


class BiState(NamedTuple):
    forward: Any  # the forward direction's state
    backward: Any  # the backward direction's state


_TORCH_CLASSES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class Recurrent(nn.Module):
    """A stack of recurrent layers, optionally bidirectional.

    Args:
        recurrence: a registry name (``"rnn"``, ``"lstm"``, ``"gru"``, …).
        input_size: D.
        hidden_size: H of every layer.
        num_layers: how many layers to stack.
        bidirectional: run each layer in both directions and concatenate [h→; h←].
        dropout: dropout probability between layers, in [0, 1).
        options: the recurrence's own options, e.g. ``{"peephole": True}``.
    """

    def __init__(
        self,
        recurrence: str,
        input_size: int,
        hidden_size: int,
        *,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        check_sizes("Recurrent", input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"Recurrent: expected dropout in [0, 1), got {dropout!r}")
        self.recurrence = recurrence
        self.options = dict(options or {})
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bidirectional, self.dropout = bool(bidirectional), float(dropout)
        self.num_directions = 2 if self.bidirectional else 1
        layers = []
        layer_input = input_size
        for _ in range(num_layers):
            directions = [
                build_recurrence(recurrence, layer_input, hidden_size, self.options)
                for _ in range(self.num_directions)
            ]
            layers.append(nn.ModuleList(directions))
            layer_input = directions[0].output_size * self.num_directions
        self.layers = nn.ModuleList(layers)
        self.output_size = layer_input
        # The forward cells as a plain tuple (not registered twice): ``step`` runs once per token, and
        # walking two levels of ModuleList costs more than a layer's gate arithmetic at B = 1.
        self._step_cells = tuple(directions[0] for directions in self.layers)

    # ------------------------------------------------------------------ state
    def initial_state(
        self, batch_size: int, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> tuple[Any, ...]:
        """Zeros: a tuple with one state per layer (a ``BiState`` per bidirectional layer)."""
        states = []
        for directions in self.layers:
            per_dir = [cell.initial_state(batch_size, device, dtype) for cell in directions]
            states.append(BiState(*per_dir) if self.bidirectional else per_dir[0])
        return tuple(states)

    # ------------------------------------------------------------------ public API
    def forward(
        self, x: Tensor, state: tuple[Any, ...] | None = None, lengths: Tensor | None = None
    ) -> tuple[Tensor, tuple[Any, ...]]:
        """(B, T, D) → outputs (B, T, output_size), final state per layer."""
        fusable = self.fusable
        x, state, lengths = self._prepare(x, state, lengths, fill_state=not fusable)
        if fusable:
            return self._forward_fused(x, state, lengths)
        return self._forward_layers(x, state, lengths, reference=False)

    def forward_reference(
        self, x: Tensor, state: tuple[Any, ...] | None = None, lengths: Tensor | None = None
    ) -> tuple[Tensor, tuple[Any, ...]]:
        """``forward`` with every layer run as its textbook step loop."""
        x, state, lengths = self._prepare(x, state, lengths)
        return self._forward_layers(x, state, lengths, reference=True)

    def step(self, x_t: Tensor, state: tuple[Any, ...] | None = None) -> tuple[Tensor, tuple[Any, ...]]:
        """One time step through every layer: x_t (B, D) → h_t (B, output_size), new state.

        Streaming: calling ``step`` token by token gives exactly ``forward`` on the whole sequence.
        Only unidirectional stacks can stream (the backward direction needs the future).
        """
        if self.bidirectional:
            raise ValueError(
                "Recurrent.step: a bidirectional stack cannot run step by step — its backward "
                "direction needs the whole sequence; use forward(), or bidirectional=False"
            )
        check_step_input("Recurrent.step", x_t, self.input_size)
        cells = self._step_cells
        batch_size = x_t.shape[0]
        if type(state) is tuple and len(state) == len(cells):  # per token: validate without detours
            for k, (cell, s) in enumerate(zip(cells, state)):
                check_state(f"Recurrent (layer {k})", s, cell.State, cell.state_sizes(), batch_size)
        else:
            state = self._prepare_state(state, batch_size, x_t)
        dropout = self.dropout if self.training else 0.0
        new_states = []
        h = x_t
        for cell, s in zip(cells, state):
            if dropout and new_states:  # between layers, not before the first
                h = nn.functional.dropout(h, dropout, training=True)
            h, s = cell._step(h, s)
            new_states.append(s)
        return h, tuple(new_states)

    # ------------------------------------------------------------------ paths
    @property
    def fusable(self) -> bool:
        """True when the whole stack is one call of a torch fused kernel."""
        return all(cell.fusable for directions in self.layers for cell in directions)

    @property
    def fast_path(self) -> str:
        """Which path ``forward`` takes, in words."""
        return "fused kernel" if self.fusable else self.layers[0][0].fast_path

    def flatten_parameters(self) -> None:
        """On CUDA, make the fused stack's weights views into one buffer, as cuDNN wants.

        Without it cuDNN copies the weights into one chunk on every call (and torch warns). Like
        ``torch.nn.LSTM``, this runs after every ``.to()`` / ``.cuda()``; it is a no-op on CPU.
        """
        if not self.fusable:
            return  # each layer flattens its own kernel weights, if it has any
        cell = self.layers[0][0]
        weights = [w for directions in self.layers for c in directions for w in c.kernel_weights()]
        flatten_for_cudnn(
            weights,
            cell.kernel_mode,
            self.input_size,
            self.hidden_size,
            proj_size=getattr(cell, "proj_size", 0),
            num_layers=self.num_layers,
            bidirectional=self.bidirectional,
        )

    def _apply(self, fn, recurse=True):
        result = super()._apply(fn, recurse)
        self.flatten_parameters()
        return result

    def _forward_fused(self, x: Tensor, state: tuple[Any, ...] | None, lengths: Tensor | None):
        cells = [cell for directions in self.layers for cell in directions]  # torch's (layer, dir) order
        weights = [w for cell in cells for w in cell.kernel_weights()]
        if state is None:  # zeros straight in torch's layout: one kernel per field, not one per cell
            n, B = len(cells), x.shape[0]
            hx = tuple(x.new_zeros(n, B, size) for size in cells[0].state_sizes())
        else:
            flat = [s for layer_state in state for s in self._directions(layer_state)]
            hx = tuple(torch.stack([s[i] for s in flat]) for i in range(len(flat[0])))  # (L·dirs, B, ·)
        fields = len(hx)
        out, h_n = fused_rnn(
            cells[0].kernel_mode,
            x.contiguous(),
            hx if fields > 1 else hx[0],
            weights,
            num_layers=self.num_layers,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
            training=self.training,
            lengths=lengths,
        )
        h_n = h_n if isinstance(h_n, tuple) else (h_n,)
        State = cells[0].State
        per_cell = [State(*(h[j] for h in h_n)) for j in range(len(cells))]
        return out, self._regroup(per_cell)

    def _forward_layers(self, x: Tensor, state: tuple[Any, ...], lengths: Tensor | None, *, reference: bool):
        new_states = []
        h = x
        for k, directions in enumerate(self.layers):
            if k > 0 and self.dropout and self.training:
                h = nn.functional.dropout(h, self.dropout, training=True)
            layer_states = self._directions(state[k])
            outs, finals = [], []
            for d, (cell, s) in enumerate(zip(directions, layer_states)):
                inp = h if d == 0 else reverse_padded(h, lengths)
                if reference:
                    out, final = cell._loop(cell.reference_step, inp, s, lengths)
                else:
                    out, final = cell._forward_fast(inp, s, lengths)
                outs.append(out if d == 0 else reverse_padded(out, lengths))
                finals.append(final)
            h = torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]  # (B, T, dirs·H)
            new_states.append(BiState(*finals) if self.bidirectional else finals[0])
        return h, tuple(new_states)

    def _directions(self, layer_state: Any) -> tuple[Any, ...]:
        return tuple(layer_state) if self.bidirectional else (layer_state,)

    def _regroup(self, per_cell: list[Any]) -> tuple[Any, ...]:
        n = self.num_directions
        groups = [per_cell[k * n : (k + 1) * n] for k in range(self.num_layers)]
        return tuple(BiState(*g) if self.bidirectional else g[0] for g in groups)

    # ------------------------------------------------------------------ validation
    def _prepare(self, x: Tensor, state: Any, lengths: Tensor | None, fill_state: bool = True):
        check_input("Recurrent", x, self.input_size)
        lengths = check_lengths("Recurrent", lengths, x.shape[0], x.shape[1], x.device)
        if state is None and not fill_state:
            return x, None, lengths
        return x, self._prepare_state(state, x.shape[0], x), lengths

    def _prepare_state(self, state: Any, batch_size: int, like: Tensor) -> tuple[Any, ...]:
        if state is None:
            return self.initial_state(batch_size, like.device, like.dtype)
        kind = "BiState(forward=…, backward=…)" if self.bidirectional else "state"
        if (
            not isinstance(state, tuple)
            or len(state) != self.num_layers
            or (self.num_layers == 1 and isinstance(state, BiState))
        ):
            raise ValueError(
                f"Recurrent: expected the state as a tuple of {self.num_layers} per-layer "
                f"{kind}s (as returned by forward or initial_state), got {_describe(state)}"
            )
        for k, (directions, layer_state) in enumerate(zip(self.layers, state)):
            if self.bidirectional and not isinstance(layer_state, BiState):
                raise ValueError(
                    f"Recurrent: expected state[{k}] to be a BiState(forward=…, backward=…) "
                    f"for a bidirectional layer, got {_describe(layer_state)}"
                )
            for cell, s in zip(directions, self._directions(layer_state)):
                check_state(f"Recurrent (layer {k})", s, cell.State, cell.state_sizes(), batch_size)
        return state

    # ------------------------------------------------------------------ torch interop
    def torch_state_dict(self) -> dict[str, Tensor]:
        """The parameters under ``torch.nn.{RNN,LSTM,GRU}``'s names (``weight_ih_l0_reverse``, …)."""
        out = {}
        for k, directions in enumerate(self.layers):
            for d, cell in enumerate(directions):
                suffix = f"_l{k}" + ("_reverse" if d else "")
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"):
                    p = getattr(cell, name, None)
                    if p is not None:
                        out[name + suffix] = p.detach().clone()
        return out

    def load_torch_state_dict(self, state_dict: Mapping[str, Tensor]) -> None:
        """Load ``torch.nn.{RNN,LSTM,GRU}`` weights; every key must match, both ways."""
        mine = self.torch_state_dict()
        missing, unexpected = sorted(set(mine) - set(state_dict)), sorted(set(state_dict) - set(mine))
        if missing or unexpected:
            raise ValueError(
                f"Recurrent.load_torch_state_dict: keys do not match this {self!r}; "
                f"missing: {missing or 'none'}; unexpected: {unexpected or 'none'}"
            )
        pattern = re.compile(r"(\w+?)_l(\d+)(_reverse)?$")
        with torch.no_grad():
            for key, value in state_dict.items():
                name, k, rev = pattern.match(key).groups()  # type: ignore[union-attr]
                p = getattr(self.layers[int(k)][1 if rev else 0], name)
                if p.shape != value.shape:
                    raise ValueError(
                        f"Recurrent.load_torch_state_dict: {key} has shape {tuple(value.shape)}, "
                        f"expected {tuple(p.shape)}"
                    )
                p.copy_(value)

    @classmethod
    def from_torch(cls, module: nn.RNNBase) -> Recurrent:
        """A seqlab stack computing exactly what ``module`` (a torch.nn.RNN/LSTM/GRU) computes."""
        name = next((k for k, c in _TORCH_CLASSES.items() if type(module) is c), None)
        if name is None:
            raise ValueError(
                f"Recurrent.from_torch: expected torch.nn.RNN, LSTM or GRU, got {type(module).__name__}"
            )
        if not module.bias:
            raise ValueError("Recurrent.from_torch: modules with bias=False are not supported")
        options: dict[str, Any] = {}
        if name == "lstm":
            options = {"forget_bias": 0.0, "proj_size": module.proj_size}
        elif name == "rnn":
            options = {"nonlinearity": module.nonlinearity}
        stack = cls(
            name,
            module.input_size,
            module.hidden_size,
            num_layers=module.num_layers,
            bidirectional=module.bidirectional,
            dropout=module.dropout,
            options=options,
        )
        stack.load_torch_state_dict(module.state_dict())
        return stack.to(next(module.parameters()).device)

    def to_torch(self) -> nn.RNNBase:
        """The equivalent ``torch.nn.RNN/LSTM/GRU`` (batch_first=True), for configurations torch has."""
        if not self.fusable:
            raise ValueError(
                f"Recurrent.to_torch: torch has no module for {self.recurrence!r} with "
                f"options {self.options}; only standard RNN/LSTM/GRU convert"
            )
        kwargs: dict[str, Any] = {}
        cell = self.layers[0][0]
        if self.recurrence == "lstm":
            kwargs["proj_size"] = cell.proj_size
        elif self.recurrence == "rnn":
            kwargs["nonlinearity"] = cell.nonlinearity
        module = _TORCH_CLASSES[self.recurrence](
            self.input_size,
            self.hidden_size,
            num_layers=self.num_layers,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
            batch_first=True,
            **kwargs,
        )
        module.load_state_dict(self.torch_state_dict())
        return module.to(cell.weight_ih.device)

    def extra_repr(self) -> str:
        s = f"{self.recurrence!r}, {self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
        if self.bidirectional:
            s += ", bidirectional=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        return s
