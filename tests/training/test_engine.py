"""The training engine on a toy GRU regressor: loss, early stopping, best checkpoint, clipping, schedules,
resuming a killed run, DDP ≡ one process, and configuration errors."""

from __future__ import annotations

import csv
import importlib.util
import itertools
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook
from torch.utils.data import DataLoader, DistributedSampler

from seqlab.training import TaskModel, TrainConfig, default_mode, fit, lr_factor

from .toy import ToyRegressor, collate, loaders, resume_case

ROOT = Path(__file__).resolve().parents[2]


def quiet(out_dir: Path, **kwargs: object) -> TrainConfig:
    return TrainConfig(out_dir=out_dir, progress_bar=False, **kwargs)


@pytest.fixture
def steps() -> list[dict[str, float]]:
    """Per optimizer step: the learning rate it used and the total gradient norm it applied.

    A global post-step hook sees the gradients after Lightning clipped them (clipping happens inside
    the optimizer's closure, before the update) and the learning rate before the scheduler moves it.
    """
    records: list[dict[str, float]] = []

    def hook(optimizer: torch.optim.Optimizer, args: object, kwargs: object) -> None:
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
        records.append({"lr": optimizer.param_groups[0]["lr"], "grad_norm": float(norm)})

    handle = register_optimizer_step_post_hook(hook)
    yield records
    handle.remove()


def test_toy_is_a_task_model() -> None:
    assert isinstance(ToyRegressor(), TaskModel)


def test_loss_goes_down_and_logs(tmp_path: Path) -> None:
    train, val = loaders()
    result = fit(ToyRegressor(), train, val, quiet(tmp_path, max_epochs=6, lr=0.02, log_every_n_steps=2))
    assert result.epochs_run == 6 and not result.stopped_early
    assert [record["epoch"] for record in result.history] == list(range(6))
    first, last = result.history[0], result.history[-1]
    assert last["train_loss"] < 0.75 * first["train_loss"]
    assert last["val_loss"] < first["val_loss"]
    assert result.best_score == min(record["val_loss"] for record in result.history)
    with open(result.log_dir / "metrics.csv") as f:
        columns = next(csv.reader(f))
    assert {"train_loss_step", "train_loss_epoch", "val_loss", "lr-Adam"} <= set(columns)
    has_tensorboard = any(importlib.util.find_spec(m) for m in ("tensorboard", "tensorboardX"))
    assert (tmp_path / "tensorboard").is_dir() == has_tensorboard


@pytest.mark.parametrize("mode", ["max", "min"])
def test_early_stopping_and_best_checkpoint(tmp_path: Path, mode: str) -> None:
    # The score peaks at epoch 2 and then fails to improve for 2 epochs: with patience 2 the run stops
    # after epoch 4 (5 epochs), although it would have improved later (epochs 6, 7).
    scores = [0.1, 0.5, 0.9, 0.7, 0.6, 0.8, 0.95, 0.99]
    if mode == "min":
        scores = [-s for s in scores]
    train, val = loaders()
    model = ToyRegressor(scores=scores, batches_per_epoch=len(train))
    config = quiet(tmp_path, max_epochs=8, lr=0.02, monitor="score", mode=mode, patience=2)
    result = fit(model, train, val, config)
    assert result.stopped_early
    assert result.epochs_run == 5
    assert [record["val_score"] for record in result.history] == scores[:5]
    assert result.best_score == pytest.approx(scores[2], rel=1e-6)  # the callback keeps it as float32
    assert result.best_checkpoint.name == "best-epoch=002.ckpt"
    assert sorted(p.name for p in result.best_checkpoint.parent.iterdir()) == [
        "best-epoch=002.ckpt",
        "last.ckpt",
    ]
    # The model now holds epoch 2's weights (exactly: they are loaded back from the checkpoint), not the last.
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in model.snapshots[2].items())
    assert not all(torch.equal(state[k], v) for k, v in model.snapshots[4].items())


