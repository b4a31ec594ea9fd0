"""Shared pieces of the pages: number formatting and colour classes.

Escaping user text for a page is :mod:`pedgis.escaping`'s job.
"""

from __future__ import annotations

import math

import numpy as np

from pedgis import units

# ColorBrewer (Cynthia Brewer, colorbrewer2.org, Apache-2.0 style licence) 7-class schemes.
YLORRD = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"]
YLGNBU = ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"]
# viridis (matplotlib, CC0) sampled at 7 points — irradiation
VIRIDIS = ["#440154", "#443983", "#31688e", "#21918c", "#35b779", "#90d743", "#fde725"]
INFERNO = ["#000004", "#320a5e", "#781c6d", "#bc3754", "#ed6925", "#fbb61a", "#fcffa4"]
# RdBu reversed: exporters (negative balance) blue, importers (positive) red; 8 classes,
# four each side of zero so that zero is always a class edge.
RDBU_DIVERGING = [
    "#2166ac", "#4393c3", "#92c5de", "#d1e5f0",
    "#fddbc7", "#f4a582", "#d6604d", "#b2182b",
]
NODATA_COLOR = "#bdbdbd"
EXCLUDED_COLOR = "#eeeeee"


def fmt_number(value: float | None, digits: int = 3) -> str:
    """A number with ``digits`` significant digits and thin-space thousands separators."""
    if value is None or not math.isfinite(value):
        return "no data"
    if value == 0:
        return "0"
    mag = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - mag)
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u202f")


def fmt_energy(kwh: float | None, per: str = "a") -> str:
    """Annual energy with a readable unit (kWh, MWh or GWh), e.g. ``1.23 GWh/a``."""
    if kwh is None or not math.isfinite(kwh):
        return "no data"
    suffix = f"/{per}" if per else ""
    a = abs(kwh)
    if a >= units.KWH_PER_GWH:
        return f"{fmt_number(kwh / units.KWH_PER_GWH)} GWh{suffix}"
    if a >= 10 * units.KWH_PER_MWH:
        return f"{fmt_number(units.kwh_to_mwh(kwh))} MWh{suffix}"
    return f"{fmt_number(kwh)} kWh{suffix}"


def nice_step(raw: float) -> float:
    """The 1-2-2.5-5 × 10ⁿ step at or above ``raw``."""
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    exp = math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * 10**exp >= raw:
            return m * 10**exp
    return 10 ** (exp + 1)


def sequential_breaks(values: np.ndarray, n_classes: int = 7) -> list[float]:
    """Inner class edges (``n_classes - 1`` of them) spanning the 2–98 % range with nice steps.

    Robust to outliers: the range is taken between the 2nd and 98th percentiles of the finite
    values; returns ``[]`` when no finite values exist.
    """
    v = np.asarray(values, dtype="float64")
    v = v[np.isfinite(v)]
    if v.size == 0:
        return []
    lo, hi = np.percentile(v, [2, 98])
    if hi - lo <= 1e-6 * max(abs(lo), abs(hi), 1.0):  # (nearly) constant values
        hi = lo + max(abs(lo) * 0.1, 1.0)
    step = nice_step((hi - lo) / n_classes)
    start = math.floor(lo / step) * step
    edges = [start + step * (i + 1) for i in range(n_classes - 1)]
    return [round(e, 10) for e in edges]


