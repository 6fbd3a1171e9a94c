"""Time-series forecasting: a recurrent encoder over a lookback window, direct or autoregressive heads.

From the last L values y_{n−L+1} … y_n of a series (plus optional past covariates c_t and calendar
features k_t derived from the timestamps), forecast the next h values::

    scaling      z_t = (y_t − a) / b               a, b from the window itself (per series, per window)
    encoder      h_t, s_t = RNN([z_t; c_t; k_t], s_{t−1})          t = n−L+1 … n  (any registry name)
    direct       θ_{n+1 … n+h} = W [h_n; k_{n+1}; …; k_{n+h}] + v       all h steps from the last state
    autoreg.     g_j, s_j = RNN_dec([ẑ_{j−1}; k_j], s_{j−1}),  s_0 = s_n,  ẑ_0 = z_n,  θ_j = W g_j + v
                 (training: teacher forcing, ẑ_{j−1} = z_{j−1} the true value; prediction: the model's own
                 point forecast is fed back, step by step with ``Recurrent.step``)

Options: ``highway`` = k adds LSTNet's linear "highway" (Lai et al. 2018) to the direct head,
θ_{n+j} += Σ_i w_{j,i} z_{n−k+i} + c_j — a linear autoregression on the last k scaled values that the
recurrent part corrects, which small data sets need (added to μ, the point, or every quantile);
``naive_anchor`` = k makes the direct head forecast the change from the (seasonal) naive forecast,
θ_{n+j} += z_{n−k+1+((j−1) mod k)} — the value one period k earlier (k = 1: the last value; k = m: the
same season last year), as seasonal differencing does in Box–Jenkins models, so the network learns the
year-on-year change instead of the seasonal shape itself, which a short series cannot teach it; ``log``
models log y (positive series), so that multiplicative seasonality becomes additive; everything is
undone on output (exp of a median or interval bound is the median or bound; exp(μ) is then the median).

θ_j holds, per step, what ``output`` asks for, in scaled units, undone exactly on the way out
(y = a + b z; a scale b > 0 keeps quantiles in order)::

    point      ẑ_j                          loss: mse (ẑ − z)² or mae |ẑ − z|
    gaussian   μ_j, σ_j = softplus(ρ_j)+ε    loss: NLL ½ log 2πσ² + (z − μ)² / 2σ²     (DeepAR, Salinas et al.
                                                                                   2020, without sampling)
    quantile   q̂_{j,τ} for τ in quantiles    loss: pinball Σ_τ max(τ e, (τ − 1) e), e = z − q̂_τ

Prediction intervals (``interval``, e.g. 0.8): gaussian, μ ± Φ⁻¹((1 + 0.8)/2) σ in original units;
quantile, the τ = 0.1 and τ = 0.9 outputs (sorted per step, so they never cross); a point model has none.
The point forecast is μ (gaussian) or the median (quantile). Autoregressive decoding feeds back the
mean / median, so its Gaussian intervals hold one step's noise only, not its accumulation (DeepAR
samples paths for that).

``conformal``: intervals fitted to few training windows come out too narrow (the network fits the
training targets more closely than it forecasts new ones). Split-conformal calibration (conformalized
quantile regression, Romano et al. 2019) corrects them on held-out windows the network did not train on:
with the interval [l, u] in scaled units and each held-out target z, the scores e = max(l − z, z − u)
(positive outside, negative inside) give the margin δ = the ⌈(n + 1)·interval⌉-th smallest of the n
scores, and the interval becomes [l − δ, u + δ] (δ < 0 narrows one that is too wide). ``calibrate``
computes δ; ``train_on_series`` calls it on the validation windows. The margin is one number over all h
steps (a validation window gives h scores, not enough per step), and the scores of overlapping windows
of one series are not exchangeable, so the coverage guarantee is approximate — what it fixes is the
systematic overconfidence.

Scaling (``scaling``), computed from the lookback window only, so a model trained on many series
(a global model) reads each one in its own units and forecasts series it never saw:

- ``standard``: a = mean, b = standard deviation of the window;
- ``mean_abs``: a = 0, b = mean |y| of the window (DeepAR's, without its + 1);
- ``none``: a = 0, b = 1.

A constant window has b = 0 (``standard``) or, all zeros, b = 0 (``mean_abs``): b is then 1, so nothing
divides by zero and the model sees zeros (``standard``) or the raw level. Past covariates are
standardised per window the same way. Calendar features are sin/cos pairs of the month, week, day or
hour, as ``seqlab.data.series.calendar_features`` derives them for the data's frequency; the encoder
reads them for the past steps and both heads for the h future steps (they are known in advance).

``Forecaster`` is a plain ``nn.Module`` that follows ``seqlab.training``'s task protocol and saves to /
loads from a model folder (``save`` / ``Forecaster.load``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.data.series import Series, calendar_features, check_frequency, check_length, future_timestamps
from seqlab.options import check_choices, check_positive_ints
from seqlab.recurrent import RECURRENCES, Recurrent

from .model_files import load_folder, load_weights, save_folder

__all__ = [
    "HEADS",
    "LOSSES",
    "OUTPUTS",
    "SCALINGS",
    "ForecastBatch",
    "ForecastOutput",
    "Forecaster",
    "ForecasterConfig",
    "SeriesForecast",
    "Window",
    "scale_window",
    "unscale",
]

KIND = "forecaster"
HEADS = ("direct", "autoregressive")
OUTPUTS = ("point", "gaussian", "quantile")
LOSSES = ("mse", "mae")
SCALINGS = ("standard", "mean_abs", "none")
SIGMA_MIN = 1e-3  # ε of σ = softplus(ρ) + ε, in scaled units


@dataclass(frozen=True)
class ForecasterConfig:
    """Everything that defines a forecaster: window sizes, head, output distribution, scaling, network."""

    lookback: int = 24  # L, past steps the encoder reads
    horizon: int = 12  # h, steps forecast at once
    head: str = "direct"  # direct (all h steps from the last state) | autoregressive (decoder)
    output: str = "gaussian"  # point | gaussian (mean, scale; NLL) | quantile (pinball loss)
    loss: str = "mse"  # point outputs: mse | mae
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)  # quantile outputs; must hold 0.5 and the interval's ends
    interval: float = 0.8  # nominal coverage of the prediction interval
    scaling: str = "standard"  # standard | mean_abs | none, per window
    log: bool = False  # model log y (positive series): multiplicative effects become additive
    highway: int = 0  # direct head: a linear map of the last k scaled values added to the forecast (0: none)
    naive_anchor: int = 0  # direct head: forecast the change from the value k steps back (k = m: seasonal)
    calendar: bool = True  # read calendar features derived from the timestamps
    hidden_size: int = 32  # H
    num_layers: int = 1
    recurrence: str = "lstm"  # any registry name
    recurrence_options: dict[str, Any] = field(default_factory=dict)
    dropout: float = 0.0  # between recurrent layers and on the last state
    conformal: bool = False  # widen (or narrow) the intervals by a margin calibrated on held-out windows

    def __post_init__(self) -> None:
        check_choices(
            self,
            {
                "head": HEADS,
                "output": OUTPUTS,
                "loss": LOSSES,
                "scaling": SCALINGS,
                "recurrence": tuple(RECURRENCES),
            },
        )
        check_positive_ints(self, ("lookback", "horizon", "hidden_size", "num_layers"))
        for name in ("highway", "naive_anchor"):  # window lengths the direct head reads
            k = getattr(self, name)
            if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= self.lookback:
                raise ValueError(
                    f"ForecasterConfig: expected {name} in 0 … lookback ({self.lookback}), got {k!r}"
                )
            if k and self.head != "direct":
                raise ValueError(
                    f"ForecasterConfig: {name} belongs to the direct head; set {name}=0 or head='direct'"
                )
        quantiles = self.quantiles
        if isinstance(quantiles, str):  # from the command line: "0.1,0.5,0.9"
            try:
                quantiles = [float(q) for q in quantiles.split(",") if q.strip()]
            except ValueError:
                raise ValueError(
                    "ForecasterConfig: expected quantiles as numbers, e.g. 0.1,0.5,0.9, "
                    f"got {self.quantiles!r}"
                ) from None
        try:
            quantiles = tuple(sorted(float(q) for q in quantiles))
        except (TypeError, ValueError):
            raise ValueError(
                f"ForecasterConfig: expected quantiles as numbers, got {self.quantiles!r}"
            ) from None
        object.__setattr__(self, "quantiles", quantiles)
        if not quantiles or any(not 0.0 < q < 1.0 for q in quantiles) or len(set(quantiles)) < len(quantiles):
            raise ValueError(
                f"ForecasterConfig: expected distinct quantiles in (0, 1), got {self.quantiles!r}"
            )
        value = self.interval
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
            raise ValueError(f"ForecasterConfig: expected interval in (0, 1), got {value!r}")
        if self.output == "quantile":
            needed = [0.5, *self.interval_quantiles]
            missing = [q for q in needed if not any(math.isclose(q, p, abs_tol=1e-9) for p in quantiles)]
            if missing:
                raise ValueError(
                    f"ForecasterConfig: quantile output with interval {self.interval} needs the quantiles "
                    f"{[round(q, 6) for q in needed]} (median and interval ends), got {list(quantiles)}; "
                    f"missing {[round(q, 6) for q in missing]}"
                )
        value = self.dropout
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            raise ValueError(f"ForecasterConfig: expected dropout in [0, 1), got {value!r}")
        if not isinstance(self.recurrence_options, dict):
            raise ValueError(
                "ForecasterConfig: expected recurrence_options to be a mapping, "
                f"got {self.recurrence_options!r}"
            )

    @property
    def interval_quantiles(self) -> tuple[float, float]:
        """(lower, upper) quantile levels of the interval: (0.1, 0.9) for 0.8."""
        return (1.0 - self.interval) / 2.0, (1.0 + self.interval) / 2.0

    @property
    def num_params(self) -> int:
        """P, the numbers the head outputs per step."""
        return {"point": 1, "gaussian": 2, "quantile": len(self.quantiles)}[self.output]


class Window(NamedTuple):
    """One lookback window (and its future, for training), before batching."""

    past: np.ndarray  # (L,) values
    past_covariates: np.ndarray  # (L, C)
    past_calendar: np.ndarray  # (L, F)
    future_calendar: np.ndarray  # (h, F)
    target: np.ndarray | None  # (h,) values, or None for prediction


@dataclass
class ForecastBatch:
    """B windows, in the series' own units."""

    past: Tensor  # (B, L)
    past_covariates: Tensor  # (B, L, C), C may be 0
    past_calendar: Tensor  # (B, L, F), F may be 0
    future_calendar: Tensor  # (B, h, F)
    target: Tensor | None = None  # (B, h)

    def without_target(self, device: torch.device | str | None = None) -> ForecastBatch:
        """The same windows without targets (what prediction sees), moved to ``device`` if given."""
        parts = (self.past, self.past_covariates, self.past_calendar, self.future_calendar)
        return ForecastBatch(*(t if device is None else t.to(device) for t in parts))


