"""Train, backtest, evaluate and predict with a ``Forecaster``: what ``seqlab forecast`` calls, from Python.

>>> from seqlab.tasks.forecasting_run import ForecastData, backtest, load_series, train_forecaster
>>> series = load_series(ForecastData(series="airline"))[0]
>>> result = backtest(series, ForecasterConfig(lookback=36, horizon=12), TrainConfig(max_epochs=100))
>>> print(result.table())

Rolling-origin backtest (expanding window): at each origin o_1 < … < o_k the recurrent forecaster is trained
afresh on y_1 … y_{o−1} (the last ``validation_windows`` windows of that history held out for model
selection) and forecasts y_o … y_{o+h−1}; the baselines (``seqlab.tasks.forecasting_baselines``) are
fitted on the same history and forecast the same steps. The origins are ``step`` apart and the last one
forecasts the series' final h values. MAE, RMSE, sMAPE, MASE (scaled by the seasonal naive MAE of that
origin's history) and the interval coverage are averaged over the origins.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from seqlab.data.series import (
    GAP_POLICIES,
    NAN_POLICIES,
    SEASONAL_PERIODS,
    SERIES_CORPORA,
    SERIES_FORMATS,
    SERIES_LAYOUTS,
    Series,
    bundled_series,
    check_length,
    default_seasonal_period,
    read_series,
)
from seqlab.metrics.forecasting import forecast_scores
from seqlab.training import TrainConfig, TrainResult, fit

from .forecasting import Forecaster, ForecasterConfig, SeriesForecast
from .forecasting_baselines import BASELINES, baseline_forecast

__all__ = [
    "BacktestResult",
    "ForecastData",
    "backtest",
    "evaluate_forecaster",
    "forecast_frame",
    "load_series",
    "plot_backtest",
    "plot_forecast",
    "seasonal_period_of",
    "train_forecaster",
    "train_on_series",
    "write_forecast",
]

log = logging.getLogger(__name__)

MODEL = "model"  # the recurrent forecaster's name in backtest tables
METRICS = ("mae", "rmse", "smape", "mase", "coverage")


@dataclass(frozen=True)
class ForecastData:
    """Where the series come from (a file, or bundled series by name) and how training windows are cut."""

    train: str | None = None  # a CSV or Parquet file
    series: str | None = (
        None  # bundled series instead: airline, co2, elec_equip, lynx, shampoo, sunspots (a,b,…)
    )
    format: str = "auto"  # auto (by suffix) | csv | parquet
    layout: str = "auto"  # auto | long (timestamp, id, value, covariates) | wide (a column per series)
    timestamp_column: str = "timestamp"
    id_column: str = "series_id"  # long layout
    value_column: str = "value"  # long layout
    covariates: str = ""  # comma-separated covariate columns (past covariates)
    freq: str | None = None  # a pandas offset alias; None: inferred
    nan: str = "error"  # error | interpolate | drop
    gaps: str = "error"  # error | fill (missing timestamps become missing values)
    validation_windows: int = 1  # last windows of each series held out for model selection; 0: none
    stride: int = 1  # steps between training windows
    batch_size: int = 32

    def __post_init__(self) -> None:
        for name, known in (
            ("format", SERIES_FORMATS),
            ("layout", SERIES_LAYOUTS),
            ("nan", NAN_POLICIES),
            ("gaps", GAP_POLICIES),
        ):
            if getattr(self, name) not in known:
                raise ValueError(
                    f"ForecastData: unknown {name} {getattr(self, name)!r}; known: {', '.join(known)}"
                )
        if (self.train is None) == (self.series is None):
            raise ValueError("ForecastData: give a --train file, or bundled --series (one of the two)")
        for name in self.bundled:
            if name not in SERIES_CORPORA:
                raise ValueError(
                    f"ForecastData: unknown bundled series {name!r}; known: {', '.join(SERIES_CORPORA)}"
                )
        for name in ("stride", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ForecastData: expected {name} to be a positive integer, got {value!r}")
        value = self.validation_windows
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"ForecastData: expected validation_windows to be an integer ≥ 0, got {value!r}")

    @property
    def bundled(self) -> tuple[str, ...]:
        return tuple(s.strip() for s in (self.series or "").split(",") if s.strip())

    @property
    def covariate_columns(self) -> tuple[str, ...]:
        return tuple(c.strip() for c in self.covariates.split(",") if c.strip())


def load_series(data: ForecastData, path: str | Path | None = None) -> list[Series]:
    """The series ``data`` names: its bundled ones, or those of ``path`` (default: ``data.train``)."""
    if path is None and data.bundled:
        return [bundled_series(name, nan=None if data.nan == "error" else data.nan) for name in data.bundled]
    return read_series(
        path or data.train,
        format=data.format,
        layout=data.layout,
        timestamp_column=data.timestamp_column,
        id_column=data.id_column,
        value_column=data.value_column,
        covariates=data.covariate_columns,
        freq=data.freq,
        nan=data.nan,
        gaps=data.gaps,
    )


def seasonal_period_of(series: Series) -> int:
    """m for MASE and the seasonal baselines: the bundled series' own, else the frequency's usual one."""
    if series.name in SEASONAL_PERIODS and series.origin.endswith(SERIES_CORPORA[series.name][1]):
        return SEASONAL_PERIODS[series.name]
    return default_seasonal_period(series.freq)


# ------------------------------------------------------------------------------------------------ training
def train_on_series(
    series: Sequence[Series],
    config: ForecasterConfig,
    train_config: TrainConfig,
    *,
    validation_windows: int = 1,
    stride: int = 1,
    batch_size: int = 32,
    resume: bool = False,
) -> tuple[Forecaster, TrainResult]:
    """Train one (global) forecaster on the windows of ``series``; the engine keeps the best dev loss.

    The last ``validation_windows`` windows of each series are held out as the dev set, and no training
    window overlaps their targets. With 0, the dev set is the training windows themselves (the run then
    keeps the weights with the lowest training loss). A ``conformal`` model calibrates its intervals on
    the dev windows after training, so it needs at least one.
    """
    import torch
    from torch.utils.data import DataLoader

    if config.conformal and not validation_windows:
        raise ValueError(
            "conformal calibration needs held-out windows: use validation_windows >= 1 "
            "(--validation-windows), or conformal=False"
        )
    torch.manual_seed(train_config.seed)  # the initial weights are part of a reproducible run
    model = Forecaster.from_data(series, config)
    h, V = config.horizon, validation_windows
    train, dev = [], []
    for s in series:
        if V:
            keep = len(s) - h - V + 1  # training windows' targets end before the dev targets begin
            if keep < config.lookback + h:
                raise ValueError(
                    f"series {s.name!r} has {len(s)} steps: holding out {V} validation window(s) leaves "
                    f"{keep}, fewer than lookback {config.lookback} + horizon {h} = {config.lookback + h}; "
                    "use fewer validation windows (0: none), a shorter lookback or a longer series"
                )
            train += model.windows([s.head(keep)], stride=stride)
            dev += model.windows([s], last=V)
        else:
            train += model.windows([s], stride=stride)
    if not V:
        dev = train
    generator = torch.Generator().manual_seed(train_config.seed)
    train_loader = DataLoader(
        train, batch_size=batch_size, shuffle=True, collate_fn=model.collate, generator=generator
    )
    dev_loader = DataLoader(dev, batch_size=max(batch_size, 256), shuffle=False, collate_fn=model.collate)
    log.info("training on %d windows of %d series, validating on %d", len(train), len(series), len(dev))
    result = fit(model, train_loader, dev_loader, train_config, resume=resume)
    model.eval()
    if config.conformal:
        margin = model.calibrate(dev)
        log.info("conformal margin %.4f (scaled units) from %d validation windows", margin, len(dev))
    return model, result


def train_forecaster(
    data: ForecastData, config: ForecasterConfig, train_config: TrainConfig, *, resume: bool = False
) -> tuple[Forecaster, TrainResult]:
    """Train on the series ``data`` names and save the best model to ``train_config.out_dir / "model"``."""
    series = load_series(data)
    model, result = train_on_series(
        series,
        config,
        train_config,
        validation_windows=data.validation_windows,
        stride=data.stride,
        batch_size=data.batch_size,
        resume=resume,
    )
    model.save(Path(train_config.out_dir) / "model")
    return model, result


# ------------------------------------------------------------------------------------------------ backtests
@dataclass
class OriginForecast:
    """One method's forecast from one origin."""

    method: str
    origin: int  # index of the first forecast step in the series
    timestamps: Any  # pandas.DatetimeIndex (h,)
    actual: np.ndarray  # (h,)
    point: np.ndarray  # (h,)
    lower: np.ndarray | None
    upper: np.ndarray | None
    scores: dict[str, float]
    detail: str = ""  # e.g. the ARIMA orders chosen