@pytest.mark.parametrize("clip", [1.0, 0.25, None])
def test_gradient_clipping(tmp_path: Path, steps: list[dict[str, float]], clip: float | None) -> None:
    # loss × 100 makes every raw gradient norm far above 1, so every step is clipped (when clipping is on).
    train, val = loaders()
    fit(ToyRegressor(loss_scale=100.0), train, val, quiet(tmp_path, max_epochs=1, grad_clip_norm=clip))
    norms = [s["grad_norm"] for s in steps]
    assert len(norms) == len(train)
    if clip is None:
        assert min(norms) > 5.0
    else:  # clip_grad_norm_ scales by clip / (norm + 1e-6): the result is clip up to that epsilon
        assert norms == pytest.approx([clip] * len(norms), rel=1e-5)


def test_default_clips_at_one() -> None:
    assert TrainConfig().grad_clip_norm == 1.0


# lr = 0.1, 2 warm-up steps, 3 epochs × 4 batches = N = 12 optimizer steps.
EXPECTED_LR = {
    "constant": {0: 0.1 / 3, 1: 0.2 / 3, 2: 0.1, 7: 0.1, 11: 0.1},
    "linear": {0: 0.1 / 3, 1: 0.2 / 3, 2: 0.1, 7: 0.1 * 5 / 10, 11: 0.1 * 1 / 10},
    "cosine": {0: 0.1 / 3, 1: 0.2 / 3, 2: 0.1, 7: 0.05, 11: 0.05 * (1 + math.cos(0.9 * math.pi))},
    "wsd": {0: 0.1 / 3, 1: 0.2 / 3, 2: 0.1, 7: 0.1, 10: 0.1, 11: 0.05},  # decays over the last 2 of 10
}


@pytest.mark.parametrize("schedule", sorted(EXPECTED_LR))
def test_lr_schedule_at_known_steps(tmp_path: Path, steps: list[dict[str, float]], schedule: str) -> None:
    train, val = loaders()
    config = quiet(tmp_path, max_epochs=3, optimizer="sgd", lr=0.1, schedule=schedule, warmup_steps=2)
    fit(ToyRegressor(), train, val, config)
    assert len(steps) == 12
    for step, lr in EXPECTED_LR[schedule].items():
        assert steps[step]["lr"] == pytest.approx(lr, rel=1e-12), f"step {step}"
        assert lr_factor(schedule, step, warmup_steps=2, total_steps=12) == pytest.approx(lr / 0.1, rel=1e-12)


def test_plateau_schedule(tmp_path: Path, steps: list[dict[str, float]]) -> None:
    # The score never improves: with plateau_patience=1 the LR halves after every 2nd bad validation.
    train, val = loaders()
    model = ToyRegressor(scores=[0.5] * 6, batches_per_epoch=len(train))
    config = quiet(
        tmp_path, max_epochs=6, lr=0.1, schedule="plateau", plateau_patience=1, monitor="score", mode="max"
    )
    fit(model, train, val, config)
    per_epoch = [steps[4 * e]["lr"] for e in range(6)]
    assert per_epoch == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.025])