def round_sig(x: float, digits: int = 2) -> float:
    """``x`` rounded to ``digits`` significant digits."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def natural_breaks(values: np.ndarray, palette: list[str],
                   max_sample: int = 1000) -> tuple[list[float], list[str]]:
    """Fisher–Jenks natural breaks: class edges that minimise the within-class variance.

    Suits archetype-based values (a large cluster of buildings with the same specific need
    and a few outliers): the cluster is split finely where values differ and the outliers
    get their own classes, unlike equal intervals (all in one class) or quantiles (outliers
    hidden). Edges are the lowest value of each class, rounded to 3 significant digits;
    edges that coincide are merged and the colours spread over the palette. More than
    ``max_sample`` values are reduced to evenly spaced order statistics (min and max kept).

    Notes
    -----
    Dynamic programme of Fisher (1958), "On grouping for maximum homogeneity", J. Am. Stat.
    Assoc. 53, 789–798, over the sorted values with prefix sums of x and x².
    """
    v = np.asarray(values, dtype="float64")
    v = np.sort(v[np.isfinite(v)])
    k = len(palette)
    if v.size == 0:
        return [], []
    if v.size > max_sample:
        v = v[np.round(np.linspace(0, v.size - 1, max_sample)).astype(int)]
    n = v.size
    k = min(k, len(np.unique(v)))
    if k < 2:
        breaks = sequential_breaks(v, len(palette))
        return breaks, list(palette[: len(breaks) + 1])
    s1 = np.r_[0.0, np.cumsum(v)]
    s2 = np.r_[0.0, np.cumsum(v * v)]
    inf = np.inf
    # cost[c][j]: best sum of squared deviations of v[:j] in c+1 classes; arg[c][j]: start
    cost = np.full((k, n + 1), inf)
    arg = np.zeros((k, n + 1), dtype=int)
    j = np.arange(1, n + 1)
    cost[0, 1:] = s2[1:] - s1[1:] ** 2 / j
    # ssd[i, jj]: squared deviations of the class v[i:jj] (i < jj), for all classes at once
    i, jj = np.arange(n + 1)[:, None], np.arange(n + 1)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        ssd = (s2[jj] - s2[i]) - (s1[jj] - s1[i]) ** 2 / (jj - i)
    ssd[i >= jj] = inf
    ends = np.arange(n + 1)
    for c in range(1, k):
        tot = cost[c - 1, c:, None] + ssd[c:]  # last class v[i:jj], i >= c
        best = np.argmin(tot, axis=0)  # the first of equal minima, as a loop over i would take
        cost[c, c + 1:] = tot[best[c + 1:], ends[c + 1:]]
        arg[c, c + 1:] = best[c + 1:] + c
    starts = []
    jj = n
    for c in range(k - 1, 0, -1):
        jj = arg[c, jj]
        starts.append(jj)
    edges = sorted({round_sig(float(v[i]), 3) for i in starts})
    edges = [e for e in edges if v[0] < e <= v[-1]]
    if not edges:
        breaks = sequential_breaks(v, len(palette))
        return breaks, list(palette[: len(breaks) + 1])
    idx = np.round(np.linspace(0, len(palette) - 1, len(edges) + 1)).astype(int)
    return edges, [palette[i] for i in idx]


def diverging_breaks(values: np.ndarray, n_side: int = 4) -> list[float]:
    """Class edges symmetric around zero: ``-k·s … 0 … k·s`` (``2·n_side - 1`` edges).

    ``s`` is a nice step so that the outermost classes start at about the 98th percentile
    of ``|value|``.
    """
    v = np.asarray(values, dtype="float64")
    v = np.abs(v[np.isfinite(v)])
    top = float(np.percentile(v, 98)) if v.size else 1.0
    if top <= 0:
        top = 1.0
    step = nice_step(top / n_side)
    return [step * i for i in range(-(n_side - 1), n_side)]


def class_index(value: float | None, breaks: list[float]) -> int | None:
    """Index of the class ``value`` falls in (``breaks`` are inner edges; ``v < b`` goes left)."""
    if value is None or not math.isfinite(value):
        return None
    for i, b in enumerate(breaks):
        if value < b:
            return i
    return len(breaks)


def class_labels(breaks: list[float], unit: str) -> list[str]:
    """Readable labels for the classes delimited by ``breaks``."""
    if not breaks:
        return []
    u = f" {unit}" if unit else ""
    # enough significant digits that every edge prints exactly (nice edges need few)
    def exact(b, d):
        return abs(float(fmt_number(b, d).replace("\u202f", "")) - b) <= 1e-9 * max(abs(b), 1)

    digits = 3
    while digits < 10 and not all(exact(b, digits) for b in breaks):
        digits += 1

    def f(x):
        return fmt_number(x, digits)

    labels = [f"< {f(breaks[0])}{u}"]
    for a, b in zip(breaks[:-1], breaks[1:], strict=True):
        labels.append(f"{f(a)} – {f(b)}{u}")
    labels.append(f"≥ {f(breaks[-1])}{u}")
    return labels