@dataclass
class BacktestResult:
    """Scores per method (averaged over origins), every origin's forecasts, and the seconds each took."""

    series: Series
    horizon: int
    seasonal_period: int
    origins: list[int]
    forecasts: list[OriginForecast] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(f.method for f in self.forecasts))

    def scores(self) -> dict[str, dict[str, float]]:
        """method → metric → mean over origins (coverage only for methods with intervals)."""
        out = {}
        for method in self.methods:
            rows = [f.scores for f in self.forecasts if f.method == method]
            out[method] = {
                metric: float(np.mean([r[metric] for r in rows])) for metric in METRICS if metric in rows[0]
            }
        return out

    def table(self) -> str:
        """A plain-text table: one row per method, MAE, RMSE, sMAPE, MASE, coverage, seconds."""
        scores = self.scores()
        head = (
            f"{'method':16s} {'MAE':>10s} {'RMSE':>10s} {'sMAPE':>7s} {'MASE':>7s} {'cov80':>6s} {'sec':>7s}"
        )
        lines = [head, "-" * len(head)]
        for method, s in scores.items():
            cov = f"{s['coverage']:.2f}" if "coverage" in s else "–"
            lines.append(
                f"{method:16s} {s['mae']:10.3f} {s['rmse']:10.3f} {s['smape']:7.2f} {s['mase']:7.3f} "
                f"{cov:>6s} {self.seconds.get(method, 0.0):7.1f}"
            )
        return "\n".join(lines)