class ForecastOutput(NamedTuple):
    """Forecasts of B windows in original units."""

    point: Tensor  # (B, h) mean (gaussian), median (quantile) or the point output
    lower: Tensor | None  # (B, h) interval bounds; None for point outputs
    upper: Tensor | None  # (B, h)
    std: Tensor | None  # (B, h) gaussian outputs: the predicted standard deviation
    quantiles: Tensor | None  # (B, h, Q) quantile outputs, sorted along Q


class SeriesForecast(NamedTuple):
    """One series' forecast of its next h steps."""

    name: str
    timestamps: Any  # pandas.DatetimeIndex (h,)
    point: np.ndarray  # (h,)
    lower: np.ndarray | None  # (h,)
    upper: np.ndarray | None  # (h,)
    quantiles: dict[float, np.ndarray] | None  # τ → (h,)


def scale_window(past: Tensor, scaling: str) -> tuple[Tensor, Tensor]:
    """(a, b), each (B, 1), of the window (B, L): z = (y − a) / b; b is 1 where the window gives 0."""
    if scaling == "standard":
        a = past.mean(dim=1, keepdim=True)
        b = past.std(dim=1, keepdim=True, unbiased=False)
        tiny = 1e-6 * a.abs()  # a constant window's rounding noise in the mean is below this
        b = torch.where((b > tiny) & (b > 0), b, torch.ones_like(b))
    elif scaling == "mean_abs":
        a = torch.zeros_like(past[:, :1])
        b = past.abs().mean(dim=1, keepdim=True)
        b = torch.where(b > 0, b, torch.ones_like(b))
    elif scaling == "none":
        a, b = torch.zeros_like(past[:, :1]), torch.ones_like(past[:, :1])
    else:
        raise ValueError(f"scale_window: unknown scaling {scaling!r}; known: {', '.join(SCALINGS)}")
    return a, b


