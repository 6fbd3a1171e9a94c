"""Point-forecast errors and interval coverage, for one forecast of h steps y_{n+1} … y_{n+h}.

With actuals y_t, forecasts ŷ_t and the in-sample history y_1 … y_n the forecast was made from::

    MAE   = (1/h) Σ |y_t − ŷ_t|
    RMSE  = √((1/h) Σ (y_t − ŷ_t)²)
    sMAPE = (200/h) Σ |y_t − ŷ_t| / (|y_t| + |ŷ_t|)              (M4's form, in percent, 0 … 200;
                                                                 a term with y_t = ŷ_t = 0 counts 0)
    MASE  = MAE / ((1/(n−m)) Σ_{t=m+1..n} |y_t − y_{t−m}|)      (Hyndman & Koehler 2006, seasonal m)
    coverage = (1/h) Σ [lower_t ≤ y_t ≤ upper_t]

MASE's denominator is the in-sample MAE of the seasonal naive forecast ŷ_t = y_{t−m} (the naive one for
m = 1), so MASE < 1 beats that one-step benchmark in-sample. A history that seasonal naive fits exactly
(e.g. a constant series) has a zero scale: MASE is then ``nan`` (undefined), not a division error.
A backtest averages each figure over its forecast origins.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["coverage", "forecast_scores", "mae", "mase", "rmse", "smape"]

ArrayLike = Sequence[float] | np.ndarray


def _pair(actual: ArrayLike, forecast: ArrayLike, name: str) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(actual, dtype=np.float64).reshape(-1)
    f = np.asarray(forecast, dtype=np.float64).reshape(-1)
    if y.shape != f.shape:
        raise ValueError(
            f"{name}: expected actuals and forecasts of the same length, got {len(y)} and {len(f)}"
        )
    if len(y) == 0:
        raise ValueError(f"{name}: expected at least one value, got none")
    if not (np.isfinite(y).all() and np.isfinite(f).all()):
        raise ValueError(f"{name}: actuals and forecasts must be finite numbers (no NaN or inf)")
    return y, f


def mae(actual: ArrayLike, forecast: ArrayLike) -> float:
    """Mean absolute error."""
    y, f = _pair(actual, forecast, "mae")
    return float(np.mean(np.abs(y - f)))


def rmse(actual: ArrayLike, forecast: ArrayLike) -> float:
    """Root mean squared error."""
    y, f = _pair(actual, forecast, "rmse")
    return float(np.sqrt(np.mean((y - f) ** 2)))


def smape(actual: ArrayLike, forecast: ArrayLike) -> float:
    """Symmetric MAPE as in the M4 competition, in percent (0 … 200)."""
    y, f = _pair(actual, forecast, "smape")
    denominator = np.abs(y) + np.abs(f)
    terms = np.divide(np.abs(y - f), denominator, out=np.zeros_like(y), where=denominator > 0)
    return float(200.0 * np.mean(terms))


def mase(actual: ArrayLike, forecast: ArrayLike, insample: ArrayLike, seasonal_period: int = 1) -> float:
    """Mean absolute scaled error with the in-sample seasonal naive MAE as the scale (nan if it is 0)."""
    y, f = _pair(actual, forecast, "mase")
    history = np.asarray(insample, dtype=np.float64).reshape(-1)
    m = seasonal_period
    if isinstance(m, bool) or not isinstance(m, int) or m < 1:
        raise ValueError(f"mase: expected seasonal_period to be a positive integer, got {m!r}")
    if len(history) <= m:
        raise ValueError(
            f"mase: the in-sample history has {len(history)} values; the seasonal naive scale with "
            f"seasonal_period {m} needs more than {m}"
        )
    scale = float(np.mean(np.abs(history[m:] - history[:-m])))
    if scale == 0.0:
        return math.nan
    return float(np.mean(np.abs(y - f))) / scale


def coverage(actual: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> float:
    """The share of actuals inside [lower, upper] (bounds included)."""
    y, lo = _pair(actual, lower, "coverage")
    _, hi = _pair(actual, upper, "coverage")
    if (lo > hi).any():
        k = int(np.flatnonzero(lo > hi)[0])
        raise ValueError(f"coverage: lower bound {lo[k]} above upper bound {hi[k]} at step {k + 1}")
    return float(np.mean((lo <= y) & (y <= hi)))


def forecast_scores(
    actual: ArrayLike,
    forecast: ArrayLike,
    insample: ArrayLike,
    seasonal_period: int = 1,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
) -> dict[str, float]:
    """MAE, RMSE, sMAPE, MASE and (with bounds) coverage of one forecast, as a dict."""
    scores = {
        "mae": mae(actual, forecast),
        "rmse": rmse(actual, forecast),
        "smape": smape(actual, forecast),
        "mase": mase(actual, forecast, insample, seasonal_period),
    }
    if lower is not None and upper is not None:
        scores["coverage"] = coverage(actual, lower, upper)
    return scores
