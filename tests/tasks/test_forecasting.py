"""Forecaster: scaling, heads and outputs, save/load, learning a sine wave; baselines and backtests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from seqlab.data.series import make_series
from seqlab.tasks.forecasting import (
    ForecastBatch,
    Forecaster,
    ForecasterConfig,
    scale_window,
    unscale,
)
from seqlab.tasks.forecasting_baselines import baseline_forecast, naive, seasonal_naive
from seqlab.tasks.forecasting_run import (
    backtest,
    backtest_origins,
    forecast_frame,
    plot_forecast,
    train_on_series,
)
from seqlab.training import TrainConfig


def monthly(values, name: str = "s", covariates=None) -> object:
    ts = pd.date_range("2000-01-01", periods=len(values), freq="MS")
    names = () if covariates is None else tuple(f"c{k}" for k in range(np.asarray(covariates).shape[1]))
    return make_series(name, ts, values, covariates=covariates, covariate_names=names, freq="MS")


def sine(n: int = 120, period: int = 12, level: float = 10.0) -> np.ndarray:
    return level + np.sin(2 * np.pi * np.arange(n) / period)


def tiny(**kw) -> ForecasterConfig:
    base = {"lookback": 12, "horizon": 4, "hidden_size": 8}
    return ForecasterConfig(**{**base, **kw})


# --------------------------------------------------------------------------------------------- scaling
@pytest.mark.parametrize("scaling", ["standard", "mean_abs", "none"])
def test_scaling_round_trip_is_exact_up_to_rounding(scaling):
    y = torch.randn(5, 30, dtype=torch.float64) * 1000 + 5000
    a, b = scale_window(y, scaling)
    np.testing.assert_allclose(unscale((y - a) / b, a, b).numpy(), y.numpy(), rtol=1e-14, atol=0)
    z3 = torch.randn(5, 4, 3, dtype=torch.float64)  # (B, h, Q) quantiles
    np.testing.assert_allclose(unscale(z3, a, b).numpy(), (a.unsqueeze(-1) + b.unsqueeze(-1) * z3).numpy())


@pytest.mark.parametrize("scaling", ["standard", "mean_abs"])
@pytest.mark.parametrize("level", [0.0, 3.7, 1e6])
def test_constant_windows_do_not_divide_by_zero(scaling, level):
    y = torch.full((2, 12), level)
    a, b = scale_window(y, scaling)
    expected = 1.0 if scaling == "standard" or level == 0 else level  # mean_abs: the level itself
    torch.testing.assert_close(b, torch.full_like(b, expected))
    assert torch.isfinite((y - a) / b).all()


@pytest.mark.parametrize("output", ["point", "gaussian", "quantile"])
def test_a_constant_series_trains_and_forecasts_finite_values(output, tmp_path):
    s = monthly(np.full(40, 7.0))
    model, _ = train_on_series([s], tiny(output=output), quick(tmp_path, epochs=2))
    f = model.predict([s])[0]
    assert np.isfinite(f.point).all() and f.point.shape == (4,)


def quick(tmp_path, epochs: int = 3, **kw) -> TrainConfig:
    return TrainConfig(max_epochs=epochs, progress_bar=False, out_dir=tmp_path / "run", lr=1e-2, **kw)


# --------------------------------------------------------------------------------------------- heads
def batch_for(model: Forecaster, series, with_target=True) -> ForecastBatch:
    windows = model.windows(series)
    batch = model.collate(windows)
    return batch if with_target else batch.without_target()


@pytest.mark.parametrize("head", ["direct", "autoregressive"])
@pytest.mark.parametrize(("output", "P"), [("point", 1), ("gaussian", 2), ("quantile", 3)])
def test_heads_and_outputs_have_the_documented_shapes(head, output, P):
    torch.manual_seed(0)
    s = monthly(sine(30), covariates=np.random.default_rng(0).normal(size=(30, 2)))
    model = Forecaster.from_data([s], tiny(head=head, output=output))
    batch = batch_for(model, [s])
    B = 30 - 16 + 1
    theta, a, b = model(batch)
    assert theta.shape == (B, 4, P) and a.shape == b.shape == (B, 1)
    assert model.training_loss(batch).dim() == 0
    f = model.forecast(batch)
    assert f.point.shape == (B, 4)
    if output == "point":
        assert f.lower is None and f.upper is None
    else:
        assert (f.lower <= f.point).all() and (f.point <= f.upper).all()
    if output == "quantile":
        assert f.quantiles.shape == (B, 4, 3) and (f.quantiles.diff(dim=-1) >= 0).all()


def test_autoregressive_teacher_forcing_on_its_own_forecasts_equals_free_running():
    """The reference pair: one teacher-forced pass over the decoder == the step-by-step decode loop."""
    torch.manual_seed(0)
    s = monthly(sine(30))
    model = Forecaster.from_data([s], tiny(head="autoregressive", output="gaussian")).eval()
    free = batch_for(model, [s], with_target=False)
    with torch.no_grad():
        theta_free, a, b = model(free)
        own = model.distribution(theta_free, a, b).point  # the values the loop fed back
        forced = ForecastBatch(free.past, free.past_covariates, free.past_calendar, free.future_calendar, own)
        theta_forced, _, _ = model(forced)
    torch.testing.assert_close(theta_forced, theta_free, rtol=1e-5, atol=1e-5)


def test_log_transform_keeps_intervals_ordered_and_positive(tmp_path):
    s = monthly(np.exp(sine(40) / 3))
    model, _ = train_on_series([s], tiny(log=True, output="gaussian"), quick(tmp_path, epochs=2))
    f = model.predict([s])[0]
    assert (f.lower > 0).all() and (f.lower <= f.point).all() and (f.point <= f.upper).all()
    with pytest.raises(ValueError, match=r"log=True needs positive values, got -1"):
        model.predict([monthly(np.r_[np.ones(20), -1.0])])


@pytest.mark.parametrize(("k", "horizon"), [(12, 4), (4, 10), (1, 3)])
@pytest.mark.parametrize("output", ["point", "gaussian", "quantile"])
def test_naive_anchor_with_a_silent_network_is_the_seasonal_naive_forecast(k, horizon, output):
    # the head silenced (weights and bias zero), only the anchor is left: y_{n+j} = y_{n-k+1+(j-1) mod k}
    torch.manual_seed(0)
    s = monthly(np.exp(sine(40) / 3) * np.linspace(1, 3, 40))
    model = Forecaster.from_data([s], tiny(naive_anchor=k, horizon=horizon, output=output, log=True))
    torch.nn.init.zeros_(model.output.weight)
    torch.nn.init.zeros_(model.output.bias)
    f = model.predict([s])[0]
    expected = seasonal_naive(s.values, horizon, k).point
    np.testing.assert_allclose(f.point, expected, rtol=1e-5)
    if output == "gaussian":  # σ = softplus(0) + ε around the anchor
        assert (f.lower < f.point).all() and (f.point < f.upper).all()


@pytest.mark.parametrize("output", ["gaussian", "quantile"])
def test_conformal_margin_is_the_order_statistic_of_the_held_out_scores(output):
    torch.manual_seed(0)
    s = monthly(sine(60) + np.random.default_rng(0).normal(0, 0.3, 60))
    model = Forecaster.from_data([s], tiny(output=output, conformal=True, scaling="none")).eval()
    windows = model.windows([s])  # 45 windows × 4 steps = 180 scores
    batch = model.collate(windows)
    unlabelled = batch.without_target()
    before = model.forecast(unlabelled)
    y = batch.target
    scores = torch.maximum(before.lower - y, y - before.upper).flatten().sort().values
    delta = model.calibrate(windows)
    assert delta == pytest.approx(float(scores[math.ceil(181 * 0.8) - 1]), abs=1e-6)
    after = model.forecast(unlabelled)
    torch.testing.assert_close(after.upper - before.upper, torch.full_like(y, delta))
    torch.testing.assert_close(before.lower - after.lower, torch.full_like(y, delta))
    torch.testing.assert_close(before.point, after.point)
    # on the windows it was calibrated on, the interval now holds at least 80% of the targets
    inside = ((after.lower <= y) & (y <= after.upper)).float().mean()
    assert inside >= 0.8 and inside < 0.8 + 5 / y.numel()


def test_conformal_calibration_happens_in_training_and_survives_save_and_load(tmp_path):
    s = monthly(sine(60) + np.random.default_rng(1).normal(0, 0.3, 60))
    config = tiny(output="quantile", conformal=True)
    model, _ = train_on_series([s], config, quick(tmp_path), validation_windows=4)
    assert float(model.conformal_margin) != 0.0
    model.save(tmp_path / "m")
    loaded = Forecaster.load(tmp_path / "m")
    assert float(loaded.conformal_margin) == float(model.conformal_margin)
    np.testing.assert_array_equal(model.predict([s])[0].lower, loaded.predict([s])[0].lower)
    with pytest.raises(ValueError, match=r"conformal calibration needs held-out windows"):
        train_on_series([s], config, quick(tmp_path), validation_windows=0)
    with pytest.raises(ValueError, match=r"conformal calibrates intervals; a point output has none"):
        Forecaster.from_data([s], tiny(output="point", conformal=True))
    with pytest.raises(ValueError, match=r"conformal=False; nothing to calibrate"):
        Forecaster.from_data([s], tiny(output="quantile")).calibrate(model.windows([s]))


# --------------------------------------------------------------------------------------------- files
@pytest.mark.parametrize(
    "config",
    [
        {"head": "direct", "output": "quantile", "highway": 3},
        {"head": "autoregressive", "output": "gaussian", "recurrence": "gru"},
    ],
)
def test_save_and_load_give_identical_predictions(config, tmp_path):
    torch.manual_seed(0)
    s = monthly(sine(30), covariates=np.arange(30.0)[:, None])
    model = Forecaster.from_data([s], tiny(**config)).eval()
    model.save(tmp_path / "m")
    loaded = Forecaster.load(tmp_path / "m")
    assert loaded.freq == "MS" and loaded.covariate_names == ("c0",)
    before, after = model.predict([s])[0], loaded.predict([s])[0]
    np.testing.assert_array_equal(before.point, after.point)
    np.testing.assert_array_equal(before.upper, after.upper)
    assert list(after.timestamps.strftime("%Y-%m")) == ["2002-07", "2002-08", "2002-09", "2002-10"]


def test_a_tiny_model_learns_a_sine_wave(tmp_path):
    s = monthly(sine(150))
    config = tiny(output="point", hidden_size=16, calendar=False)
    model, result = train_on_series([s.head(146)], config, quick(tmp_path, epochs=25), batch_size=16)
    f = model.predict([s.head(146)])[0]
    error = np.abs(f.point - s.values[146:]).mean()
    assert error < 0.15, (error, result.history[-1])  # the wave's amplitude is 1; naive's error ≈ 1


def test_forecast_frame_has_timestamps_and_interval_columns(tmp_path):
    s = monthly(sine(30))
    model = Forecaster.from_data([s], tiny(output="quantile"))
    frame = forecast_frame(model, [s, monthly(sine(20), name="t")])
    assert list(frame.columns) == [
        "series_id",
        "timestamp",
        "forecast",
        "lower_80",
        "upper_80",
        "q0.1",
        "q0.5",
        "q0.9",
    ]
    assert list(frame["series_id"]) == ["s"] * 4 + ["t"] * 4
    assert str(frame["timestamp"].iloc[4].date()) == "2001-09-01"
    pytest.importorskip("matplotlib")
    path = plot_forecast(s, model.predict([s])[0], tmp_path / "f.png")
    assert path.stat().st_size > 1000


# --------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"head": "seq2seq"}, r"unknown head 'seq2seq'; known: direct, autoregressive"),
        ({"lookback": 0}, r"expected lookback to be a positive integer, got 0"),
        ({"quantiles": (0.25, 0.5, 0.75)}, r"needs the quantiles \[0.5, 0.1, 0.9\].*missing \[0.1, 0.9\]"),
        ({"quantiles": "0.1,x"}, r"expected quantiles as numbers"),
        ({"quantiles": (0.0, 0.5)}, r"distinct quantiles in \(0, 1\)"),
        ({"interval": 1.0}, r"expected interval in \(0, 1\)"),
        ({"highway": 3, "head": "autoregressive"}, r"highway belongs to the direct head"),
        ({"highway": 30}, r"expected highway in 0 … lookback \(12\)"),
        ({"naive_anchor": 13}, r"expected naive_anchor in 0 … lookback \(12\), got 13"),
        ({"naive_anchor": 12, "head": "autoregressive"}, r"naive_anchor belongs to the direct head"),
    ],
)
def test_bad_configs_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny(**{"output": "quantile", **kwargs})


def test_quantiles_from_the_command_line_are_parsed():
    assert tiny(quantiles="0.9, 0.1,0.5").quantiles == (0.1, 0.5, 0.9)


def test_bad_series_and_batches_are_named():
    short = monthly(sine(10), name="short")
    with pytest.raises(
        ValueError, match=r"series 'short' .* has 10 steps, shorter than lookback 12 \+ horizon 4 = 16"
    ):
        Forecaster.from_data([short], tiny())
    weekly = make_series("w", pd.date_range("2000-01-01", periods=20, freq="W-SAT"), sine(20), freq="W-SAT")
    with pytest.raises(
        ValueError, match=r"one model forecasts series of one frequency, got \['MS', 'W-SAT'\]"
    ):
        Forecaster.from_data([monthly(sine(20)), weekly], tiny())
    model = Forecaster.from_data([monthly(sine(20))], tiny())
    batch = model.collate(model.windows([monthly(sine(20))]))
    bad = ForecastBatch(batch.past[:, :5], batch.past_covariates, batch.past_calendar, batch.future_calendar)
    with pytest.raises(ValueError, match=r"expected past of shape \(B, 12\), got \(5, 5\)"):
        model(bad)
    with pytest.raises(ValueError, match=r"series 'w' has frequency 'W-SAT'; this model forecasts 'MS'"):
        model.predict([weekly])


# --------------------------------------------------------------------------------------------- baselines
def test_naive_and_seasonal_naive_by_hand():
    y = np.array([1.0, 3.0, 2.0, 4.0, 3.0, 5.0])
    f = naive(y, 3)
    np.testing.assert_array_equal(f.point, [5.0, 5.0, 5.0])
    sigma = math.sqrt(np.mean(np.diff(y) ** 2))  # √((4+1+4+1+4)/5)
    z = 1.2815515655446004  # Φ⁻¹(0.9)
    np.testing.assert_allclose(f.upper - f.point, z * sigma * np.sqrt([1, 2, 3]))
    g = seasonal_naive(y, 5, m=2)
    np.testing.assert_array_equal(g.point, [3.0, 5.0, 3.0, 5.0, 3.0])  # the last season, repeated
    sigma = math.sqrt(np.mean((y[2:] - y[:-2]) ** 2))  # all differences are 1
    np.testing.assert_allclose(g.upper - g.point, z * sigma * np.sqrt([1, 1, 2, 2, 3]))


def test_statistical_baselines_forecast_a_seasonal_series():
    def wave(t):
        return 100 + 10 * np.sin(2 * np.pi * t / 4) + t * 0.5 + 0.3 * np.cos(t)

    y = wave(np.arange(32))
    for name, m in (("ets", 4), ("arima", 1)):  # (seasonal ARIMA's grid is slower; the benchmark runs it)
        f = baseline_forecast(name, y, 6, m)
        truth = wave(np.arange(32, 38))
        assert np.abs(f.point - truth).mean() < 2.0, (name, f.model)
        assert (f.lower <= f.point).all() and (f.point <= f.upper).all()
    with pytest.raises(ValueError, match=r"unknown baseline 'prophet'"):
        baseline_forecast("prophet", y, 6, 12)


def test_arima_takes_fourier_terms_for_a_long_season():
    # m = 30 > FOURIER_ABOVE: a harmonic regression with ARIMA errors, not a 30-lag seasonal ARIMA
    rng = np.random.default_rng(0)
    t = np.arange(150)
    y = 50 + 5 * np.sin(2 * np.pi * t / 30) + 2 * np.cos(4 * np.pi * t / 30) + rng.normal(0, 0.2, 150)
    f = baseline_forecast("arima", y[:120], 30, 30)
    assert "Fourier[30]x" in f.model and int(f.model[-1]) >= 2, f.model  # the second harmonic is needed
    truth = 50 + 5 * np.sin(2 * np.pi * t[120:] / 30) + 2 * np.cos(4 * np.pi * t[120:] / 30)
    assert np.abs(f.point - truth).mean() < 0.3, f.model  # the noise's σ is 0.2
    assert (f.lower < f.point).all() and (f.point < f.upper).all()


# --------------------------------------------------------------------------------------------- backtest
def test_backtest_origins_tile_the_end_of_the_series():
    assert backtest_origins(144, 12, 4, 12) == [96, 108, 120, 132]


def test_backtest_scores_model_and_baselines_on_the_same_origins(tmp_path):
    s = monthly(sine(60))
    result = backtest(
        s,
        tiny(output="gaussian"),
        quick(tmp_path, epochs=2),
        origins=2,
        seasonal_period=12,
        baselines=("naive", "seasonal_naive"),
    )
    scores = result.scores()
    assert set(scores) == {"model", "naive", "seasonal_naive"}
    assert scores["seasonal_naive"]["mae"] == pytest.approx(0.0, abs=1e-9)  # a pure wave: exact
    assert {f.origin for f in result.forecasts} == {52, 56}
    assert "coverage" in scores["model"] and "model" in result.table()
    with pytest.raises(ValueError, match=r"first backtest origin would be step 1, but lookback 12"):
        backtest(s, tiny(), quick(tmp_path), origins=15, baselines=())
