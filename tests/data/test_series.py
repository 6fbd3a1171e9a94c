"""Series files (long and wide), the frequency, gap and NaN policies, bundled series, calendar features."""

from __future__ import annotations

import numpy as np
import pytest

from seqlab.data.series import (
    SERIES_CORPORA,
    bundled_series,
    calendar_features,
    check_length,
    future_timestamps,
    read_series,
)


def write(tmp_path, text: str, name: str = "series.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


LONG = """timestamp,series_id,value,temp
2020-01-01,a,1.0,10
2020-02-01,a,2.0,11
2020-03-01,a,3.0,12
2020-01-01,b,5.0,0
2020-02-01,b,6.0,1
2020-03-01,b,7.0,2
"""


def test_long_layout_with_covariates_and_inferred_frequency(tmp_path):
    a, b = read_series(write(tmp_path, LONG), covariates=("temp",))
    assert (a.name, b.name) == ("a", "b") and a.freq == "MS"
    np.testing.assert_array_equal(a.values, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(b.covariates[:, 0], [0.0, 1.0, 2.0])
    assert a.covariate_names == ("temp",) and list(b.lines) == [5, 6, 7]


def test_wide_layout_one_column_per_series(tmp_path):
    path = write(tmp_path, "timestamp,x,y\n2021-01-04,1,4\n2021-01-05,2,5\n2021-01-06,3,6\n")
    x, y = read_series(path)
    assert (x.name, y.name, x.freq) == ("x", "y", "D")
    np.testing.assert_array_equal(y.values, [4.0, 5.0, 6.0])
    assert str(future_timestamps(x, 2)[-1].date()) == "2021-01-08"


def test_given_frequency_overrides_inference(tmp_path):
    path = write(tmp_path, "timestamp,value\n2021-01-02,1\n2021-01-09,2\n")  # two points: cannot infer
    (s,) = read_series(path, freq="W-SAT")
    assert s.freq == "W-SAT" and len(s) == 2


# --------------------------------------------------------------------------------------------- bad input
def test_nan_error_names_the_rows(tmp_path):
    path = write(tmp_path, "timestamp,value\n2020-01-01,1\n2020-01-02,\n2020-01-03,3\n2020-01-04,nan\n")
    with pytest.raises(
        ValueError,
        match=r"2 missing value\(s\) at 2020-01-02T00:00:00 \(.*series.csv:3\), "
        r"2020-01-04T00:00:00 \(.*series.csv:5\).*nan='interpolate'",
    ):
        read_series(path)


def test_nan_interpolate_and_drop(tmp_path):
    path = write(tmp_path, "timestamp,value\n2020-01-01,\n2020-01-02,2\n2020-01-03,\n2020-01-04,6\n")
    (s,) = read_series(path, nan="interpolate")
    np.testing.assert_array_equal(s.values, [2.0, 2.0, 4.0, 6.0])  # nearest at the start, linear inside
    (s,) = read_series(path, nan="drop", freq="D")
    np.testing.assert_array_equal(s.values, [2.0, 6.0])
    assert list(s.lines) == [3, 5]


def test_duplicate_timestamps_are_named(tmp_path):
    path = write(tmp_path, "timestamp,value\n2020-01-01,1\n2020-01-02,2\n2020-01-02,3\n")
    with pytest.raises(
        ValueError, match=r"duplicate timestamps 2020-01-02T00:00:00 \(.*:3\), 2020-01-02T00:00:00 \(.*:4\)"
    ):
        read_series(path)


def test_decreasing_timestamps_are_named(tmp_path):
    path = write(tmp_path, "timestamp,value\n2020-01-01,1\n2020-01-03,2\n2020-01-02,3\n2020-01-04,4\n")
    with pytest.raises(ValueError, match=r"not increasing: 2020-01-02T00:00:00 \(.*:4\) after 2020-01-03"):
        read_series(path)


def test_gaps_error_names_missing_timestamps_and_fill_inserts_them(tmp_path):
    path = write(tmp_path, "timestamp,value\n2020-01-01,1\n2020-01-02,2\n2020-01-04,4\n2020-01-05,5\n")
    with pytest.raises(ValueError, match=r"1 gap\(s\).*2020-01-03T00:00:00 are missing.*gaps='fill'"):
        read_series(path, freq="D")
    with pytest.raises(ValueError, match=r"2020-01-03T00:00:00 \(a filled gap\)"):
        read_series(path, freq="D", gaps="fill")
    (s,) = read_series(path, freq="D", gaps="fill", nan="interpolate")
    np.testing.assert_array_equal(s.values, [1.0, 2.0, 3.0, 4.0, 5.0])


def test_unknown_frequency_string(tmp_path):
    with pytest.raises(ValueError, match=r"unknown frequency 'fortnightly'.*pandas offset alias"):
        read_series(write(tmp_path, LONG), freq="fortnightly")


def test_frequency_that_cannot_be_inferred(tmp_path):
    path = write(tmp_path, "timestamp,value\n2020-01-01,1\n2020-01-02,2\n2020-01-05,3\n2020-01-06,4\n")
    with pytest.raises(ValueError, match=r"cannot infer the frequency of series 'value'.*give the frequency"):
        read_series(path)


def test_timestamps_and_values_that_do_not_parse(tmp_path):
    path = write(tmp_path, "timestamp,value\n2020-01-01,1\nyesterday,2\n")
    with pytest.raises(ValueError, match=r"cannot read 1 timestamp.*'yesterday' \(.*:3\)"):
        read_series(path)
    path = write(tmp_path, "timestamp,value\n2020-01-01,1\n2020-01-02,many\n")
    with pytest.raises(ValueError, match=r"column 'value': expected numbers, got 'many' \(.*:3\)"):
        read_series(path)


def test_missing_columns_are_listed(tmp_path):
    with pytest.raises(ValueError, match=r"no timestamp column 'time'; the columns are"):
        read_series(write(tmp_path, LONG), timestamp_column="time")
    with pytest.raises(ValueError, match=r"no covariate column 'rain'"):
        read_series(write(tmp_path, LONG), covariates=("rain",))


def test_series_shorter_than_lookback_plus_horizon_gives_the_numbers(tmp_path):
    (a, _) = read_series(write(tmp_path, LONG))
    with pytest.raises(ValueError, match=r"has 3 steps, shorter than lookback 2 \+ horizon 2 = 4"):
        check_length(a, 2, 2)


# --------------------------------------------------------------------------------------------- bundled
@pytest.mark.parametrize(
    ("name", "length", "freq", "first"),
    [
        ("airline", 144, "MS", 112.0),
        ("lynx", 114, "YS-JAN", 269.0),
        ("shampoo", 36, "MS", 266.0),
        ("sunspots", 309, "YS-JAN", 5.0),
        ("co2", 2284, "W-SAT", 316.1),
        ("elec_equip", 257, "MS", 66.19),
    ],
)
def test_bundled_series_come_from_the_installed_packages(name, length, freq, first):
    s = bundled_series(name)
    assert (len(s), s.freq, s.values[0]) == (length, freq, first)
    assert np.isfinite(s.values).all()
    assert name in SERIES_CORPORA


def test_co2_has_missing_weeks_that_the_error_policy_reports():
    with pytest.raises(ValueError, match=r"series 'co2': 59 missing value\(s\)"):
        bundled_series("co2", nan="error")


def test_calendar_features_are_sin_cos_pairs_of_the_natural_cycle():
    import pandas as pd

    months = pd.date_range("2020-01-01", periods=13, freq="MS")
    features, names = calendar_features(months, "MS")
    assert names == ("month_sin", "month_cos") and features.shape == (13, 2)
    np.testing.assert_allclose(features[0], features[12], atol=1e-6)  # a year later: the same month
    np.testing.assert_allclose(features[3], [1.0, 0.0], atol=1e-6)  # April: a quarter of the way round
    assert calendar_features(pd.date_range("2000", periods=3, freq="YS"), "YS")[0].shape == (3, 0)
    assert calendar_features(pd.date_range("2000", periods=3, freq="h"), "h")[1][:2] == (
        "hour_sin",
        "hour_cos",
    )