def test_lr_factor_shapes() -> None:
    for schedule in ("linear", "cosine", "wsd"):
        factors = [lr_factor(schedule, s, warmup_steps=3, total_steps=20) for s in range(20)]
        assert factors[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
        assert all(a >= b for a, b in itertools.pairwise(factors[3:]))  # non-increasing after warm-up
        assert 0 < factors[-1] < (0.3 if schedule == "wsd" else 0.1)  # wsd: 1 / (0.2 · 17) at the last
    wsd = [lr_factor("wsd", s, warmup_steps=0, total_steps=100, cooldown=0.3) for s in range(100)]
    assert wsd[:71] == [1.0] * 71 and wsd[80] == pytest.approx(2 / 3) and wsd[99] == pytest.approx(1 / 30)
    with pytest.raises(ValueError, match=r"expected schedule in .*'wsd'.*got 'plateau'"):
        lr_factor("plateau", 0, warmup_steps=0, total_steps=1)


def test_resume_after_kill(tmp_path: Path) -> None:
    """Kill a training process with SIGKILL after its first checkpoint, resume it, compare with a clean run.

    The run shuffles (RandomSampler on the global torch RNG), uses dropout, Adam and a warm-up + decay
    schedule, so the resumed run only ends with the same weights if the epoch counter, optimizer moments,
    scheduler position and random state all come back. Same process-independent CPU kernels, same thread
    count, same operations in the same order: the weights must agree *exactly* (``torch.equal``).
    """
    killed_dir = tmp_path / "killed"
    last = killed_dir / "checkpoints" / "last.ckpt"
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "training" / "train_toy.py"), str(killed_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not last.exists():  # Lightning writes checkpoints atomically (temporary file, then rename)
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "no checkpoint after 60 s"
            time.sleep(0.01)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    saved = torch.load(last, weights_only=True)
    saved_epoch = saved["epoch"]
    max_epochs = 6
    assert saved_epoch < max_epochs - 1, "the child finished before it was killed"

    model, train, val, config = resume_case(str(killed_dir))
    resumed = fit(model, train, val, config, resume=True)
    # (a) it continued: the epochs after the saved one were trained here, and only those.
    assert model.train_steps == (max_epochs - 1 - saved_epoch) * len(train)
    assert resumed.epochs_run == max_epochs
    assert [record["epoch"] for record in resumed.history] == list(range(max_epochs))

    clean_model, train, val, config = resume_case(str(tmp_path / "clean"))
    clean = fit(clean_model, train, val, config)
    # (b) bit-identical to never having been interrupted: history, final weights, best weights.
    assert resumed.history == clean.history
    final = torch.load(resumed.last_checkpoint, weights_only=True)["state_dict"]
    clean_final = torch.load(clean.last_checkpoint, weights_only=True)["state_dict"]
    assert final.keys() == clean_final.keys()
    assert all(torch.equal(final[k], clean_final[k]) for k in final)
    assert resumed.best_checkpoint.name == clean.best_checkpoint.name
    clean_state = clean_model.state_dict()
    assert all(torch.equal(v, clean_state[k]) for k, v in model.state_dict().items())


DDP_SCRIPT = """
import os, sys
sys.path.insert(0, {root!r})
import torch
from torch.utils.data import DataLoader
from seqlab.data import BucketBatchSampler
from seqlab.training import TrainConfig, fit
from tests.training.toy import ToyRegressor, collate, loaders

if __name__ == "__main__":
    out = sys.argv[1]
    rank0 = os.environ.get("LOCAL_RANK", "0") == "0"
    train, val = loaders(n_train=32, n_val=16, batch_size=4)
    bucket = [
        DataLoader(d, batch_sampler=BucketBatchSampler([1] * len(d), 4, shuffle=False), collate_fn=collate)
        for d in (train.dataset, val.dataset)
    ]
    for case, (tr, va) in {{"sampler": (train, val), "bucket": bucket}}.items():
        model = ToyRegressor()
        config = TrainConfig(max_epochs=2, optimizer="sgd", lr=0.1, out_dir=f"{{out}}/{{case}}", seed=3,
                             accelerator="cpu", devices=2, strategy="ddp", progress_bar=False)
        result = fit(model, tr, va, config)
        if rank0:
            torch.save({{"state": model.state_dict(), "history": result.history, "steps": model.train_steps}},
                       f"{{out}}/{{case}}.pt")
"""


def test_ddp_two_processes_match_one(tmp_path: Path) -> None:
    """2 CPU processes (gloo) × batch 4 ≡ 1 process × batch 8, with SGD and the same seed.

    Two ways of sharding: Lightning's DistributedSampler (it always shuffles the training data, by
    seed + epoch; the one-process run uses the same sampler with one replica, so the global batches
    coincide) and seqlab's rank-aware BucketBatchSampler (unshuffled here). DDP averages the two mean
    gradients, which is the mean gradient of the global batch up to float32 rounding: measured max
    |Δw| ≈ 3e-8 after 8 steps (weights move by ~0.1), so the tolerance is 1e-6.
    """
    script = tmp_path / "ddp_train.py"
    script.write_text(DDP_SCRIPT.format(root=str(ROOT)))
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    run = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=120, env=env
    )
    assert run.returncode == 0, run.stderr[-4000:]

    from seqlab.data import BucketBatchSampler

    train, val = loaders(n_train=32, n_val=16, batch_size=8)
    one_process = {
        "sampler": (
            DataLoader(
                train.dataset,
                batch_size=8,
                sampler=DistributedSampler(train.dataset, num_replicas=1, rank=0, shuffle=True, seed=3),
                collate_fn=collate,
            ),
            val,
        ),
        "bucket": tuple(
            DataLoader(
                d, batch_sampler=BucketBatchSampler([1] * len(d), 8, shuffle=False), collate_fn=collate
            )
            for d in (train.dataset, val.dataset)
        ),
    }
    for case, (tr, va) in one_process.items():
        model = ToyRegressor()
        initial = {k: v.clone() for k, v in model.state_dict().items()}
        config = quiet(tmp_path / f"single-{case}", max_epochs=2, optimizer="sgd", lr=0.1, seed=3)
        result = fit(model, tr, va, config)
        ddp = torch.load(tmp_path / f"{case}.pt", weights_only=True)
        assert ddp["steps"] == model.train_steps == 8, case  # each process took every step, on half the data
        for key, value in model.state_dict().items():
            assert (value - initial[key]).abs().max() > 1e-3, key  # training did move the weights
            torch.testing.assert_close(ddp["state"][key], value, atol=1e-6, rtol=0, msg=f"{case}: {key}")
        # Validation outputs of both processes were gathered: same figures as one process on all of val.
        for ours, theirs in zip(ddp["history"], result.history):
            assert ours["val_loss"] == pytest.approx(theirs["val_loss"], abs=1e-6)
            assert ours["train_loss"] == pytest.approx(theirs["train_loss"], abs=1e-6)


