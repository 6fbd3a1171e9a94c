"""Classical forecasts to measure the recurrent forecaster against, with prediction intervals.

Every baseline sees the history y_1 … y_n only and returns h point forecasts and an interval of nominal
coverage ``interval`` (0.8: the 10% and 90% quantiles of a normal forecast distribution):

- ``naive``: ŷ_{n+j} = y_n; σ_j = σ̂ √j, σ̂ the RMS of the one-step differences y_t − y_{t−1}.
- ``seasonal_naive``: ŷ_{n+j} = y_{n+j−m·(⌊(j−1)/m⌋+1)} (the same season last cycle);
  σ_j = σ̂ √(⌊(j−1)/m⌋ + 1), σ̂ the RMS of y_t − y_{t−m} (Hyndman & Athanasopoulos, FPP3 §5.5).
- ``ets``: exponential smoothing state-space models (statsmodels ``ETSModel``), chosen by AICc over
  error ∈ {add, mul}, trend ∈ {none, add, damped add}, season ∈ {none, add, mul} (multiplicative parts
  only for positive series, seasonal ones only with m > 1 and two full cycles of history). Intervals are
  analytic for additive errors and simulated (1,000 paths, seeded) for multiplicative ones.
- ``arima``: seasonal ARIMA (statsmodels ``ARIMA``) with orders chosen the way ``auto.arima`` does, on a
  small grid: D = 1 when the STL seasonal strength F_s = 1 − Var(R)/Var(S + R) exceeds 0.64 (m > 1),
  d ∈ {0, 1, 2} by KPSS tests at 5% on the (seasonally) differenced series, then (p, q) ∈ {0, 1, 2}² and,
  seasonal, (P, Q) ∈ {(0, 0), (0, 1), (1, 0)} by AICc; a constant when d + D = 0, a drift when it is 1.
  Seasonal periods above ``FOURIER_ABOVE`` (weekly data, m = 52) take FPP3's dynamic harmonic regression
  instead (§12.1): a seasonal ARIMA at m = 52 carries a state of 50+ dimensions and ran for minutes per
  fit, so the season is K Fourier pairs sin(2πkt/m), cos(2πkt/m), k = 1 … K, as regressors with ARIMA(p,
  d, q) errors; d by KPSS on the residuals of the Fourier regression, then K ∈ {1, 2, 3} and (p, q) by AICc.

Fitting warnings of statsmodels (convergence, starting values) are silenced inside the fits: a grid
search meets them by design, and the AICc comparison discards the poor fits.
"""

from __future__ import annotations

import math
import warnings
from statistics import NormalDist
from typing import NamedTuple

import numpy as np

__all__ = [
    "BASELINES",
    "BaselineForecast",
    "arima",
    "baseline_forecast",
    "ets",
    "fourier_terms",
    "naive",
    "seasonal_naive",
]

BASELINES = ("naive", "seasonal_naive", "ets", "arima")
FOURIER_ABOVE = 24  # seasonal periods longer than this: Fourier terms instead of seasonal ARIMA orders
FOURIER_K = (1, 2, 3)


class BaselineForecast(NamedTuple):
    point: np.ndarray  # (h,)
    lower: np.ndarray  # (h,)
    upper: np.ndarray  # (h,)
    model: str  # what was fitted, e.g. "ETS(M,Ad,M)" or "ARIMA(1,1,1)(0,1,1)[12]"


def _z(interval: float) -> float:
    return NormalDist().inv_cdf((1.0 + interval) / 2.0)


def _history(y: np.ndarray, need: int, name: str) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if len(y) < need:
        raise ValueError(f"{name}: expected a history of at least {need} values, got {len(y)}")
    return y


def naive(y: np.ndarray, horizon: int, interval: float = 0.8) -> BaselineForecast:
    """The last value, with random-walk intervals."""
    y = _history(y, 2, "naive")
    sigma = math.sqrt(np.mean(np.diff(y) ** 2))
    j = np.arange(1, horizon + 1)
    point = np.full(horizon, y[-1])
    width = _z(interval) * sigma * np.sqrt(j)
    return BaselineForecast(point, point - width, point + width, "naive")