def backtest_origins(n: int, horizon: int, origins: int, step: int) -> list[int]:
    """k origins ``step`` apart, the last forecasting the final ``horizon`` steps of n."""
    return [n - horizon - step * (origins - 1 - k) for k in range(origins)]


Method = Callable[[Series], tuple[np.ndarray, np.ndarray | None, np.ndarray | None, str]]


def _rolling(
    series: Series, origins: list[int], horizon: int, m: int, methods: dict[str, Method]
) -> BacktestResult:
    result = BacktestResult(series, horizon, m, origins)
    for method, forecast in methods.items():
        start = time.perf_counter()
        for o in origins:
            history = series.head(o)
            actual = series.values[o : o + horizon]
            point, lower, upper, detail = forecast(history)
            scores = forecast_scores(actual, point, history.values, m, lower, upper)
            result.forecasts.append(
                OriginForecast(
                    method, o, series.timestamps[o : o + horizon], actual, point, lower, upper, scores, detail
                )
            )
        result.seconds[method] = time.perf_counter() - start
    return result


def _baseline_methods(names: Sequence[str], horizon: int, m: int, interval: float) -> dict[str, Method]:
    for name in names:
        if name not in BASELINES:
            raise ValueError(f"unknown baseline {name!r}; known: {', '.join(BASELINES)}")

    def method(name: str) -> Method:
        def run(history: Series):
            f = baseline_forecast(name, history.values, horizon, m, interval)
            return f.point, f.lower, f.upper, f.model

        return run

    return {name: method(name) for name in names}


def _check_origins(series: Series, origins: list[int], need: int, what: str) -> None:
    if origins[0] < need:
        raise ValueError(
            f"series {series.name!r} has {len(series)} steps; its first backtest origin would be step "
            f"{origins[0] + 1}, but {what} needs {need} steps of history; use fewer origins, a smaller "
            "step, a shorter lookback or horizon"
        )