# ---------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("max_epochs", 0, r"expected max_epochs to be an integer ≥ 1, got 0"),
        ("optimizer", "adagrad", r"unknown optimizer 'adagrad'; known: adam, adamw, sgd"),
        ("lr", 0.0, r"expected lr to be a number > 0, got 0.0"),
        ("lr", float("nan"), r"expected lr to be a number > 0"),
        ("weight_decay", -1.0, r"expected weight_decay to be a number ≥ 0"),
        ("momentum", 0.9, r"momentum=0.9 applies to optimizer 'sgd' only, got optimizer 'adam'"),
        ("schedule", "step", r"unknown schedule 'step'; known: constant, linear, cosine, wsd, plateau"),
        ("warmup_steps", -1, r"expected warmup_steps to be an integer ≥ 0"),
        ("plateau_factor", 1.0, r"expected plateau_factor in \(0, 1\)"),
        ("cooldown_fraction", 0.0, r"expected cooldown_fraction in \(0, 1\], got 0.0"),
        ("grad_clip_norm", 0.0, r"expected grad_clip_norm to be a number > 0 or None"),
        ("monitor", "", r"expected monitor to be the name of a validation metric \(e.g. .f1.\) or None"),
        ("mode", "maximize", r"unknown mode 'maximize'; known: max, min"),
        ("patience", -1, r"expected patience to be an integer ≥ 0"),
        ("out_dir", 3, r"expected out_dir to be a path, got 3"),
        ("seed", 1.5, r"expected seed to be an integer ≥ 0, got 1.5"),
        ("accelerator", "fpga", r"unknown accelerator 'fpga'; known: auto, cpu, gpu"),
        ("devices", 0, r"expected devices to be a count ≥ 1, 'auto', or a tuple"),
        ("devices", (0, 0), r"expected devices .* got \(0, 0\)"),
        ("strategy", "horovod", r"unknown strategy 'horovod'; known: auto, .*ddp"),
        ("num_nodes", 0, r"expected num_nodes to be an integer ≥ 1"),
        ("precision", "8-true", r"unknown precision '8-true'; known: 32-true"),
        ("log_every_n_steps", True, r"expected log_every_n_steps to be an integer ≥ 1, got True"),
        ("progress_bar", "yes", r"expected progress_bar to be True or False"),
        ("val_check_interval", 1.5, r"expected val_check_interval to be a fraction of an epoch in \(0, 1\]"),
        ("accumulate_grad_batches", 0, r"expected accumulate_grad_batches to be an integer ≥ 1"),
    ],
)
def test_bad_config(field: str, value: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{field: value})


