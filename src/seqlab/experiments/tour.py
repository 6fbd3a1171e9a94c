"""The tour: run every experiment at the scale a time budget allows and write one illustrated HTML report.

``plan`` picks a setting per experiment from the minutes each one measured for its settings: everything
starts at ``tiny``, then experiments move up to ``small`` and then ``full``, in order, while the planned
total stays within the budget. ``run_tour`` runs the plan, one experiment after another, each into its own
folder, and writes ``report.html`` (self-contained: figures embedded, no network) and ``tour.json``. An
experiment that fails is reported as failed, with its error, and the tour goes on.

    seqlab tour --budget 10 --out runs/tour
"""

from __future__ import annotations

import base64
import html
import importlib
import logging
import os
import re
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

from .common import ExperimentResult, environment

__all__ = ["EXPERIMENTS", "LEVELS", "Failure", "TourResult", "plan", "render_html", "run_tour"]

log = logging.getLogger(__name__)

# In the chapter's order; the tagging demo last.
EXPERIMENTS = (
    "agreement",
    "gradients",
    "long_range",
    "lstm_vs_gru",
    "bottleneck",
    "rnn_vs_transformer",
    "edge",
    "segmenter",
)
LEVELS = ("tiny", "small", "full")  # the settings the planner moves through


@dataclass(frozen=True)
class Failure:
    name: str
    title: str
    setting: str
    error: str  # the exception's last line
    traceback: str
    seconds: float


@dataclass
class TourResult:
    plan: dict[str, str]  # experiment → setting
    results: list[ExperimentResult | Failure] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)
    budget_minutes: float = 0.0
    seed: int = 0
    started: str = ""  # ISO time, UTC
    seconds: float = 0.0
    report: Path | None = None


def _module(name: str) -> ModuleType:
    if name not in EXPERIMENTS:
        raise ValueError(f"tour: unknown experiment {name!r}; known: {', '.join(EXPERIMENTS)}")
    return importlib.import_module(f"seqlab.experiments.{name}")


