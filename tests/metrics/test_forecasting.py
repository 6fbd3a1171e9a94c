"""Forecast metrics against answers worked out by hand."""

from __future__ import annotations

import math

import pytest

from seqlab.metrics import coverage, forecast_scores, mae, mase, rmse, smape


def test_mae_and_rmse_by_hand():
    y, f = [1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 1.0, 4.0]  # errors −1, 0, 2, 0
    assert mae(y, f) == pytest.approx(3 / 4)
    assert rmse(y, f) == pytest.approx(math.sqrt(5 / 4))


def test_smape_is_m4s_form_in_percent():
    # 200/h Σ |y − f| / (|y| + |f|): (|100 − 110| / 210 + |50 − 40| / 90) · 100
    assert smape([100.0, 50.0], [110.0, 40.0]) == pytest.approx(100 * (10 / 210 + 10 / 90))
    assert smape([0.0, 2.0], [0.0, 2.0]) == 0.0  # 0/0 counts as no error
    assert smape([1.0], [-1.0]) == pytest.approx(200.0)  # the maximum


def test_mase_uses_the_in_sample_seasonal_naive_scale():
    history = [1.0, 2.0, 3.0, 5.0, 6.0, 7.0]  # m = 3: |5−1|, |6−2|, |7−3| → scale 4
    assert mase([9.0, 9.0], [8.0, 11.0], history, seasonal_period=3) == pytest.approx(1.5 / 4)
    # m = 1: one-step differences 1, 1, 2, 1, 1 → scale 6/5
    assert mase([9.0], [8.0], history) == pytest.approx(1 / (6 / 5))


def test_mase_of_a_constant_history_is_nan_not_a_division_error():
    assert math.isnan(mase([5.0, 5.0], [5.0, 6.0], [5.0, 5.0, 5.0], seasonal_period=1))


def test_coverage_counts_bounds_as_inside():
    assert coverage([1.0, 2.0, 3.0, 4.0], [1.0, 0.0, 3.5, 0.0], [2.0, 1.0, 4.0, 4.0]) == pytest.approx(0.5)


def test_forecast_scores_bundles_every_metric():
    scores = forecast_scores([2.0, 4.0], [2.0, 2.0], [1.0, 2.0, 3.0], 1, lower=[1.0, 1.0], upper=[3.0, 3.0])
    assert scores == pytest.approx(
        {"mae": 1.0, "rmse": math.sqrt(2.0), "smape": 100 * (2 / 6), "mase": 1.0, "coverage": 0.5}
    )


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: mae([1.0, 2.0], [1.0]), "same length, got 2 and 1"),
        (lambda: rmse([], []), "at least one value"),
        (lambda: smape([math.nan], [1.0]), "finite"),
        (lambda: mase([1.0], [1.0], [1.0, 2.0], seasonal_period=2), "needs more than 2"),
        (lambda: mase([1.0], [1.0], [1.0, 2.0, 3.0], seasonal_period=0), "positive integer"),
        (lambda: coverage([1.0], [2.0], [1.0]), "lower bound 2.0 above upper bound 1.0 at step 1"),
    ],
)
def test_bad_inputs_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()