def unscale(z: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """y = a + b z, the inverse of the scaling, for (B, h) or (B, h, Q) values."""
    if z.dim() == 3:
        return a.unsqueeze(-1) + b.unsqueeze(-1) * z
    return a + b * z


class Forecaster(nn.Module):
    """Scaling → recurrent encoder → direct or autoregressive head → distribution in original units."""

    def __init__(
        self,
        config: ForecasterConfig,
        freq: str,
        covariates: Sequence[str] = (),
    ) -> None:
        super().__init__()
        c = self.config = config
        self.freq = check_frequency(freq, "Forecaster")
        self.covariate_names = tuple(covariates)
        C = len(self.covariate_names)
        self.calendar_names = (
            calendar_features(_probe_timestamps(self.freq), self.freq)[1] if c.calendar else ()
        )
        Fk = len(self.calendar_names)
        H, P, h = c.hidden_size, c.num_params, c.horizon
        layer_dropout = c.dropout if c.num_layers > 1 else 0.0
        self.encoder = Recurrent(
            c.recurrence,
            1 + C + Fk,
            H,
            num_layers=c.num_layers,
            dropout=layer_dropout,
            options=c.recurrence_options,
        )
        self.dropout = nn.Dropout(c.dropout)
        if c.head == "direct":
            self.decoder = None
            self.output = nn.Linear(self.encoder.output_size + h * Fk, h * P)
        else:
            self.decoder = Recurrent(
                c.recurrence,
                1 + Fk,
                H,
                num_layers=c.num_layers,
                dropout=layer_dropout,
                options=c.recurrence_options,
            )
            self.output = nn.Linear(self.decoder.output_size, P)
        self.highway = nn.Linear(c.highway, h) if c.highway else None
        if c.conformal:  # δ of the conformal calibration, in scaled units; 0 until ``calibrate``
            if c.output == "point":
                raise ValueError("ForecasterConfig: conformal calibrates intervals; a point output has none")
            self.register_buffer("conformal_margin", torch.zeros(()))

    # ------------------------------------------------------------------ building
    @classmethod
    def from_data(cls, series: Sequence[Series], config: ForecasterConfig | None = None) -> Forecaster:
        """A fresh forecaster for ``series`` (their frequency and covariates); each must hold one window."""
        config = config or ForecasterConfig()
        if not series:
            raise ValueError("Forecaster.from_data: expected at least one series, got none")
        freqs = sorted({s.freq for s in series})
        if len(freqs) > 1:
            raise ValueError(
                f"Forecaster.from_data: one model forecasts series of one frequency, got {freqs}; "
                "train one model per frequency"
            )
        names = {s.covariate_names for s in series}
        if len(names) > 1:
            raise ValueError(f"Forecaster.from_data: the series have different covariates {sorted(names)}")
        for s in series:
            check_length(s, config.lookback, config.horizon, "Forecaster.from_data")
        return cls(config, freqs[0], names.pop())

    # ------------------------------------------------------------------ the network
    def forward(self, batch: ForecastBatch) -> tuple[Tensor, Tensor, Tensor]:
        """θ (B, h, P) in scaled units and the scaling (a, b), each (B, 1).

        The autoregressive head uses teacher forcing when the batch has targets, and feeds back its own
        point forecasts when it has none (``decode``).
        """
        c = self.config
        self._check_batch(batch)
        past = self._transform(batch.past)
        a, b = scale_window(past, c.scaling)
        x = self._encoder_inputs(past, batch, a, b)  # (B, L, 1 + C + F)
        outputs, state = self.encoder(x)  # (B, L, H)
        if c.head == "direct":
            h_n = self.dropout(outputs[:, -1])  # (B, H)
            future = batch.future_calendar.flatten(1)  # (B, h·F)
            theta = self.output(torch.cat([h_n, future], dim=-1)).view(
                -1, c.horizon, c.num_params
            )  # (B, h, P)
            terms = []  # (B, h) each, added to the location of θ
            if self.highway is not None:  # LSTNet's linear "highway" from the last k values
                terms.append(self.highway(x[:, -c.highway :, 0]))
            if c.naive_anchor:  # the (seasonal) naive forecast: z_{n+j} ← z_{n−k+1+((j−1) mod k)}
                k = c.naive_anchor
                index = c.lookback - k + torch.arange(c.horizon, device=x.device) % k  # (h,)
                terms.append(x[:, index, 0])
            if terms:
                linear = sum(terms[1:], terms[0])
                shift = torch.zeros_like(theta)
                if c.output == "gaussian":
                    shift[..., 0] = linear  # the mean only
                else:
                    shift = linear.unsqueeze(-1).expand_as(theta)  # the point, or every quantile
                theta = theta + shift
            return theta, a, b  # (B, h, P)
        z_last = x[:, -1:, :1]  # (B, 1, 1)
        if batch.target is None:
            return self.decode(state, z_last[:, 0], batch.future_calendar), a, b
        z_target = ((self._transform(batch.target) - a) / b).unsqueeze(-1)  # (B, h, 1)
        fed = torch.cat([z_last, z_target[:, :-1]], dim=1)  # (B, h, 1): z_n, z_{n+1}, …, z_{n+h−1}
        g, _ = self.decoder(torch.cat([fed, batch.future_calendar], dim=-1), state)  # (B, h, H)
        return self.output(self.dropout(g)), a, b  # (B, h, P)

    def decode(self, state: tuple[Any, ...], z_last: Tensor, future_calendar: Tensor) -> Tensor:
        """Autoregressive decoding from the encoder state: each step's point forecast is the next input.

        z_last (B, 1) is the last observed value, scaled; future_calendar (B, h, F). Returns θ (B, h, P).
        """
        z = z_last
        thetas = []
        for j in range(self.config.horizon):
            g, state = self.decoder.step(torch.cat([z, future_calendar[:, j]], dim=-1), state)  # (B, H)
            theta = self.output(self.dropout(g))  # (B, P)
            thetas.append(theta)
            z = self._point(theta.unsqueeze(1))[:, 0].unsqueeze(-1)  # (B, 1)
        return torch.stack(thetas, dim=1)  # (B, h, P)

    def _transform(self, y: Tensor) -> Tensor:
        """log y when ``config.log`` (every value must be positive), else y."""
        if not self.config.log:
            return y
        if (y <= 0).any():
            raise ValueError(
                f"Forecaster: log=True needs positive values, got {float(y.min()):g}; train with log=False"
            )
        return y.log()

    def _untransform(self, y: Tensor) -> Tensor:
        return y.exp() if self.config.log else y

    def _encoder_inputs(self, past: Tensor, batch: ForecastBatch, a: Tensor, b: Tensor) -> Tensor:
        z = ((past - a) / b).unsqueeze(-1)  # (B, L, 1)
        parts = [z]
        if batch.past_covariates.shape[-1]:
            cov = batch.past_covariates
            mean = cov.mean(dim=1, keepdim=True)
            std = cov.std(dim=1, keepdim=True, unbiased=False)
            std = torch.where(std > 1e-6 * mean.abs(), std, torch.ones_like(std))
            parts.append((cov - mean) / std)  # (B, L, C)
        if batch.past_calendar.shape[-1]:
            parts.append(batch.past_calendar)  # (B, L, F)
        return torch.cat(parts, dim=-1)

    def _point(self, theta: Tensor) -> Tensor:
        """The point forecast in scaled units from θ (B, h, P): ẑ, μ or the median."""
        c = self.config
        if c.output == "quantile":
            k = min(range(len(c.quantiles)), key=lambda i: abs(c.quantiles[i] - 0.5))
            return theta.sort(dim=-1).values[..., k]
        return theta[..., 0]

    def _check_batch(self, batch: ForecastBatch) -> None:
        c = self.config
        B = batch.past.shape[0] if batch.past.dim() == 2 else None
        C, Fk = len(self.covariate_names), len(self.calendar_names)
        expected = {
            "past": ((B, c.lookback), tuple(batch.past.shape)),
            "past_covariates": ((B, c.lookback, C), tuple(batch.past_covariates.shape)),
            "past_calendar": ((B, c.lookback, Fk), tuple(batch.past_calendar.shape)),
            "future_calendar": ((B, c.horizon, Fk), tuple(batch.future_calendar.shape)),
        }
        if batch.target is not None:
            expected["target"] = ((B, c.horizon), tuple(batch.target.shape))
        for name, (want, got) in expected.items():
            if B is None or want != got:
                shape = "(B, " + ", ".join(str(d) for d in want[1:]) + ")"
                raise ValueError(f"Forecaster: expected {name} of shape {shape}, got {got}")

    # ------------------------------------------------------------------ losses and outputs
    def loss(self, theta: Tensor, target: Tensor, a: Tensor, b: Tensor) -> Tensor:
        """The training loss of θ (B, h, P) against targets (B, h) in original units, in scaled units."""
        c = self.config
        z = (self._transform(target) - a) / b  # (B, h)
        if c.output == "point":
            e = theta[..., 0] - z
            return (e * e).mean() if c.loss == "mse" else e.abs().mean()
        if c.output == "gaussian":
            mu, sigma = theta[..., 0], F.softplus(theta[..., 1]) + SIGMA_MIN
            return (0.5 * math.log(2 * math.pi) + sigma.log() + 0.5 * ((z - mu) / sigma) ** 2).mean()
        tau = theta.new_tensor(c.quantiles)  # (Q,)
        e = z.unsqueeze(-1) - theta  # (B, h, Q)
        return torch.maximum(tau * e, (tau - 1) * e).sum(dim=-1).mean()

    def distribution(self, theta: Tensor, a: Tensor, b: Tensor) -> ForecastOutput:
        """Point forecast and interval in original units from θ (B, h, P) and the scaling."""
        c = self.config
        back = self._untransform  # monotone: quantiles and bounds map to quantiles and bounds
        if c.output == "point":
            return ForecastOutput(back(unscale(theta[..., 0], a, b)), None, None, None, None)
        lo, hi = self._interval(theta)  # (B, h) each, scaled units
        if c.conformal:
            delta = self.conformal_margin
            lo, hi = lo - delta, hi + delta
        lower, upper = back(unscale(lo, a, b)), back(unscale(hi, a, b))
        if c.output == "gaussian":
            mean = unscale(theta[..., 0], a, b)
            std = b * (F.softplus(theta[..., 1]) + SIGMA_MIN)  # (B, h)
            # with log, exp(μ) is the median of the forecast distribution, and σ lives in log units
            point = back(mean)
            q, std = None, None if c.log else std
        else:
            std = None
            q = back(unscale(theta.sort(dim=-1).values, a, b))  # (B, h, Q), sorted: quantiles never cross
            point = q[..., self._quantile_index(0.5)]
        if c.conformal:  # a negative margin must not push a bound past the point forecast
            lower, upper = torch.minimum(lower, point), torch.maximum(upper, point)
        return ForecastOutput(point, lower, upper, std, q)

    def _quantile_index(self, level: float) -> int:
        q = self.config.quantiles
        return min(range(len(q)), key=lambda i: abs(q[i] - level))

    def _interval(self, theta: Tensor) -> tuple[Tensor, Tensor]:
        """The interval's bounds (B, h) in scaled units, before the conformal margin."""
        c = self.config
        if c.output == "gaussian":
            width = NormalDist().inv_cdf((1.0 + c.interval) / 2.0) * (F.softplus(theta[..., 1]) + SIGMA_MIN)
            return theta[..., 0] - width, theta[..., 0] + width
        q = theta.sort(dim=-1).values
        lo, hi = c.interval_quantiles
        return q[..., self._quantile_index(lo)], q[..., self._quantile_index(hi)]

    @torch.no_grad()
    def calibrate(self, windows: Sequence[Window], *, batch_size: int = 256) -> float:
        """Set the conformal margin δ from held-out windows (with targets) the network did not train on.

        Returns δ in scaled units. The scores are max(l − z, z − u) over every step of every window;
        δ is their ⌈(n + 1)·interval⌉-th smallest (the largest score when n is too small for that).
        """
        c = self.config
        if not c.conformal:
            raise ValueError("Forecaster.calibrate: the config has conformal=False; nothing to calibrate")
        if not windows or windows[0].target is None:
            raise ValueError("Forecaster.calibrate: expected held-out windows with targets, got none")
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        scores = []
        try:
            for k in range(0, len(windows), batch_size):
                batch = self.collate(windows[k : k + batch_size])
                theta, a, b = self(batch.without_target(device))
                lo, hi = self._interval(theta)
                z = (self._transform(batch.target.to(device)) - a) / b
                scores.append(torch.maximum(lo - z, z - hi).flatten())
        finally:
            self.train(was_training)
        e = torch.cat(scores).sort().values
        n = e.numel()
        rank = min(math.ceil((n + 1) * c.interval), n)  # 1-based
        self.conformal_margin.fill_(e[rank - 1])
        return float(self.conformal_margin)

    @torch.no_grad()
    def forecast(self, batch: ForecastBatch) -> ForecastOutput:
        """Forecasts of a batch of windows (targets, if any, are ignored), in eval mode."""
        was_training = self.training
        self.eval()
        try:
            return self.distribution(*self(batch.without_target()))
        finally:
            self.train(was_training)

    # ------------------------------------------------------------------ the task protocol
    def training_loss(self, batch: ForecastBatch) -> Tensor:
        theta, a, b = self(batch)
        return self.loss(theta, batch.target, a, b)

    def validation_outputs(self, batch: ForecastBatch) -> tuple[Tensor, Tensor, Tensor]:
        """(loss · B, |error| sum in original units, B·h), on the CPU."""
        theta, a, b = self(batch)  # teacher-forced: the same loss as training
        loss = self.loss(theta, batch.target, a, b)
        # free-running for the autoregressive head
        point = self.distribution(*self(batch.without_target())).point
        B = batch.past.shape[0]
        return (
            (loss * B).cpu(),
            (point - batch.target).abs().sum().cpu(),
            torch.tensor([B, batch.target.numel()]),
        )

    def validation_metrics(self, outputs: Iterable[tuple[Tensor, Tensor, Tensor]]) -> dict[str, float]:
        outputs = list(outputs)
        counts = torch.stack([o[2] for o in outputs]).sum(dim=0)
        loss = float(sum(float(o[0]) for o in outputs) / counts[0])
        mae = float(sum(float(o[1]) for o in outputs) / counts[1])
        return {"loss": loss, "mae": mae}

    # ------------------------------------------------------------------ data in and out
    def windows(self, series: Sequence[Series], *, stride: int = 1, last: int | None = None) -> list[Window]:
        """Every complete window (L past + h future steps) of each series, every ``stride`` steps.

        Windows end at the series' last step and go back by ``stride``; ``last``: only the final ``last``
        windows of each series (the most recent ones).
        """
        c = self.config
        out = []
        for s in series:
            self._check_series(s)
            check_length(s, c.lookback, c.horizon, "Forecaster.windows")
            cal = self._calendar(s.timestamps)
            cov = self._covariates(s)
            n, span = len(s), c.lookback + c.horizon
            ends = list(range(n, span - 1, -stride))  # exclusive ends of the windows, latest first
            if last is not None:
                ends = ends[:last]
            for end in reversed(ends):
                start, cut = end - span, end - c.horizon
                out.append(
                    Window(
                        s.values[start:cut].astype(np.float32),
                        cov[start:cut],
                        cal[start:cut],
                        cal[cut:end],
                        s.values[cut:end].astype(np.float32),
                    )
                )
        return out

    def context(self, series: Series) -> Window:
        """The window that forecasts the h steps after the series' end (its last L values)."""
        c = self.config
        self._check_series(series)
        if len(series) < c.lookback:
            raise ValueError(
                f"Forecaster: series {series.name!r} has {len(series)} steps; forecasting reads the last "
                f"lookback = {c.lookback}"
            )
        future = future_timestamps(series, c.horizon)
        past = series.timestamps[-c.lookback :]
        return Window(
            series.values[-c.lookback :].astype(np.float32),
            self._covariates(series)[-c.lookback :],
            self._calendar(past),
            self._calendar(future),
            None,
        )

    def collate(self, windows: Sequence[Window]) -> ForecastBatch:
        """Stack windows into a batch (float32)."""
        if not windows:
            raise ValueError("Forecaster.collate: expected at least one window, got none")

        def stack(k: int) -> Tensor:
            return torch.from_numpy(np.stack([w[k] for w in windows]).astype(np.float32))

        target = None if windows[0].target is None else stack(4)
        return ForecastBatch(stack(0), stack(1), stack(2), stack(3), target)

    def predict(self, series: Sequence[Series], *, batch_size: int = 256) -> list[SeriesForecast]:
        """Forecast the h steps after the end of each series."""
        device = next(self.parameters()).device
        out = []
        for k in range(0, len(series), batch_size):
            chunk = series[k : k + batch_size]
            f = self.forecast(self.collate([self.context(s) for s in chunk]).without_target(device))
            for i, s in enumerate(chunk):
                quantiles = None
                if f.quantiles is not None:
                    quantiles = {
                        tau: f.quantiles[i, :, j].double().cpu().numpy()
                        for j, tau in enumerate(self.config.quantiles)
                    }
                out.append(
                    SeriesForecast(
                        s.name,
                        future_timestamps(s, self.config.horizon),
                        f.point[i].double().cpu().numpy(),
                        None if f.lower is None else f.lower[i].double().cpu().numpy(),
                        None if f.upper is None else f.upper[i].double().cpu().numpy(),
                        quantiles,
                    )
                )
        return out

    def _check_series(self, s: Series) -> None:
        if s.freq != self.freq:
            raise ValueError(
                f"Forecaster: series {s.name!r} has frequency {s.freq!r}; this model forecasts {self.freq!r}"
            )
        if s.covariate_names != self.covariate_names:
            raise ValueError(
                f"Forecaster: series {s.name!r} has covariates {list(s.covariate_names)}; this model reads "
                f"{list(self.covariate_names)}"
            )

    def _calendar(self, timestamps: Any) -> np.ndarray:
        if not self.config.calendar:
            return np.zeros((len(timestamps), 0), dtype=np.float32)
        return calendar_features(timestamps, self.freq)[0]

    def _covariates(self, s: Series) -> np.ndarray:
        if s.covariates is None:
            return np.zeros((len(s), 0), dtype=np.float32)
        return s.covariates.astype(np.float32)

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model folder: config, weights, and the frequency and covariates it reads."""
        files = {"series": {"freq": self.freq, "covariates": list(self.covariate_names)}}
        return save_folder(path, KIND, asdict(self.config), self.state_dict(), {}, files)

    @classmethod
    def load(cls, path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> Forecaster:
        """A forecaster from a folder written by ``save``; it predicts exactly what the saved one did."""
        cfg, weights, _, files = load_folder(path, KIND, ForecasterConfig)
        if "series" not in files or "freq" not in files["series"]:
            raise ValueError(f"{path}: the model folder lacks series.json (frequency and covariates)")
        model = cls(cfg, files["series"]["freq"], files["series"].get("covariates", ()))
        return load_weights(model, weights, path).to(map_location).eval()


def _probe_timestamps(freq: str) -> Any:
    import pandas as pd

    return pd.date_range("2000-01-01", periods=2, freq=freq)