def test_bad_combinations() -> None:
    with pytest.raises(ValueError, match=r"'plateau' has no warm-up, got warmup_steps=5"):
        TrainConfig(schedule="plateau", warmup_steps=5)
    assert TrainConfig(out_dir="runs/x").out_dir == Path("runs/x")
    assert TrainConfig(devices=[0, 1]).devices == (0, 1)


def test_fit_rejects_bad_models_and_runs(tmp_path: Path) -> None:
    train, val = loaders()
    with pytest.raises(
        ValueError, match=r"Linear does not implement the TaskModel protocol; missing training_loss"
    ):
        fit(torch.nn.Linear(2, 2), train, val, quiet(tmp_path))
    with pytest.raises(
        ValueError, match=r"monitor is 'f1' but ToyRegressor.validation_metrics returned \['loss'\]"
    ):
        fit(ToyRegressor(), train, val, quiet(tmp_path / "a", monitor="f1"))
    with pytest.raises(FileNotFoundError, match=r"checkpoint to resume from does not exist"):
        fit(ToyRegressor(), train, val, quiet(tmp_path / "b"), resume=tmp_path / "nope.ckpt")
    fit(ToyRegressor(), train, val, quiet(tmp_path / "c", max_epochs=1))
    with pytest.raises(FileExistsError, match=r"pass resume=True to continue it"):
        fit(ToyRegressor(), train, val, quiet(tmp_path / "c", max_epochs=1))


def test_default_mode_reads_the_monitor_name() -> None:
    assert [default_mode(m) for m in ("f1", "accuracy", "score", "bleu")] == ["max"] * 4
    minimal = ("loss", "dev_loss", "word_error_rate", "token_error_rate", "wer", "mase", "smape", "rmse")
    assert [default_mode(m) for m in minimal] == ["min"] * len(minimal)


def test_the_task_chooses_the_monitor_unless_the_config_does(tmp_path: Path) -> None:
    # val_score peaks at epoch 1, val_loss keeps falling: the two choices keep different checkpoints.
    scores = [0.2, 0.9, 0.5, 0.4]
    train, val = loaders()

    def toy() -> ToyRegressor:
        model = ToyRegressor(scores=scores, batches_per_epoch=len(train))
        model.default_monitor = "score"
        return model

    by_task = fit(toy(), train, val, quiet(tmp_path / "a", max_epochs=4, lr=0.02))
    assert (by_task.monitor, by_task.mode) == ("score", "max")
    assert by_task.best_checkpoint.name == "best-epoch=001.ckpt"
    by_user = fit(toy(), train, val, quiet(tmp_path / "b", max_epochs=4, lr=0.02, monitor="loss"))
    assert (by_user.monitor, by_user.mode) == ("loss", "min")
    assert by_user.best_score == pytest.approx(min(r["val_loss"] for r in by_user.history), rel=1e-6)
    plain = fit(ToyRegressor(), train, val, quiet(tmp_path / "c", max_epochs=2, lr=0.02))
    assert (plain.monitor, plain.mode) == ("loss", "min")


def test_lightning_speaks_no_louder_than_seqlab():
    import logging

    from seqlab.training.engine import _lightning_speaks_at

    pl = logging.getLogger("lightning.pytorch")
    before, effective = pl.level, pl.getEffectiveLevel()
    with _lightning_speaks_at(logging.WARNING):
        assert not pl.isEnabledFor(logging.INFO) and pl.isEnabledFor(logging.WARNING)
    assert pl.level == before  # restored
    with _lightning_speaks_at(logging.DEBUG):  # never louder than Lightning's own setting
        assert pl.getEffectiveLevel() == max(effective, logging.DEBUG)
