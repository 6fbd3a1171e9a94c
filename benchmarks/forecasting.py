"""Rolling-origin backtests of the recurrent forecaster against naive, seasonal naive, ETS and ARIMA.

For each bundled series: 4 origins one horizon apart (the test windows tile the series' last 4·h steps),
the forecaster retrained at every origin on the history before it (an ensemble of ``--seeds`` models),
the baselines fitted on the same histories. Prints one table per series and the ratios against the best
statsmodels baseline, writes ``--json`` (a list of {"name", "value", "unit", "baseline"}) and one PNG per
series into ``--out``.

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/forecasting.py \\
        --series airline,sunspots,co2 \\
        --json benchmarks/results/2026-11-27-cpu/forecasting/forecasting.json \\
        --out benchmarks/results/2026-11-27-cpu/forecasting

The model settings per series were chosen before the run, on backtests over the history *before* the first
test origin (never on the test windows): ``--history-only`` runs exactly that backtest (3 origins on the
steps before the first test origin, ``--history-origins``), and ``--set KEY=VALUE`` overrides any
``ForecasterConfig`` or ``TrainConfig`` field, so a candidate is one command::

    OMP_NUM_THREADS=1 python benchmarks/forecasting.py --series airline --history-only \\
        --set naive_anchor=12 --set highway=0 --set scaling=mean_abs

Defaults: lookback = 3 seasons, quantile outputs (0.1, 0.5, 0.9), a linear highway over the last season,
1 LSTM layer of 32, 100 epochs of Adam at 3e-3, one validation window; ``SETTINGS`` holds what each series'
selection changed (and the rule it followed: the lowest history MASE among the candidates whose 80%
intervals covered 70–90% of the history's test points).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from dataclasses import fields
from pathlib import Path

from _results import write_results  # benchmarks/, the script's own folder
from seqlab.data.series import bundled_series
from seqlab.tasks.forecasting import ForecasterConfig
from seqlab.tasks.forecasting_baselines import BASELINES
from seqlab.tasks.forecasting_run import backtest, backtest_origins, plot_backtest, seasonal_period_of
from seqlab.training import TrainConfig

# name: horizon, lookback and what the selection on the history changed — horizons of one season
# (sunspots: its 11-year cycle)
SETTINGS: dict[str, dict] = {
    "airline": {"horizon": 12, "lookback": 36, "naive_anchor": 12, "highway": 0, "scaling": "mean_abs"},
    "sunspots": {"horizon": 11, "lookback": 33},
    "elec_equip": {"horizon": 12, "lookback": 36},
    "lynx": {"horizon": 10, "lookback": 30},
    "shampoo": {"horizon": 6, "lookback": 12},
    "co2": {"horizon": 52, "lookback": 104, "max_epochs": 60, "stride": 4, "conformal": True},
}
BACKTEST_SETTINGS = ("stride", "batch_size", "validation_windows")  # passed to backtest()
MODEL_FIELDS = {f.name for f in fields(ForecasterConfig)}
TRAIN_FIELDS = {f.name for f in fields(TrainConfig)}
# shampoo has 36 months: after lookback 12 + horizon 6 + a validation window, room for 2 origins only
MAX_ORIGINS = {"shampoo": 2}


def parse_overrides(items: list[str]) -> dict:
    """``--set KEY=VALUE`` pairs: VALUE as JSON where it parses (12, 0.5, true), else as a string."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in MODEL_FIELDS | TRAIN_FIELDS | set(BACKTEST_SETTINGS):
            raise SystemExit(
                "--set: expected KEY=VALUE with KEY a ForecasterConfig or TrainConfig field, or one of "
                f"{', '.join(BACKTEST_SETTINGS)}; got {item!r}"
            )
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def run(name: str, args: argparse.Namespace, out: Path) -> tuple[list[dict], str]:
    series = bundled_series(name)
    m = seasonal_period_of(series)
    settings = {**SETTINGS[name], **args.overrides}
    horizon, lookback = settings["horizon"], settings["lookback"]
    model_settings = {
        "output": "quantile",
        "highway": min(m, lookback),
        "hidden_size": args.hidden_size,
        "recurrence": args.recurrence,
        **{k: v for k, v in settings.items() if k in MODEL_FIELDS},
    }
    config = ForecasterConfig(**model_settings)
    train = TrainConfig(
        **{
            "max_epochs": args.epochs,
            "lr": args.lr,
            "progress_bar": False,
            "out_dir": Path("runs/forecast-bench"),
            "log_every_n_steps": 1000,
            **{k: v for k, v in settings.items() if k in TRAIN_FIELDS},
        }
    )
    origins = min(args.origins, MAX_ORIGINS.get(name, args.origins))
    if args.history_only:  # the selection protocol: backtest on the steps before the first test origin
        series = series.head(backtest_origins(len(series), horizon, origins, horizon)[0])
        name, origins = f"{name} (history before the test origins)", args.history_origins
    start = time.perf_counter()
    result = backtest(
        series,
        config,
        train,
        origins=origins,
        seeds=tuple(range(args.seeds)),
        baselines=args.baselines,
        seasonal_period=m,
        **{k: settings[k] for k in BACKTEST_SETTINGS if k in settings},
    )
    total = time.perf_counter() - start
    scores = result.scores()
    statsmodels = [b for b in ("ets", "arima") if b in scores]
    best = min(statsmodels, key=lambda b: scores[b]["mase"]) if statsmodels else None
    lines = [
        f"== {name}: {len(series)} steps, horizon {horizon}, lookback {lookback}, m = {m}, "
        f"origins {result.origins} (0-based first forecast step), "
        f"model = {config.recurrence} × {args.seeds} seeds; "
        + ", ".join(f"{k}={v}" for k, v in sorted(settings.items()) if k not in ("horizon", "lookback")),
        result.table(),
    ]
    model = scores["model"]
    rows = []
    for method, s in scores.items():
        for metric in ("mae", "rmse", "smape", "mase", "coverage"):
            if metric in s:
                rows.append(
                    {
                        "name": f"forecast/{name}/{method}/{metric}",
                        "value": s[metric],
                        "unit": {"smape": "%", "coverage": "share"}.get(
                            metric, "" if metric == "mase" else "value"
                        ),
                        "baseline": scores["seasonal_naive"][metric] if "seasonal_naive" in scores else None,
                    }
                )
    if "seasonal_naive" in scores:
        ratio = model["mase"] / scores["seasonal_naive"]["mase"]
        lines.append(f"model/seasonal_naive MASE = {ratio:.3f}x")
    if best is not None:
        ratio = model["mase"] / scores[best]["mase"]
        lines.append(f"model/{best} (best statsmodels) MASE = {ratio:.3f}x")
        rows.append({"name": f"forecast/{name}/mase-ratio", "value": ratio, "unit": "x", "baseline": best})
    lines.append(
        f"80% interval coverage of the model = {model.get('coverage', float('nan')):.2f}; "
        f"model train + backtest {result.seconds['model']:.1f} s, whole run {total:.1f} s"
    )
    rows.append(
        {
            "name": f"forecast/{name}/model/seconds",
            "value": result.seconds["model"],
            "unit": "s",
            "baseline": None,
        }
    )
    if args.history_only:
        return rows, "\n".join(lines)
    try:
        plot_backtest(result, out / f"{name}.png", methods=("model", best or "seasonal_naive"))
    except ValueError as err:  # matplotlib missing
        lines.append(f"(no plot: {err})")
    return rows, "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", default="airline,sunspots,co2")
    parser.add_argument("--origins", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=3, help="models per origin, averaged (default: 3)")
    parser.add_argument(
        "--epochs", type=int, default=100, help="for series whose SETTINGS name no max_epochs (default: 100)"
    )
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--hidden-size", type=int, default=32)
    parser.add_argument("--recurrence", default="lstm")
    parser.add_argument("--baselines", default=",".join(BASELINES))
    parser.add_argument(
        "--quick", action="store_true", help="1 origin, 1 seed, 3 epochs, naive baselines only"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a ForecasterConfig or TrainConfig field for every series, e.g. naive_anchor=12",
    )
    parser.add_argument(
        "--history-only",
        action="store_true",
        help="the selection protocol: backtest on the history before the first test origin",
    )
    parser.add_argument(
        "--history-origins", type=int, default=3, help="origins of the --history-only backtest (default: 3)"
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/forecasting"))
    args = parser.parse_args(argv)
    args.baselines = tuple(b for b in args.baselines.split(",") if b)
    args.overrides = parse_overrides(args.overrides)
    if args.quick:
        args.origins, args.seeds, args.epochs, args.baselines = 1, 1, 3, ("naive", "seasonal_naive")
        args.overrides.setdefault("max_epochs", 3)  # over the series' own settings too
    logging.disable(logging.WARNING)  # Lightning's per-run banners
    warnings.filterwarnings("ignore", module="lightning")
    if not args.history_only:  # the selection backtest draws no figures
        args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    for name in [s.strip() for s in args.series.split(",") if s.strip()]:
        if name not in SETTINGS:
            print(f"unknown series {name!r}; known: {', '.join(SETTINGS)}", file=sys.stderr)
            return 2
        new, text = run(name, args, args.out)
        rows += new
        print(text + "\n", flush=True)
    write_results(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
