"""Time series for forecasting: CSV/Parquet files in long or wide layout, and bundled real series.

A ``Series`` is one regularly spaced, gap-free, NaN-free sequence of real values y_1 … y_T with its
timestamps, its pandas frequency and, optionally, past covariates (T, C). Readers return lists of them
and check, in this order, naming the file line (``path:line``), series and timestamp of each problem:

1. timestamps parse, and no series has a duplicate or a decreasing timestamp (an error, never sorted
   silently — an unsorted file usually means a wrong column or a concatenation mistake);
2. the frequency: given (``freq="MS"``, any pandas offset alias) or inferred with ``pandas.infer_freq``;
   an unknown alias or a series whose frequency cannot be inferred is an error;
3. gaps, i.e. timestamps missing from the regular grid: ``gaps="error"`` (default) names them,
   ``gaps="fill"`` inserts them as missing values, which the NaN policy then handles;
4. missing values (empty cells, NaN): ``nan="error"`` (default) names the rows, ``nan="interpolate"``
   fills them linearly between neighbours (leading / trailing ones take the nearest value),
   ``nan="drop"`` removes those rows (the series is then read as consecutive steps).

Layouts (``layout="auto"`` picks long when the id or value column exists)::

    long:  timestamp,series_id,value[,covariate …]     wide:  timestamp,a,b,c
           2020-01-01,a,1.5,0.2                                2020-01-01,1.5,3.0,0.1
           2020-01-01,b,3.0,0.7                                2020-02-01,1.7,2.9,0.4

Bundled series (read from the files the installed packages ship; nothing is downloaded or committed):

=============  ======================  ==========  ========  ======  ===============================
name           package                 steps       freq      period  what
=============  ======================  ==========  ========  ======  ===============================
``airline``    sktime==1.2.0 (no-deps)  144        MS        12      airline passengers 1949–1960
``lynx``       sktime                   114        YS        10      Canadian lynx trappings 1821–1934
``shampoo``    sktime                   36         MS        12      shampoo sales, 3 years
``sunspots``   statsmodels              309        YS        11      yearly sunspot activity 1700–2008
``co2``        statsmodels              2284       W-SAT     52      Mauna Loa CO₂, 59 missing weeks
``elec_equip`` statsmodels              257        MS        12      euro-area electrical equipment
=============  ======================  ==========  ========  ======  ===============================

The period is the seasonal period m used by MASE and the seasonal baselines (for the yearly sunspots and
lynx, their approximate cycle lengths of 11 and 10 years). ``co2``'s missing weeks are interpolated by
default (``nan="interpolate"``).

``calendar_features`` derives sin/cos encodings of the position in the year, week or day from the
timestamps, the features an encoder can read next to the values.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from seqlab.data.classification import _package_file

__all__ = [
    "GAP_POLICIES",
    "NAN_POLICIES",
    "SEASONAL_PERIODS",
    "SERIES_CORPORA",
    "SERIES_FORMATS",
    "SERIES_LAYOUTS",
    "Series",
    "bundled_series",
    "calendar_features",
    "check_frequency",
    "check_length",
    "default_seasonal_period",
    "future_timestamps",
    "make_series",
    "read_series",
]

NAN_POLICIES = ("error", "interpolate", "drop")
GAP_POLICIES = ("error", "fill")
SERIES_LAYOUTS = ("auto", "long", "wide")
SERIES_FORMATS = ("auto", "csv", "parquet")
SKTIME = "pip install --no-deps sktime==1.2.0"
STATSMODELS = "pip install 'seqlab[forecast]'"

# name: (package, file inside it, install hint, frequency, seasonal period)
SERIES_CORPORA: dict[str, tuple[str, str, str, str, int]] = {
    "airline": ("sktime", "datasets/data/Airline/Airline.csv", SKTIME, "MS", 12),
    "lynx": ("sktime", "datasets/data/Lynx/Lynx.csv", SKTIME, "YS", 10),
    "shampoo": ("sktime", "datasets/data/ShampooSales/ShampooSales.csv", SKTIME, "MS", 12),
    "sunspots": ("statsmodels", "datasets/sunspots/sunspots.csv", STATSMODELS, "YS", 11),
    "co2": ("statsmodels", "datasets/co2/co2.csv", STATSMODELS, "W-SAT", 52),
    "elec_equip": ("statsmodels", "datasets/elec_equip/elec_equip.csv", STATSMODELS, "MS", 12),
}
SEASONAL_PERIODS = {name: spec[4] for name, spec in SERIES_CORPORA.items()}
_SHOWN = 5  # how many bad rows / timestamps an error message lists


@dataclass(frozen=True, eq=False)
class Series:
    """One regular series: values y_1 … y_T at ``timestamps``, optional past covariates (T, C)."""

    name: str
    timestamps: Any  # pandas.DatetimeIndex, length T, on the grid of ``freq``
    values: np.ndarray  # (T,) float64
    freq: str  # a pandas offset alias, e.g. "MS", "W-SAT", "YS-JAN", "h"
    covariates: np.ndarray | None = None  # (T, C) float64, or None
    covariate_names: tuple[str, ...] = ()
    origin: str = ""  # the file or bundled corpus it came from
    lines: np.ndarray | None = field(default=None, repr=False)  # (T,) file line of each step, if known

    def __len__(self) -> int:
        return len(self.values)

    def head(self, n: int) -> Series:
        """The first ``n`` steps (the history a backtest origin sees)."""
        if not 1 <= n <= len(self):
            raise ValueError(f"Series.head: expected 1 ≤ n ≤ {len(self)}, got {n}")
        cov = None if self.covariates is None else self.covariates[:n]
        lines = None if self.lines is None else self.lines[:n]
        return replace(
            self, timestamps=self.timestamps[:n], values=self.values[:n], covariates=cov, lines=lines
        )


# ------------------------------------------------------------------------------------------------ checks
def check_frequency(freq: str, where: str = "") -> str:
    """A pandas offset alias as its canonical string (``"W"`` → ``"W-SUN"``); unknown ones are an error."""
    from pandas.tseries.frequencies import to_offset

    prefix = f"{where}: " if where else ""
    if not isinstance(freq, str) or not freq:
        raise ValueError(f"{prefix}expected a frequency string such as 'D', 'W-SAT', 'MS', got {freq!r}")
    try:
        return to_offset(freq).freqstr
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"{prefix}unknown frequency {freq!r} ({_first_line(err)}); expected a pandas offset alias such "
            "as 'h' (hourly), 'D' (daily), 'W-SAT' (weekly), 'MS' (month start), 'QS' or 'YS'"
        ) from None


def check_length(series: Series, lookback: int, horizon: int, where: str = "") -> None:
    """A series must hold at least one window of ``lookback`` + ``horizon`` steps."""
    need = lookback + horizon
    if len(series) < need:
        prefix = f"{where}: " if where else ""
        raise ValueError(
            f"{prefix}series {series.name!r} ({series.origin}) has {len(series)} steps, shorter than "
            f"lookback {lookback} + horizon {horizon} = {need}; use a shorter lookback or horizon"
        )


def default_seasonal_period(freq: str) -> int:
    """The usual seasonal period m of a frequency: 12 for monthly, 52 weekly, 7 daily, 24 hourly, 1 yearly."""
    kind = _freq_kind(freq)
    return {"year": 1, "quarter": 4, "month": 12, "week": 52, "day": 7, "bday": 5, "hour": 24}.get(kind, 1)


def _freq_kind(freq: str) -> str:
    from pandas.tseries.frequencies import to_offset

    code = to_offset(freq).rule_code.split("-")[0]
    if code in ("YS", "YE", "BYS", "BYE", "Y", "A", "AS"):
        return "year"
    if code in ("QS", "QE", "BQS", "BQE", "Q"):
        return "quarter"
    if code in ("MS", "ME", "BMS", "BME", "SMS", "SME", "CBMS", "CBME"):
        return "month"
    if code == "W":
        return "week"
    if code == "D":
        return "day"
    if code in ("B", "C"):
        return "bday"
    return "hour"  # h, min, s, ms, us, ns


def _first_line(err: BaseException) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _infer_frequency(timestamps: Any) -> str | None:
    """``pandas.infer_freq`` as a string, without pandas 3's FutureWarning about its return type."""
    import pandas as pd

    if len(timestamps) < 3:
        return None
    try:
        with pd.option_context("future.infer_freq_returns_offset", True):
            inferred = pd.infer_freq(timestamps)
    except (KeyError, pd.errors.OptionError):  # pandas < 3: a string, no such option
        inferred = pd.infer_freq(timestamps)
    if inferred is None:
        return None
    return inferred if isinstance(inferred, str) else inferred.freqstr