def seasonal_naive(y: np.ndarray, horizon: int, m: int, interval: float = 0.8) -> BaselineForecast:
    """The value one season earlier, with seasonal random-walk intervals."""
    y = _history(y, m + 1, "seasonal_naive")
    sigma = math.sqrt(np.mean((y[m:] - y[:-m]) ** 2))
    j = np.arange(1, horizon + 1)
    k = (j - 1) // m  # whole seasons past the first
    point = y[len(y) - m + (j - 1) % m]
    width = _z(interval) * sigma * np.sqrt(k + 1)
    return BaselineForecast(point.astype(np.float64), point - width, point + width, f"snaive[{m}]")


def ets(y: np.ndarray, horizon: int, m: int, interval: float = 0.8, seed: int = 0) -> BaselineForecast:
    """The ETS model with the lowest AICc on the grid of the module docstring."""
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = _history(y, 4, "ets")
    series = pd.Series(y)  # statsmodels 0.15's simulated intervals need a pandas input
    positive = bool((y > 0).all())
    seasons = [None]
    if m > 1 and len(y) >= 2 * m + 2:
        seasons += ["add", "mul"] if positive else ["add"]
    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for error in ("add", "mul") if positive else ("add",):
            for trend, damped in ((None, False), ("add", False), ("add", True)):
                for season in seasons:
                    try:
                        fit = ETSModel(
                            series,
                            error=error,
                            trend=trend,
                            damped_trend=damped,
                            seasonal=season,
                            seasonal_periods=m if season else None,
                        ).fit(disp=False)
                    except (ValueError, np.linalg.LinAlgError):
                        continue
                    if np.isfinite(fit.aicc) and (best is None or fit.aicc < best[0]):
                        name = f"ETS({error[0].upper()},{_trend(trend, damped)},{(season or 'n')[0].upper()})"
                        best = (fit.aicc, fit, name)
        if best is None:
            raise ValueError("ets: no ETS model could be fitted to the history")
        _, fit, name = best
        n = len(y)
        kwargs = {"simulate_repetitions": 1000, "rng": np.random.default_rng(seed)} if "M" in name else {}
        frame = fit.get_prediction(start=n, end=n + horizon - 1, **kwargs).summary_frame(alpha=1 - interval)
    point = frame["mean"].to_numpy(dtype=np.float64)
    lower = np.minimum(frame["pi_lower"].to_numpy(dtype=np.float64), point)
    upper = np.maximum(frame["pi_upper"].to_numpy(dtype=np.float64), point)
    return BaselineForecast(point, lower, upper, name)


def _trend(trend: str | None, damped: bool) -> str:
    return "N" if trend is None else ("Ad" if damped else "A")


def _seasonal_strength(y: np.ndarray, m: int) -> float:
    from statsmodels.tsa.seasonal import STL

    fit = STL(y, period=m).fit()
    remainder, seasonal = fit.resid, fit.seasonal
    total = np.var(seasonal + remainder)
    return 0.0 if total == 0 else max(0.0, 1.0 - np.var(remainder) / total)


def _kpss_differences(y: np.ndarray, max_d: int = 2) -> int:
    from statsmodels.tsa.stattools import kpss

    d = 0
    while d < max_d and len(y) > 10:
        if np.ptp(y) == 0:
            break
        p_value = kpss(y, regression="c", nlags="auto")[1]
        if p_value >= 0.05:
            break
        y = np.diff(y)
        d += 1
    return d


