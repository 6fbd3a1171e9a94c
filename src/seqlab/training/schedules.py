"""Learning-rate schedules as plain functions of the optimizer step (no Lightning, easy to test).

``lr_factor(schedule, s, warmup_steps=W, total_steps=N)`` is the multiplier of the base learning rate
used by optimizer step s = 0, 1, …, N − 1 (one step per optimizer update, i.e. after gradient
accumulation; N counts every epoch of ``max_epochs``):

- warm-up, for s < W (every schedule but "plateau"): (s + 1) / (W + 1) — it rises linearly and never
  wastes a step at learning rate 0;
- "constant": 1 after warm-up;
- "linear": (N − s) / (N − W) for s ≥ W — 1 at the end of warm-up, 1 / (N − W) at the last step;
- "cosine": ½ (1 + cos(π (s − W) / (N − W))) for s ≥ W — 1 at the end of warm-up, close to 0 at the end;
- "wsd" (warm-up, stable, decay; Hägele et al. 2024): 1 until the last ``cooldown`` fraction of the
  steps after warm-up, then linear to 0 — min(1, (N − s) / (c (N − W))): the learning rate stays high
  for most of a run and the annealing gain comes at its end, where a cosine spends half the run below
  half the rate.

"plateau" is ``torch.optim.lr_scheduler.ReduceLROnPlateau`` on the monitored validation metric (it
reacts to metrics, so it is not a function of the step and has no warm-up).
"""

from __future__ import annotations

import math

__all__ = ["SCHEDULES", "STEP_SCHEDULES", "lr_factor"]

STEP_SCHEDULES = ("constant", "linear", "cosine", "wsd")
SCHEDULES = (*STEP_SCHEDULES, "plateau")


def lr_factor(
    schedule: str, step: int, *, warmup_steps: int, total_steps: int, cooldown: float = 0.2
) -> float:
    """The learning-rate multiplier of optimizer step ``step`` (0-based) under ``schedule``; ``cooldown``
    is the fraction of the steps after warm-up over which "wsd" decays."""
    if schedule not in STEP_SCHEDULES:
        raise ValueError(f"lr_factor: expected schedule in {STEP_SCHEDULES}, got {schedule!r}")
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    if schedule == "constant":
        return 1.0
    span = max(total_steps - warmup_steps, 1)
    progress = min(step - warmup_steps, span) / span  # 0 at the end of warm-up, → 1 at the last step
    if schedule == "linear":
        return 1.0 - progress
    if schedule == "wsd":
        return min(1.0, (1.0 - progress) / cooldown)
    return 0.5 * (1.0 + math.cos(math.pi * progress))
