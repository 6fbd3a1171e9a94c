"""What every recurrence shares: the time loop, variable lengths, and input validation.

A *recurrence* is one layer in one direction: a cell that maps (x_t, state_{t-1}) to (h_t, state_t),
plus the loop that runs it over a sequence. Every recurrence in seqlab subclasses `Recurrence` and
provides

- ``initial_state(batch_size, device, dtype)`` → a NamedTuple of zeros,
- ``step(x_t, state) -> (h_t, state)``      → one time step (streaming, per token),
- ``forward(x, state=None, lengths=None) -> (outputs, state)`` → a whole (B, T, D) sequence,
- ``forward_reference(...)``                 → the same, as the textbook step loop.

``forward`` takes the fastest exact path the configuration allows (torch's fused kernel, a hand-written
BPTT, or an autograd loop over precomputed input projections); ``forward_reference`` runs
``reference_step`` — the equations of the module docstring, line by line — once per time step. Tests
assert that the two agree.

Variable length
---------------
``lengths`` is a (B,) integer tensor; sequences are right-padded and need not be sorted. A padded
step leaves the state untouched and outputs zeros, so the final state is the state at each
sequence's last valid step. Fast paths get there differently (they compute every step and then
*gather* the state at ``lengths - 1``, which is exact because a forward recurrence never looks ahead),
but the results are the same.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

__all__ = [
    "Recurrence",
    "check_input",
    "check_lengths",
    "check_sizes",
    "check_step_input",
    "gather_last",
    "mask_from_lengths",
    "reverse_padded",
]


def check_input(name: str, x: Tensor, input_size: int) -> None:
    """Raise a ValueError unless ``x`` is a floating (B, T, input_size) tensor with T ≥ 1."""
    if not isinstance(x, Tensor):
        raise ValueError(
            f"{name}: expected input to be a Tensor of shape (B, T, {input_size}), got {type(x).__name__}"
        )
    if x.dim() != 3:
        raise ValueError(
            f"{name}: expected input of shape (B, T, {input_size}) (batch-first, rank 3), "
            f"got rank {x.dim()} with shape {tuple(x.shape)}; "
            "add a batch axis with x.unsqueeze(0) for a single sequence"
        )
    if x.shape[-1] != input_size:
        raise ValueError(
            f"{name}: expected input of shape (B, T, {input_size}), got {tuple(x.shape)}; "
            f"the last axis must be the feature size {input_size}"
        )
    if x.shape[1] == 0:
        raise ValueError(f"{name}: expected at least one time step, got input of shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(
            f"{name}: expected a floating-point input, got dtype {x.dtype}; "
            "token ids go through an embedding first"
        )


def check_step_input(name: str, x_t: Tensor, input_size: int) -> None:
    """Raise a ValueError unless ``x_t`` is one time step, a (B, input_size) tensor."""
    if not isinstance(x_t, Tensor) or x_t.dim() != 2 or x_t.shape[-1] != input_size:
        got = tuple(x_t.shape) if isinstance(x_t, Tensor) else type(x_t).__name__
        raise ValueError(f"{name}: expected x_t of shape (B, {input_size}), got {got}")


def check_lengths(
    name: str, lengths: Tensor | None, batch_size: int, max_len: int, device: torch.device | None = None
) -> Tensor | None:
    """Validate ``lengths`` against a (B, T, ·) input; return it as int64 on ``device`` (or None).

    Lengths may live on the CPU while the input is on a GPU (torch's packing wants them there); they
    are moved to the input's device so masks and gathers never mix devices.
    """
    if lengths is None:
        return None
    if not isinstance(lengths, Tensor):
        raise ValueError(
            f"{name}: expected lengths as a 1-D integer tensor of shape ({batch_size},), "
            f"got {type(lengths).__name__}; use torch.tensor(lengths)"
        )
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise ValueError(f"{name}: expected integer lengths, got dtype {lengths.dtype}; use lengths.long()")
    if lengths.dim() != 1 or lengths.shape[0] != batch_size:
        raise ValueError(
            f"{name}: expected lengths of shape ({batch_size},) — one per sequence in the "
            f"batch — got shape {tuple(lengths.shape)}"
        )
    lo, hi = int(lengths.min()), int(lengths.max())
    if lo < 1:
        raise ValueError(
            f"{name}: every length must be ≥ 1, got a length of {lo}; drop empty sequences from the batch"
        )
    if hi > max_len:
        raise ValueError(
            f"{name}: lengths cannot exceed the input's time axis T={max_len}, got a length of {hi}"
        )
    return lengths.to(device=device, dtype=torch.long)


def check_sizes(name: str, **sizes: int) -> None:
    """Raise a ValueError unless every keyword is a positive int (bools are not sizes)."""
    for key, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: expected {key} to be a positive integer, got {value!r}")


def mask_from_lengths(lengths: Tensor, max_len: int) -> Tensor:
    """(B,) lengths → (B, T) boolean mask, True on valid steps."""
    steps = torch.arange(max_len, device=lengths.device)
    return steps[None, :] < lengths[:, None]  # (B, T)


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence of a right-padded (B, T, ·) batch within its own length.

    Padding stays where it is, so the backward direction of a bidirectional layer starts at each
    sequence's own last valid step. The operation is its own inverse.
    """
    if lengths is None:
        return x.flip(1)
    T = x.shape[1]
    t = torch.arange(T, device=x.device)[None, :]  # (1, T)
    lengths = lengths.to(x.device)[:, None]  # (B, 1)
    index = torch.where(t < lengths, lengths - 1 - t, t)  # (B, T)
    return x.gather(1, index[:, :, None].expand_as(x))


def gather_last(seq: Tensor, lengths: Tensor | None) -> Tensor:
    """(B, T, H) → (B, H): the entry at each sequence's last valid step."""
    if lengths is None:
        return seq[:, -1]
    index = (lengths.to(seq.device) - 1)[:, None, None].expand(-1, 1, seq.shape[-1])  # (B, 1, H)
    return seq.gather(1, index).squeeze(1)


class Recurrence(nn.Module):
    """Base class: one recurrent layer in one direction. Subclasses define the cell.

    Subclasses set ``input_size``, ``hidden_size`` and ``output_size`` (the size of h_t as seen by the
    next layer: ``hidden_size``, ``proj_size`` or an output layer's size), and ``State`` (the
    NamedTuple type of the state), and implement ``state_sizes``, ``reference_step`` and optionally
    faster ``step`` / ``_forward_fast`` paths.
    """

    State: type[NamedTuple]
    input_size: int
    hidden_size: int
    output_size: int
    fusable: bool = False  # True where one call of torch's fused RNN kernel computes the layer exactly

    # ----------------------------------------------------------------- to implement in subclasses
    def state_sizes(self) -> tuple[int | tuple[int, ...], ...]:
        """Per-sequence size of each field of ``State``, in order: an int for a (B, n) vector state, or a
        shape tuple for a larger one (mLSTM's matrix memory is (B, heads, d_k, d_v))."""
        raise NotImplementedError

    def reference_step(self, x_t: Tensor, state: Any) -> tuple[Tensor, Any]:
        """The textbook equations for one step: (B, D), state → (B, output_size), new state."""
        raise NotImplementedError

    def _step(self, x_t: Tensor, state: Any) -> tuple[Tensor, Any]:
        """Per-token fast path (no validation). Defaults to the reference step."""
        return self.reference_step(x_t, state)

    def _forward_fast(self, x: Tensor, state: Any, lengths: Tensor | None) -> tuple[Tensor, Any]:
        """Whole-sequence fast path (inputs already validated). Defaults to the reference loop."""
        return self._loop(self.reference_step, x, state, lengths)

    @property
    def fast_path(self) -> str:
        """Which path ``forward`` takes for this configuration, in words."""
        return "reference loop"

    def flatten_parameters(self) -> None:
        """On CUDA, lay out the weights a fused kernel reads as one buffer. Layers without one: no-op."""

    def _apply(self, fn, recurse=True):
        result = super()._apply(fn, recurse)
        self.flatten_parameters()
        return result

    # ----------------------------------------------------------------- public API
    def initial_state(
        self, batch_size: int, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> Any:
        """The all-zeros state for ``batch_size`` sequences."""
        if device is None or dtype is None:
            p = next(self.parameters())
            device = p.device if device is None else device
            dtype = p.dtype if dtype is None else dtype
        return self.State(
            *(torch.zeros(batch_size, *_shape(n), device=device, dtype=dtype) for n in self.state_sizes())
        )

    def step(self, x_t: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """Advance one time step: x_t (B, D) → h_t (B, output_size), new state."""
        check_step_input(f"{type(self).__name__}.step", x_t, self.input_size)
        state = self._prepare_state(state, x_t)
        return self._step(x_t, state)

    def forward(self, x: Tensor, state: Any = None, lengths: Tensor | None = None) -> tuple[Tensor, Any]:
        """Run over a (B, T, D) sequence: → outputs (B, T, output_size), final state."""
        x, state, lengths = self._prepare(x, state, lengths)
        return self._forward_fast(x, state, lengths)

    def forward_reference(
        self, x: Tensor, state: Any = None, lengths: Tensor | None = None
    ) -> tuple[Tensor, Any]:
        """``forward`` as the plain step loop over ``reference_step``: slow, obviously correct."""
        x, state, lengths = self._prepare(x, state, lengths)
        return self._loop(self.reference_step, x, state, lengths)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"

    # ----------------------------------------------------------------- shared machinery
    def _forward_kernel(self, x: Tensor, state: Any, lengths: Tensor | None) -> tuple[Tensor, Any]:
        """This layer as one call of torch's fused kernel (subclasses with ``kernel_weights``)."""
        from .fused import fused_rnn

        hx = tuple(s[None] for s in state)  # torch's (layers·dirs=1, B, ·) layout
        out, h_n = fused_rnn(
            self.kernel_mode,
            x,
            hx if len(hx) > 1 else hx[0],
            self.kernel_weights(),
            num_layers=1,
            bidirectional=False,
            training=self.training,
            lengths=lengths,
        )
        h_n = h_n if isinstance(h_n, tuple) else (h_n,)
        return out, self.State(*(h[0] for h in h_n))

    def _finish(self, outputs: Tensor, every_step: tuple[Tensor, ...], lengths: Tensor | None):
        """For fast paths that compute every step: zeros past each length, and as the final state each
        field's value at the sequence's last valid step (exact: a forward recurrence never looks ahead)."""
        final = self.State(*(gather_last(field, lengths) for field in every_step))
        if lengths is not None:
            outputs = outputs * mask_from_lengths(lengths, outputs.shape[1])[:, :, None]
        return outputs, final

    def _loop(self, step_fn, x: Tensor, state: Any, lengths: Tensor | None) -> tuple[Tensor, Any]:
        """Run ``step_fn`` over time; padded steps keep the state and output zeros."""
        mask = None if lengths is None else mask_from_lengths(lengths, x.shape[1])  # (B, T)
        outputs = []
        for t, x_t in enumerate(x.unbind(1)):
            h_t, new_state = step_fn(x_t, state)
            if mask is not None:
                m = mask[:, t]  # (B,)
                h_t = h_t * m[:, None]
                new_state = self.State(
                    *(torch.where(_expand(m, new), new, old) for new, old in zip(new_state, state))
                )
            outputs.append(h_t)
            state = new_state
        return torch.stack(outputs, dim=1), state  # (B, T, H)

    def _prepare(self, x: Tensor, state: Any, lengths: Tensor | None):
        name = type(self).__name__
        check_input(name, x, self.input_size)
        lengths = check_lengths(name, lengths, x.shape[0], x.shape[1], x.device)
        return x, self._prepare_state(state, x), lengths

    def _prepare_state(self, state: Any, x: Tensor) -> Any:
        batch_size = x.shape[0]
        if state is None:
            return self.initial_state(batch_size, x.device, x.dtype)
        check_state(type(self).__name__, state, self.State, self.state_sizes(), batch_size)
        return state if isinstance(state, self.State) else self.State(*state)


def _shape(size: int | tuple[int, ...]) -> tuple[int, ...]:
    return (size,) if isinstance(size, int) else tuple(size)


def _expand(mask: Tensor, like: Tensor) -> Tensor:
    """A (B,) mask viewed so it broadcasts against ``like`` (B, ...)."""
    return mask.view(-1, *([1] * (like.dim() - 1)))


def check_state(
    name: str, state: Any, state_type: type, sizes: tuple[int | tuple[int, ...], ...], batch_size: int
) -> None:
    """Raise a ValueError unless ``state`` is a ``state_type`` of (B, *size) tensors."""
    if type(state) is state_type:  # the usual case, checked first and plainly: it runs once per token
        for s, n in zip(state, sizes):
            if not (isinstance(s, Tensor) and s.shape[0] == batch_size and s.shape[1:] == _shape(n)):
                break
        else:
            return
    fields = state_type._fields  # type: ignore[attr-defined]
    if hasattr(state, "_fields") and not isinstance(state, state_type):
        raise ValueError(
            f"{name}: expected a state {state_type.__name__}{fields}, got a {type(state).__name__} — the "
            "state of another recurrence; build one with .initial_state(batch_size)"
        )
    if (
        not isinstance(state, tuple)
        or len(state) != len(fields)
        or not all(isinstance(s, Tensor) for s in state)
    ):
        expected = ", ".join(
            f"{f}=(B={batch_size}, {', '.join(map(str, _shape(n)))})" for f, n in zip(fields, sizes)
        )
        raise ValueError(
            f"{name}: expected a state {state_type.__name__}({expected}), got {_describe(state)}; "
            f"build one with .initial_state(batch_size)"
        )
    for field, size, s in zip(fields, sizes, state):
        expected = (batch_size, *_shape(size))
        if tuple(s.shape) != expected:
            raise ValueError(
                f"{name}: expected state.{field} of shape {expected}, "
                f"got {tuple(s.shape)}; the state must match the batch of the input"
            )


def _describe(obj: Any) -> str:
    if isinstance(obj, Tensor):
        return f"a Tensor of shape {tuple(obj.shape)}"
    if isinstance(obj, tuple):
        inner = ", ".join(_describe(o) for o in obj)
        return f"{type(obj).__name__}({inner})"
    return type(obj).__name__