def arima(y: np.ndarray, horizon: int, m: int, interval: float = 0.8) -> BaselineForecast:
    """The seasonal ARIMA with the lowest AICc on the grid of the module docstring."""
    from statsmodels.tsa.arima.model import ARIMA

    y = _history(y, 8, "arima")
    if m > FOURIER_ABOVE and len(y) >= 2 * m:
        return _harmonic_arima(y, horizon, m, interval)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seasonal = m > 1 and len(y) >= 2 * m + 2 and _seasonal_strength(y, m) > 0.64
        D = 1 if seasonal else 0
        differenced = y[m:] - y[:-m] if D else y
        d = _kpss_differences(differenced)
        trend = {0: "c", 1: "t"}.get(d + D, "n")
        seasonal_orders = [(0, 0), (0, 1), (1, 0)] if seasonal else [(0, 0)]
        best = None
        for p in range(3):
            for q in range(3):
                for P, Q in seasonal_orders:
                    order, s_order = (p, d, q), (P, D, Q, m if seasonal else 0)
                    try:
                        fit = ARIMA(y, order=order, seasonal_order=s_order, trend=trend).fit()
                    except (ValueError, np.linalg.LinAlgError):
                        continue
                    if np.isfinite(fit.aicc) and (best is None or fit.aicc < best[0]):
                        best = (fit.aicc, fit, order, s_order)
        if best is None:
            raise ValueError("arima: no ARIMA model could be fitted to the history")
        _, fit, order, s_order = best
        forecast = fit.get_forecast(horizon)
        point = np.asarray(forecast.predicted_mean, dtype=np.float64)
        bounds = np.asarray(forecast.conf_int(alpha=1 - interval), dtype=np.float64)
    name = f"ARIMA{order}" + (f"({s_order[0]},{s_order[1]},{s_order[2]})[{m}]" if seasonal else "")
    return BaselineForecast(point, bounds[:, 0], bounds[:, 1], name.replace(" ", ""))


def fourier_terms(t: np.ndarray, m: float, K: int) -> np.ndarray:
    """(len(t), 2K): sin(2πkt/m), cos(2πkt/m) for k = 1 … K."""
    angle = 2 * np.pi * np.outer(t, np.arange(1, K + 1)) / m
    return np.concatenate([np.sin(angle), np.cos(angle)], axis=1)


def _harmonic_arima(y: np.ndarray, horizon: int, m: int, interval: float) -> BaselineForecast:
    """ARIMA(p, d, q) errors around K Fourier pairs of period m, K and (p, q) by AICc."""
    from statsmodels.tsa.arima.model import ARIMA

    n = len(y)
    t = np.arange(n + horizon, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = np.column_stack([np.ones(n), fourier_terms(t[:n], m, max(FOURIER_K))])
        residual = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
        d = _kpss_differences(residual)
        trend = {0: "c", 1: "t"}.get(d, "n")
        best = None
        for K in FOURIER_K:
            exog = fourier_terms(t[:n], m, K)
            for p in range(3):
                for q in range(3):
                    try:
                        fit = ARIMA(y, exog=exog, order=(p, d, q), trend=trend).fit()
                    except (ValueError, np.linalg.LinAlgError):
                        continue
                    if np.isfinite(fit.aicc) and (best is None or fit.aicc < best[0]):
                        best = (fit.aicc, fit, K, (p, d, q))
        if best is None:
            raise ValueError("arima: no ARIMA model could be fitted to the history")
        _, fit, K, order = best
        forecast = fit.get_forecast(horizon, exog=fourier_terms(t[n:], m, K))
        point = np.asarray(forecast.predicted_mean, dtype=np.float64)
        bounds = np.asarray(forecast.conf_int(alpha=1 - interval), dtype=np.float64)
    name = f"ARIMA{order}+Fourier[{m}]x{K}".replace(" ", "")
    return BaselineForecast(point, bounds[:, 0], bounds[:, 1], name)


def baseline_forecast(
    name: str, y: np.ndarray, horizon: int, m: int, interval: float = 0.8, seed: int = 0
) -> BaselineForecast:
    """Forecast ``horizon`` steps after history ``y`` with the baseline called ``name``."""
    if name == "naive":
        return naive(y, horizon, interval)
    if name == "seasonal_naive":
        return seasonal_naive(y, horizon, m, interval)
    if name == "ets":
        return ets(y, horizon, m, interval, seed)
    if name == "arima":
        return arima(y, horizon, m, interval)
    raise ValueError(f"unknown baseline {name!r}; known: {', '.join(BASELINES)}")