def plan(
    budget_minutes: float, names: Sequence[str] | None = None, settings: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The setting each experiment runs at so that the planned minutes fit ``budget_minutes``;
    ``settings`` fixes some experiments' settings whatever the budget.

    >>> plan(0)["gradients"]
    'tiny'
    """
    if not isinstance(budget_minutes, int | float) or budget_minutes < 0:
        raise ValueError(f"tour: expected a budget of 0 or more minutes, got {budget_minutes!r}")
    names = list(names or EXPERIMENTS)
    fixed = dict(settings or {})
    for name, setting in fixed.items():
        if name not in names:
            raise ValueError(
                f"tour: a setting for {name!r}, which this tour does not run ({', '.join(names)})"
            )
        if setting not in _module(name).SETTINGS:
            known = ", ".join(_module(name).SETTINGS)
            raise ValueError(f"tour: unknown setting {setting!r} for {name}; known: {known}")
    minutes = {name: _module(name).MINUTES for name in names}
    chosen = {name: fixed.get(name, "tiny") for name in names}
    for level in LEVELS[1:]:
        for name in names:
            if level not in minutes[name] or name in fixed:
                continue
            total = sum(minutes[n].get(chosen[n], 0.0) for n in names)
            if total - minutes[name][chosen[name]] + minutes[name][level] <= budget_minutes:
                chosen[name] = level
    return chosen


def planned_minutes(chosen: Mapping[str, str]) -> float:
    """The minutes the experiments measured for these settings (0 for a setting without a figure)."""
    return sum(_module(name).MINUTES.get(setting, 0.0) for name, setting in chosen.items())


def run_tour(
    budget_minutes: float = 10.0,
    out_dir: str | os.PathLike[str] = "runs/tour",
    *,
    seed: int = 0,
    only: Sequence[str] | None = None,
    settings: Mapping[str, str] | None = None,
    on_start: Callable[[str, str, str], None] | None = None,
    on_done: Callable[[str, ExperimentResult | Failure], None] | None = None,
) -> TourResult:
    """Run the planned experiments into ``out_dir/<name>/``; write ``report.html`` and ``tour.json``.

    ``only`` restricts the tour to some experiments, ``settings`` overrides the plan for some.
    ``on_start(name, title, setting)`` and ``on_done(name, result)`` let a caller draw progress.
    """
    names = list(only) if only else list(EXPERIMENTS)
    for name in names:
        _module(name)  # unknown names fail before anything runs
    chosen = plan(budget_minutes, names, settings)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tour = TourResult(
        plan=chosen,
        environment=environment(),
        budget_minutes=float(budget_minutes),
        seed=seed,
        started=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    begin = time.perf_counter()
    for name, setting in chosen.items():
        module = _module(name)
        if on_start is not None:
            on_start(name, module.TITLE, setting)
        start = time.perf_counter()
        try:
            result: ExperimentResult | Failure = module.run(setting, out_dir / name, seed=seed)
            result.save(out_dir / name)
        except Exception as err:  # one experiment's failure is reported, the tour goes on
            log.exception("tour: %s failed", name)
            result = Failure(
                name,
                module.TITLE,
                setting,
                f"{type(err).__name__}: {err}",
                traceback.format_exc(),
                time.perf_counter() - start,
            )
        tour.results.append(result)
        if on_done is not None:
            on_done(name, result)
    tour.seconds = time.perf_counter() - begin
    tour.report = _write(out_dir / "report.html", render_html(tour))
    _write(out_dir / "tour.json", _json(tour))
    return tour


def _write(path: Path, text: str) -> Path:
    """Whole or not at all: a failed write never leaves half a report."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _json(tour: TourResult) -> str:
    import json
    from dataclasses import asdict

    results = [
        r.to_dict() if isinstance(r, ExperimentResult) else {"failed": True, **asdict(r)}
        for r in tour.results
    ]
    return json.dumps(
        {
            "budget_minutes": tour.budget_minutes,
            "seed": tour.seed,
            "started": tour.started,
            "seconds": round(tour.seconds, 1),
            "plan": tour.plan,
            "environment": tour.environment,
            "results": results,
        },
        indent=2,
        default=str,
    )


# ---- the report ---------------------------------------------------------------------------------------

_CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "PingFang SC",
       "Microsoft YaHei", "WenQuanYi Zen Hei", sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #1d1d1f; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.meta { color: #555; }
.summary span { display: inline-block; margin-right: 1.5em; font-weight: 600; }
.finding { border-left: 5px solid #999; background: #f7f7f8; padding: 0.5em 1em; margin: 0.8em 0; }
.finding.held { border-color: #1a7f37; } .finding.failed { border-color: #cf222e; }
.finding.undecided { border-color: #9a6700; }
.badge { font-weight: 700; font-size: 0.85em; text-transform: uppercase; letter-spacing: 0.03em; }
.held .badge { color: #1a7f37; } .failed .badge { color: #cf222e; } .undecided .badge { color: #9a6700; }
.label { color: #555; font-weight: 600; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f2; } td.num { text-align: right; white-space: nowrap; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
caption { caption-side: top; text-align: left; color: #444; padding-bottom: 0.3em; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.9em; }
pre { background: #f6f8fa; padding: 0.7em; overflow-x: auto; }
nav ol { columns: 2; }
"""

_BADGE = {True: ("held", "held"), False: ("failed", "did not hold"), None: ("undecided", "not decided here")}


def render_html(tour: TourResult) -> str:
    """The whole report as one HTML page; figures are embedded as data: URLs."""
    e = html.escape
    findings = [f for r in tour.results if isinstance(r, ExperimentResult) for f in r.findings]
    counts = {
        "held": sum(f.held is True for f in findings),
        "did not hold": sum(f.held is False for f in findings),
        "not decided here": sum(f.held is None for f in findings),
        "experiments failed": sum(isinstance(r, Failure) for r in tour.results),
    }
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>seqlab tour — {e(tour.started)}</title><style>{_CSS}</style></head><body>",
        "<h1>seqlab tour: the chapter's claims, measured on this machine</h1>",
        f'<p class="meta">{e(tour.started)} · budget {tour.budget_minutes:g} min · ran '
        f"{tour.seconds / 60:.1f} min · seed {tour.seed} · seqlab {e(str(tour.environment.get('seqlab')))}"
        f" · torch {e(str(tour.environment.get('torch')))} · {e(str(tour.environment.get('cpu')))}</p>",
        '<p class="summary">'
        + "".join(f"<span>{n} {e(label)}</span>" for label, n in counts.items() if n or label == "held")
        + "</p>",
        "<p>Each section gives what the chapter says, what was measured here, and whether it held at this "
        "setting. <code>tiny</code> settings only check that an experiment runs; a larger budget "
        "(<code>seqlab tour --budget 60</code>) or one experiment at its full setting "
        "(the command under each section) gives the figures the claims rest on.</p>",
        "<nav><ol>"
        + "".join(f'<li><a href="#{e(r.name)}">{e(r.title)}</a> ({e(r.setting)})</li>' for r in tour.results)
        + "</ol></nav>",
    ]
    parts += [_section(r, tour.seed) for r in tour.results]
    parts += [
        '<h2 id="environment">Environment</h2>',
        _html_table(("", "value"), [(k, str(v)) for k, v in tour.environment.items()], numbers=False),
        "<h3>Plan</h3>",
        _html_table(("experiment", "setting"), list(tour.plan.items())),
        "</body></html>",
    ]
    return "\n".join(parts)


def _section(r: ExperimentResult | Failure, seed: int) -> str:
    e = html.escape
    command = f"python -m seqlab.experiments.{r.name} --setting {r.setting} --seed {seed}"
    head = (
        f'<h2 id="{e(r.name)}">{e(r.title)}</h2>'
        f'<p class="meta">setting <code>{e(r.setting)}</code> · {r.seconds:.0f} s · '
        f"reproduce: <code>{e(command)}</code></p>"
    )
    if isinstance(r, Failure):
        return (
            head + '<div class="finding failed"><span class="badge">experiment failed</span>'
            f"<p>{e(r.error)}</p><details><summary>traceback</summary><pre>{e(r.traceback)}</pre>"
            "</details></div>"
        )
    body = [head]
    for f in r.findings:
        css, badge = _BADGE[f.held]
        body.append(
            f'<div class="finding {css}"><span class="badge">{badge}</span>'
            f'<p><span class="label">The chapter says:</span> {e(f.claim)}</p>'
            f'<p><span class="label">Measured here:</span> {e(f.measured)}</p></div>'
        )
    for path in r.figures:
        body.append(_figure(Path(path)))
    for t in r.tables:
        body.append(_html_table(t.header, t.rows, t.caption))
    settings = ", ".join(f"{k}={v}" for k, v in r.settings.items() if not isinstance(v, dict))
    if settings:
        body.append(f"<details><summary>settings</summary><p><code>{e(settings)}</code></p></details>")
    return "\n".join(body)


def _figure(path: Path) -> str:
    if not path.is_file():
        return f"<p>(figure missing: {html.escape(str(path))})</p>"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    alt = html.escape(path.stem.replace("_", " "))
    return f'<figure><img alt="{alt}" src="data:image/png;base64,{data}"></figure>'


def _html_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], caption: str | None = None, *, numbers: bool = True
) -> str:
    """A table; with ``numbers``, cells that read as numbers are right-aligned."""
    e = html.escape
    cap = f"<caption>{e(caption)}</caption>" if caption else ""
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    cell = _cell if numbers else (lambda text: f"<td>{html.escape(text)}</td>")
    body = "".join("<tr>" + "".join(cell(str(c)) for c in row) + "</tr>" for row in rows)
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_NUMBER = re.compile(r"^[-+−]?[\d.,]+(e[-+]?\d+)?\s?(%|x|s|ms|µs|min|MB|KB|kB|B)?$")


def _cell(text: str) -> str:
    css = ' class="num"' if _NUMBER.match(text) else ""
    return f"<td{css}>{html.escape(text)}</td>"