def _ensemble(forecasts: list[SeriesForecast]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The mean of the members' points and interval bounds (quantile averaging)."""
    point = np.mean([f.point for f in forecasts], axis=0)
    if forecasts[0].lower is None:
        return point, None, None
    lower = np.mean([f.lower for f in forecasts], axis=0)
    upper = np.mean([f.upper for f in forecasts], axis=0)
    return point, lower, upper


def backtest(
    series: Series,
    config: ForecasterConfig,
    train_config: TrainConfig,
    *,
    origins: int = 4,
    step: int | None = None,
    seasonal_period: int | None = None,
    baselines: Sequence[str] = BASELINES,
    seeds: Sequence[int] = (0,),
    validation_windows: int = 1,
    stride: int = 1,
    batch_size: int = 32,
) -> BacktestResult:
    """Rolling-origin backtest of the recurrent forecaster (retrained per origin) and the baselines.

    ``step``: steps between origins (default: the horizon, so the test windows tile the series' end).
    ``seeds``: train one model per seed at each origin and average their forecasts (an ensemble).
    Training runs go to temporary folders under ``train_config.out_dir``'s parent, removed afterwards.
    """
    h = config.horizon
    m = seasonal_period or seasonal_period_of(series)
    positions = backtest_origins(len(series), h, origins, step or h)
    need = config.lookback + h + (validation_windows + h - 1 if validation_windows else 0)
    _check_origins(
        series, positions, max(need, m + 1), f"lookback {config.lookback} + horizon {h} + validation"
    )
    if not seeds:
        raise ValueError("backtest: expected at least one seed")

    def model_method(history: Series):
        members = []
        with tempfile.TemporaryDirectory(prefix="seqlab-backtest-") as tmp:
            for seed in seeds:
                run_config = replace(train_config, seed=seed, out_dir=Path(tmp) / f"o{len(history)}-s{seed}")
                model, _ = train_on_series(
                    [history],
                    config,
                    run_config,
                    validation_windows=validation_windows,
                    stride=stride,
                    batch_size=batch_size,
                )
                members.append(model.predict([history])[0])
        point, lower, upper = _ensemble(members)
        return point, lower, upper, f"{config.recurrence}×{len(seeds)}"

    methods = {MODEL: model_method, **_baseline_methods(baselines, h, m, config.interval)}
    return _rolling(series, positions, h, m, methods)


def evaluate_forecaster(
    model: Forecaster,
    series: Sequence[Series],
    *,
    origins: int = 1,
    step: int | None = None,
    seasonal_period: int | None = None,
    baselines: Sequence[str] = BASELINES,
) -> dict[str, Any]:
    """Scores of a trained model (not retrained) and of the baselines at the last ``origins`` origins.

    The model must not have seen the evaluated steps: evaluate on the tail of a series it was trained
    without. Returns ``{"series": n, "origins": k, "scores": {method: {metric: mean}}, "per_series": …}``.
    """
    c = model.config
    per_series = {}
    collected: dict[str, list[dict[str, float]]] = {}
    results = []
    for s in series:
        m = seasonal_period or seasonal_period_of(s)
        check_length(s, c.lookback, c.horizon, "evaluate_forecaster")
        positions = backtest_origins(len(s), c.horizon, origins, step or c.horizon)
        _check_origins(s, positions, max(c.lookback, m + 1), f"lookback {c.lookback}")

        def fixed(history: Series):
            f = model.predict([history])[0]
            return f.point, f.lower, f.upper, ""

        result = _rolling(
            s,
            positions,
            c.horizon,
            m,
            {MODEL: fixed, **_baseline_methods(baselines, c.horizon, m, c.interval)},
        )
        results.append(result)
        per_series[s.name] = result.scores()
        for f in result.forecasts:
            collected.setdefault(f.method, []).append(f.scores)
    scores = {
        method: {metric: float(np.mean([r[metric] for r in rows])) for metric in METRICS if metric in rows[0]}
        for method, rows in collected.items()
    }
    return {"series": len(series), "origins": origins, "scores": scores, "per_series": per_series}


# ------------------------------------------------------------------------------------------------ output
def forecast_frame(model: Forecaster, series: Sequence[Series]) -> Any:
    """A pandas DataFrame of the next h steps of every series: point forecast and interval columns.

    Columns: ``series_id``, ``timestamp``, ``forecast``, then ``lower_80`` / ``upper_80`` (for interval 0.8;
    not for point models), then ``q0.1`` … for quantile models.
    """
    import pandas as pd

    c = model.config
    level = f"{round(c.interval * 100):d}"
    frames = []
    for f in model.predict(series):
        columns: dict[str, Any] = {
            "series_id": [f.name] * len(f.point),
            "timestamp": f.timestamps,
            "forecast": f.point,
        }
        if f.lower is not None:
            columns[f"lower_{level}"] = f.lower
            columns[f"upper_{level}"] = f.upper
        for tau, values in (f.quantiles or {}).items():
            columns[f"q{tau:g}"] = values
        frames.append(pd.DataFrame(columns))
    return pd.concat(frames, ignore_index=True)


def write_forecast(frame: Any, path: str | Path) -> Path:
    """Write a ``forecast_frame`` as CSV (atomically)."""
    from seqlab.data._io import atomic_write_text

    atomic_write_text(path, frame.to_csv(index=False, date_format="%Y-%m-%d %H:%M:%S"))
    return Path(path)


def plot_forecast(
    series: Series,
    forecast: SeriesForecast,
    path: str | Path,
    *,
    interval: float = 0.8,
    history: int | None = None,
) -> Path:
    """Draw a series (its last ``history`` steps), its forecast and the interval band as a PNG."""
    from seqlab.plots import forecast_plot

    n = len(series) if history is None else min(history, len(series))
    return forecast_plot(
        series.timestamps[-n:],
        series.values[-n:],
        path,
        forecasts=[("forecast", forecast.timestamps, forecast.point, forecast.lower, forecast.upper)],
        interval=interval,
        title=f"{series.name}: {len(forecast.point)}-step forecast",
    )


def plot_backtest(
    result: BacktestResult, path: str | Path, *, methods: Sequence[str] = (MODEL,), interval: float = 0.8
) -> Path:
    """Draw the series from a little before the first origin, every origin's forecast of ``methods``
    (with interval bands) as a PNG."""
    from seqlab.plots import forecast_plot

    s = result.series
    start = max(0, result.origins[0] - 3 * result.horizon)
    forecasts = [
        (f.method, f.timestamps, f.point, f.lower, f.upper) for f in result.forecasts if f.method in methods
    ]
    return forecast_plot(
        s.timestamps[start:],
        s.values[start:],
        path,
        forecasts=forecasts,
        interval=interval,
        title=f"{s.name}: backtest, {len(result.origins)} origins, horizon {result.horizon}",
    )