# ------------------------------------------------------------------------------------------------ building
def _where(origin: str, lines: np.ndarray | None, k: int) -> str:
    return f"{origin}:{lines[k]}" if lines is not None else f"{origin}: row {k + 1}"


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def make_series(
    name: str,
    timestamps: Any,
    values: Any,
    *,
    covariates: Any = None,
    covariate_names: Sequence[str] = (),
    freq: str | None = None,
    nan: str = "error",
    gaps: str = "error",
    origin: str = "",
    lines: Sequence[int] | None = None,
) -> Series:
    """Check and regularise one series (see the module docstring for the order of the checks)."""
    import pandas as pd

    if nan not in NAN_POLICIES:
        raise ValueError(f"unknown nan policy {nan!r}; known: {', '.join(NAN_POLICIES)}")
    if gaps not in GAP_POLICIES:
        raise ValueError(f"unknown gaps policy {gaps!r}; known: {', '.join(GAP_POLICIES)}")
    name = str(name)
    origin = origin or name
    ts = pd.DatetimeIndex(timestamps)
    y = np.asarray(values, dtype=np.float64).reshape(-1)
    line_no = None if lines is None else np.asarray(lines, dtype=np.int64)
    cov = None if covariates is None else np.asarray(covariates, dtype=np.float64).reshape(len(y), -1)
    if len(ts) != len(y):
        raise ValueError(f"{origin}: series {name!r} has {len(ts)} timestamps but {len(y)} values")
    if len(y) == 0:
        raise ValueError(f"{origin}: series {name!r} has no values")
    # 1. duplicates and order
    duplicated = np.flatnonzero(ts.duplicated(keep=False))
    if len(duplicated):
        shown = [f"{ts[k].isoformat()} ({_where(origin, line_no, k)})" for k in duplicated]
        raise ValueError(
            f"series {name!r}: duplicate timestamps {_listed(shown)}; "
            "each timestamp may occur once per series"
        )
    back = np.flatnonzero(np.diff(ts.asi8) < 0) + 1
    if len(back):
        shown = [
            f"{ts[k].isoformat()} ({_where(origin, line_no, k)}) after {ts[k - 1].isoformat()}" for k in back
        ]
        raise ValueError(
            f"series {name!r}: timestamps are not increasing: {_listed(shown)}; sort the file by time"
        )
    # 2. frequency
    if freq is None:
        freq = _infer_frequency(ts)
        if freq is None:
            raise ValueError(
                f"{origin}: cannot infer the frequency of series {name!r} from its {len(ts)} timestamps "
                f"({', '.join(t.isoformat() for t in ts[:3])}, …): they are too few, irregular or have gaps; "
                "give the frequency (freq='MS', 'W-SAT', 'D', …)"
            )
    freq = check_frequency(freq, f"{origin}: series {name!r}")
    # 3. gaps
    grid = pd.date_range(ts[0], ts[-1], freq=freq)
    off_grid = np.flatnonzero(~ts.isin(grid))
    if len(off_grid):
        shown = [f"{ts[k].isoformat()} ({_where(origin, line_no, k)})" for k in off_grid]
        raise ValueError(
            f"series {name!r}: timestamps not on the {freq!r} grid starting {ts[0].isoformat()}: "
            f"{_listed(shown)}; check the frequency"
        )
    if len(grid) > len(ts):
        missing = grid.difference(ts)
        if gaps == "error":
            raise ValueError(
                f"{origin}: series {name!r} has {len(missing)} gap(s) in its {freq!r} timestamps: "
                f"{_listed([t.isoformat() for t in missing])} are missing; fill them with gaps='fill' "
                "(then nan='interpolate' or 'drop' decides their values)"
            )
        position = grid.get_indexer(ts)
        full_y = np.full(len(grid), np.nan)
        full_y[position] = y
        if cov is not None:
            full_cov = np.full((len(grid), cov.shape[1]), np.nan)
            full_cov[position] = cov
            cov = full_cov
        if line_no is not None:
            full_lines = np.zeros(len(grid), dtype=np.int64)  # 0: an inserted step, no file line
            full_lines[position] = line_no
            line_no = full_lines
        ts, y = grid, full_y
    # 4. missing values
    bad = np.isnan(y) if cov is None else np.isnan(y) | np.isnan(cov).any(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        if nan == "error":
            filled = (lambda k: line_no[k] == 0) if line_no is not None else (lambda k: False)
            shown = [
                f"{ts[k].isoformat()} ({'a filled gap' if filled(k) else _where(origin, line_no, k)})"
                for k in rows
            ]
            raise ValueError(
                f"series {name!r}: {len(rows)} missing value(s) at {_listed(shown)}; choose "
                "nan='interpolate' or nan='drop' (--nan) to handle them"
            )
        if nan == "drop":
            keep = ~bad
            if not keep.any():
                raise ValueError(f"{origin}: series {name!r}: every value is missing")
            ts, y = ts[keep], y[keep]
            cov = None if cov is None else cov[keep]
            line_no = None if line_no is None else line_no[keep]
        else:
            y = _interpolate(y, name, origin)
            if cov is not None:
                cov = np.stack([_interpolate(c, name, origin) for c in cov.T], axis=1)
    return Series(name, ts, y, freq, cov, tuple(covariate_names), origin, line_no)


def _interpolate(y: np.ndarray, name: str, origin: str) -> np.ndarray:
    present = ~np.isnan(y)
    if not present.any():
        raise ValueError(f"{origin}: series {name!r}: every value is missing, nothing to interpolate from")
    k = np.arange(len(y))
    return np.interp(k, k[present], y[present])  # linear inside, nearest value at the ends


# ------------------------------------------------------------------------------------------------ files
def read_series(
    path: str | os.PathLike[str],
    *,
    format: str = "auto",
    layout: str = "auto",
    timestamp_column: str = "timestamp",
    id_column: str = "series_id",
    value_column: str = "value",
    covariates: Sequence[str] = (),
    freq: str | None = None,
    nan: str = "error",
    gaps: str = "error",
) -> list[Series]:
    """Every series in a CSV or Parquet file (long or wide layout), checked as the module docstring says."""
    import pandas as pd

    path = Path(path)
    if format not in SERIES_FORMATS:
        raise ValueError(f"unknown series format {format!r}; known: {', '.join(SERIES_FORMATS)}")
    if layout not in SERIES_LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; known: {', '.join(SERIES_LAYOUTS)}")
    if freq is not None:
        freq = check_frequency(freq, str(path))
    if format == "auto":
        format = "parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv"
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if format == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ValueError(
                f"{path}: reading Parquet needs pyarrow (pip install pyarrow); or use CSV"
            ) from None
        frame = pd.read_parquet(path)
        first_line = None  # rows, not lines
    else:
        try:
            frame = pd.read_csv(path, dtype={timestamp_column: str}, skip_blank_lines=False)
        except pd.errors.EmptyDataError:
            raise ValueError(f"{path}: the file is empty; expected a header row and values") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: not a readable CSV file ({_first_line(err)})") from None
        frame = frame.dropna(how="all")  # blank lines
        first_line = 2  # the header is line 1
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if timestamp_column not in columns:
        raise ValueError(
            f"{path}: no timestamp column {timestamp_column!r}; the columns are {columns} "
            "(choose one with --timestamp-column)"
        )
    covariates = tuple(covariates)
    for c in covariates:
        if c not in columns:
            raise ValueError(f"{path}: no covariate column {c!r}; the columns are {columns}")
    lines = None if first_line is None else frame.index.to_numpy() + first_line
    where = (lambda k: f"{path}:{lines[k]}") if lines is not None else (lambda k: f"{path}: row {k + 1}")
    raw_ts = frame[timestamp_column]
    ts = pd.to_datetime(raw_ts, errors="coerce", format="mixed") if raw_ts.dtype == object else raw_ts
    ts = pd.to_datetime(ts, errors="coerce")
    unparsed = np.flatnonzero(ts.isna().to_numpy())
    if len(unparsed):
        shown = [f"{raw_ts.iloc[k]!r} ({where(k)})" for k in unparsed]
        raise ValueError(
            f"{path}: cannot read {len(unparsed)} timestamp(s) in column {timestamp_column!r}: "
            f"{_listed(shown)}; expected dates such as 2020-01-31 or 2020-01-31 13:00"
        )
    if layout == "auto":
        layout = "long" if (id_column in columns or value_column in columns) else "wide"

    def numbers(column: str) -> np.ndarray:
        raw = frame[column]
        out = pd.to_numeric(raw, errors="coerce")
        bad = np.flatnonzero(out.isna().to_numpy() & raw.notna().to_numpy())
        if len(bad):
            shown = [f"{raw.iloc[k]!r} ({where(k)})" for k in bad]
            raise ValueError(f"{path}: column {column!r}: expected numbers, got {_listed(shown)}")
        return out.to_numpy(dtype=np.float64)

    cov_values = np.stack([numbers(c) for c in covariates], axis=1) if covariates else None
    out: list[Series] = []
    common = dict(covariate_names=covariates, freq=freq, nan=nan, gaps=gaps, origin=str(path))
    if layout == "long":
        if value_column not in columns:
            raise ValueError(
                f"{path}: no value column {value_column!r}; the columns are {columns} "
                "(choose one with --value-column, or --layout wide for one column per series)"
            )
        y = numbers(value_column)
        ids = (
            frame[id_column].astype(str).to_numpy()
            if id_column in columns
            else np.full(len(frame), value_column)
        )
        for name in dict.fromkeys(ids):  # first-appearance order
            rows = np.flatnonzero(ids == name)
            out.append(
                make_series(
                    name,
                    ts.iloc[rows],
                    y[rows],
                    covariates=None if cov_values is None else cov_values[rows],
                    lines=None if lines is None else lines[rows],
                    **common,
                )
            )
    else:
        names = [c for c in columns if c != timestamp_column and c not in covariates]
        if not names:
            raise ValueError(
                f"{path}: wide layout: expected one column per series next to {timestamp_column!r}"
            )
        for name in names:
            out.append(make_series(name, ts, numbers(name), covariates=cov_values, lines=lines, **common))
    if not out:
        raise ValueError(f"{path}: expected series after the header, the file has none")
    return out


# ------------------------------------------------------------------------------------------------ bundled
def bundled_series(name: str, *, nan: str | None = None) -> Series:
    """A bundled real series (see the module docstring), read from its package's file."""
    import pandas as pd

    if name not in SERIES_CORPORA:
        raise ValueError(f"unknown bundled series {name!r}; known: {', '.join(SERIES_CORPORA)}")
    package, relative, install, freq, _ = SERIES_CORPORA[name]
    path = _package_file(package, relative, install, name)
    frame = pd.read_csv(path, dtype=str)
    stamps = frame.iloc[:, 0]
    if name in ("lynx", "sunspots"):  # years, e.g. 1821 or 1700.0
        ts = pd.to_datetime(stamps.astype(float).astype(int).astype(str), format="%Y")
    elif name == "co2":
        ts = pd.to_datetime(stamps, format="%Y%m%d")
    elif name == "elec_equip":
        ts = pd.to_datetime(stamps, format="%b-%d-%Y")
    else:
        ts = pd.to_datetime(stamps, format="%Y-%m")
    values = pd.to_numeric(frame.iloc[:, 1], errors="coerce").to_numpy(dtype=np.float64)
    policy = nan or ("interpolate" if name == "co2" else "error")
    lines = np.arange(len(frame)) + 2
    return make_series(name, ts, values, freq=freq, nan=policy, origin=str(path), lines=lines)


# ------------------------------------------------------------------------------------------------ time
def future_timestamps(series: Series, horizon: int) -> Any:
    """The ``horizon`` timestamps after the series' last one, on its frequency grid."""
    import pandas as pd

    return pd.date_range(series.timestamps[-1], periods=horizon + 1, freq=series.freq)[1:]


def calendar_features(timestamps: Any, freq: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """sin/cos of the position in the natural cycles of ``freq``: (T, F) float32 and the F names.

    Yearly: none. Quarterly: quarter of the year. Monthly: month of the year. Weekly: week of the year.
    Daily: day of the week and day of the year. Hourly and finer: hour of the day and day of the week.
    """
    import pandas as pd

    ts = pd.DatetimeIndex(timestamps)
    kind = _freq_kind(freq)
    cycles: list[tuple[str, np.ndarray, float]] = []
    if kind == "quarter":
        cycles.append(("quarter", ts.quarter.to_numpy() - 1, 4.0))
    elif kind == "month":
        cycles.append(("month", ts.month.to_numpy() - 1, 12.0))
    elif kind == "week":
        cycles.append(("week", ts.day_of_year.to_numpy() - 1, 365.25))  # the week as a day of the year
    elif kind in ("day", "bday"):
        cycles += [
            ("dayofweek", ts.day_of_week.to_numpy(), 7.0),
            ("dayofyear", ts.day_of_year.to_numpy() - 1, 365.25),
        ]
    elif kind == "hour":
        hours = ts.hour.to_numpy() + ts.minute.to_numpy() / 60
        cycles += [("hour", hours, 24.0), ("dayofweek", ts.day_of_week.to_numpy(), 7.0)]
    features, names = [], []
    for label, position, period in cycles:
        angle = 2 * math.pi * position.astype(np.float64) / period
        features += [np.sin(angle), np.cos(angle)]
        names += [f"{label}_sin", f"{label}_cos"]
    if not features:
        return np.zeros((len(ts), 0), dtype=np.float32), ()
    return np.stack(features, axis=1).astype(np.float32), tuple(names)
