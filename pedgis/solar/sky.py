"""Sun positions, the anisotropic sky and its shading by the horizon.

The hourly weather is turned into a *cumulative sky* once (for all pixels):

- the beam and circumsolar irradiation of the hours whose sun stands in the same azimuth
  column (``az_step`` wide) and elevation bin (``el_step`` high) are summed as vectors
  ``Σ_h (DNI_h + C_h) ŝ_h`` [Wh m⁻²] (ŝ the unit vector towards the sun, ``C_h`` the circumsolar
  coefficient of the sky model), cumulated from the zenith down. A plane with normal ``n̂`` and
  horizon ``h(φ)`` then receives ``n̂ · V(φ, max(h, h_self))`` per column, where ``h_self`` is the
  elevation below which the sun is behind the plane: one look-up per column and pixel instead of
  one per hour, exact except for the position of the shadow edge inside a bin;
- the isotropic diffuse, horizon-band diffuse and ground-reflected parts are sums of scalars,
  scaled per pixel by the plane's view of the unobstructed sky.

Models (both through pvlib, with the same coefficients as :func:`pvlib.irradiance.perez` and
:func:`pvlib.irradiance.haydavies`):

- Perez et al. (1990), Solar Energy 44(5), 271–289, doi:10.1016/0038-092X(90)90055-H:
  ``I_d = DHI [(1 - F1)(1 + cos β)/2 + F1 a/b + F2 sin β]``, ``a = max(0, cos θ)``,
  ``b = max(cos 85°, cos Z)``;
- Hay & Davies (1980): ``I_d = DHI [(1 - A_I)(1 + cos β)/2 + A_I cos θ / cos Z]``,
  ``A_I = DNI / DNI_extra``.

The circumsolar term ``DHI F1 / b · cos θ`` (Perez) or ``DHI A_I / cos Z · cos θ`` (Hay–Davies) has
the beam's direction, so it is shaded like the beam; the isotropic term is multiplied by the
plane's view of the visible sky (sky view factor of the tilted plane), the horizon band (Perez)
by the same ratio, and the ground-reflected term ``GHI ρ (1 - cos β)/2`` is not shaded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..io.weather import Weather
from .params import SKY_MODELS

HOURLY_EL_STEP = 0.5  # [°] elevation bins of the hourly aggregation (< 255 bins)
DEFAULT_ALBEDO = 0.2  # [-] ground reflectance for urban surfaces, e.g. pvlib SURFACE_ALBEDOS['urban'] 0.18


@dataclass
class HourlySky:
    """Hourly sun and sky terms [W m⁻²] on the weather's hours.

    Columns of ``data``: ``elevation``, ``azimuth`` [°] (apparent, pvlib), ``sx, sy, sz`` (unit
    vector to the sun: east, north, up), ``beam`` (DNI + circumsolar coefficient, applied with
    cos θ), ``dni``, ``circ`` (circumsolar coefficient), ``iso`` (isotropic sky, horizontal
    equivalent), ``hband`` (Perez horizon band, × sin β), ``refl`` (GHI · albedo, × (1 - cos β)/2),
    ``temp_air``, ``wind_speed``.
    """

    data: pd.DataFrame
    model: str


def hourly_sky(
    weather: Weather,
    model: str = "perez",
    albedo: float | None = None,
    clearsky: bool = False,
    linke_turbidity: float | None = None,
) -> HourlySky:
    """Sun positions and hourly sky terms for a weather year.

    Parameters
    ----------
    weather : Weather
    model : {'perez', 'haydavies'}
        Anisotropic diffuse model.
    albedo : float, optional
        Ground reflectance [-]; default: the weather file's hourly albedo, else 0.2.
    clearsky : bool
        Replace the measured irradiance with pvlib's Ineichen clear sky — used for the
        comparison with GRASS r.sun.
    linke_turbidity : float, optional
        Linke turbidity for the clear sky [-]; default pvlib's monthly climatology.

    Returns
    -------
    HourlySky
    """
    import pvlib

    if model not in SKY_MODELS:
        raise ConfigError(
            f"unknown sky model '{model}'; use one of {', '.join(SKY_MODELS)}.", key="solar.sky_model"
        )
    times = weather.sun_times
    sp = weather.sun_position
    zen = sp["apparent_zenith"].to_numpy()
    az = sp["azimuth"].to_numpy()
    data = weather.data
    if clearsky:
        loc = pvlib.location.Location(weather.latitude, weather.longitude, altitude=weather.altitude)
        if linke_turbidity is None:
            cs = loc.get_clearsky(times, model="ineichen", solar_position=sp)
        else:
            cs = loc.get_clearsky(times, model="ineichen", solar_position=sp,
                                  linke_turbidity=linke_turbidity)
        ghi, dni, dhi = (cs[c].to_numpy() for c in ("ghi", "dni", "dhi"))
    else:
        ghi, dni, dhi = (data[c].to_numpy(dtype=float) for c in ("ghi", "dni", "dhi"))
    dni_extra = pvlib.irradiance.get_extra_radiation(times).to_numpy()
    airmass = pvlib.atmosphere.get_relative_airmass(zen)
    cosz = np.cos(np.radians(zen))
    if model == "perez":
        c0 = pvlib.irradiance.perez(0.0, 180.0, dhi, dni, dni_extra, zen, az, airmass, return_components=True)
        c90 = pvlib.irradiance.perez(90.0, 180.0, dhi, dni, dni_extra, zen, az, airmass, return_components=True)
        iso = np.nan_to_num(np.asarray(c0["poa_isotropic"], dtype=float))  # DHI (1 - F1)
        hband = np.nan_to_num(np.asarray(c90["poa_horizon"], dtype=float))  # DHI F2
        night = ~np.isfinite(airmass)
        f1dhi = np.where(night, 0.0, np.clip(dhi - iso, 0.0, None))  # DHI F1
        circ = f1dhi / np.maximum(cosz, math.cos(math.radians(85.0)))
    else:
        ai = np.where(dni_extra > 0, dni / dni_extra, 0.0)
        iso = np.clip(dhi * (1.0 - ai), 0.0, None)
        hband = np.zeros_like(iso)
        circ = np.clip(dhi * ai, 0.0, None) / np.maximum(cosz, 0.01745)
    if albedo is None:
        alb = data["albedo"].to_numpy(dtype=float) if "albedo" in data.columns else DEFAULT_ALBEDO
    else:
        alb = float(albedo)
    el = 90.0 - zen
    azr = np.radians(az)
    elr = np.radians(el)
    out = pd.DataFrame(
        {
            "elevation": el,
            "azimuth": az,
            "sx": np.cos(elr) * np.sin(azr),
            "sy": np.cos(elr) * np.cos(azr),
            "sz": np.sin(elr),
            "dni": dni,
            "circ": circ,
            "beam": dni + circ,
            "iso": iso,
            "hband": hband,
            "refl": ghi * alb,
            "ghi": ghi,
            "dhi": dhi,
            "temp_air": data["temp_air"].to_numpy(dtype=float),
            "wind_speed": data["wind_speed"].to_numpy(dtype=float),
        },
        index=data.index,
    )
    return HourlySky(out, model)


@dataclass
class CumulativeSky:
    """Beam + circumsolar vectors binned by sun position, and the scalar sky sums [Wh m⁻²].

    ``cum[c, k, :]``: Σ of ``(DNI + C) ŝ`` over the hours of azimuth column ``col_index[c]``
    whose sun elevation is at least ``k · el_step`` (k = 0 … n_el; ``cum[c, n_el] = 0``).
    """

    cum: np.ndarray  # (n_cols, n_el + 1, 3) float64
    col_az: np.ndarray  # (n_cols,) column centre azimuth [°]
    el_step: float
    az_step: float
    iso: float
    hband: float
    refl: float
    # hour -> (column position, fractional elevation index) for hourly aggregation
    hour_col: np.ndarray
    hour_el: np.ndarray


def cumulative_sky(sky: HourlySky, az_step: float = 3.0, el_step: float = 0.25) -> CumulativeSky:
    """Bin the hourly beam + circumsolar vectors by sun position (see module notes).

    Parameters
    ----------
    sky : HourlySky
    az_step, el_step : float
        Column width and elevation bin height [°].
    """
    d = sky.data
    up = (d["elevation"].to_numpy() > 0.0) & (d["beam"].to_numpy() > 0.0)
    n_az = int(round(360.0 / az_step))
    n_el = int(math.ceil(90.0 / el_step))
    col = np.floor((d["azimuth"].to_numpy() % 360.0) / az_step).astype(np.int64) % n_az
    elb = np.clip(np.floor(d["elevation"].to_numpy() / el_step).astype(np.int64), 0, n_el - 1)
    vec = d[["sx", "sy", "sz"]].to_numpy() * d["beam"].to_numpy()[:, None]
    grid = np.zeros((n_az, n_el + 1, 3))
    np.add.at(grid, (col[up], elb[up]), vec[up])
    used = np.nonzero(grid.any(axis=(1, 2)))[0]
    cum = np.ascontiguousarray(np.cumsum(grid[used][:, ::-1, :], axis=1)[:, ::-1, :])
    pos = np.full(n_az, -1, dtype=np.int64)
    pos[used] = np.arange(len(used))
    hour_col = np.where(up, pos[col], -1)
    hour_el = np.where(up, d["elevation"].to_numpy() / el_step, np.nan)
    return CumulativeSky(
        cum=cum,
        col_az=(used + 0.5) * az_step,
        el_step=el_step,
        az_step=az_step,
        iso=float(d["iso"].sum()),
        hband=float(d["hband"].sum()),
        refl=float(d["refl"].sum()),
        hour_col=hour_col,
        hour_el=hour_el,
    )


@nb.njit(cache=True, inline="always")
def _self_horizon(sb, cb, cos_rel):
    # elevation [rad] below which a direction is behind the plane: tan e = -tan β cos(φ - γ)
    return math.atan2(-sb * cos_rel, cb)


@nb.njit(cache=True)
def _sky_fraction_terms(sb, cb, h):
    # ∫_h^{π/2} (n·ŝ) cos e de for one azimuth, split into the sinβ cos(φ-γ) and cosβ factors
    a = math.pi / 4.0 - h / 2.0 - math.sin(2.0 * h) / 4.0
    b = math.cos(h) ** 2 / 2.0
    return a, b


def _column_geometry(col_az, n_sec):
    """Per sun-azimuth column: cos/sin of its azimuth and the two horizon sectors around it."""
    x = np.asarray(col_az) / (360.0 / n_sec)
    i0 = np.floor(x).astype(np.int64) % n_sec
    i1 = (i0 + 1) % n_sec
    w = x - np.floor(x)
    phi = np.radians(col_az)
    return np.cos(phi), np.sin(phi), i0, i1, w


@nb.njit(cache=True, inline="always")
def _threshold_deg(hrow, i0, i1, w, cphi, sphi, sb, cb, sg, cg, tilt_deg):
    # max(horizon, plane's own horizon, 0) [°] in the direction of one column; the plane's own
    # horizon never exceeds its tilt, so it is only computed when the horizon is lower
    thr = hrow[i0] * (1.0 - w) + hrow[i1] * w
    cr = cphi * cg + sphi * sg  # cos(φ - γ)
    if cr < 0.0 and sb > 0.0 and thr < tilt_deg:
        hs = math.degrees(math.atan2(-sb * cr, cb))
        if hs > thr:
            thr = hs
    if thr < 0.0:
        thr = 0.0
    return thr


@nb.njit(parallel=True, cache=True)
def _poa_kernel(tilt, azim, horizon, cphi, sphi, ci0, ci1, cw, scos, ssin, cum, el_step, out_beam,
                out_svf, hourly_step, out_bins):
    n = tilt.shape[0]
    n_sec = horizon.shape[1]
    n_col = cphi.shape[0]
    n_el = cum.shape[1] - 1
    sec_w = 2.0 * math.pi / n_sec
    keep_bins = out_bins.shape[0] == n
    for p in nb.prange(n):
        b = math.radians(tilt[p])
        g = math.radians(azim[p])
        if not np.isfinite(horizon[p, 0]) or not np.isfinite(b) or not np.isfinite(g):
            out_beam[p] = np.nan
            out_svf[p] = np.nan
            continue
        sb = math.sin(b)
        cb = math.cos(b)
        sg = math.sin(g)
        cg = math.cos(g)
        nx = sb * sg
        ny = sb * cg
        nz = cb
        hrow = horizon[p]
        # beam + circumsolar, column by column
        acc = 0.0
        for c in range(n_col):
            thr = _threshold_deg(hrow, ci0[c], ci1[c], cw[c], cphi[c], sphi[c], sb, cb, sg, cg, tilt[p])
            if keep_bins:
                out_bins[p, c] = min(int(thr / hourly_step), 255)
            xe = thr / el_step
            k0 = int(xe)
            if k0 >= n_el:
                continue
            f = 1.0 - (xe - k0)
            vx = cum[c, k0 + 1, 0] + f * (cum[c, k0, 0] - cum[c, k0 + 1, 0])
            vy = cum[c, k0 + 1, 1] + f * (cum[c, k0, 1] - cum[c, k0 + 1, 1])
            vz = cum[c, k0 + 1, 2] + f * (cum[c, k0, 2] - cum[c, k0 + 1, 2])
            dot = nx * vx + ny * vy + nz * vz
            if dot > 0.0:
                acc += dot
        out_beam[p] = acc
        # isotropic sky seen by the tilted plane: the open-sky value (1 + cos β)/2 minus what the
        # horizon hides above the plane's own horizon, sector by sector
        loss = 0.0
        for j in range(n_sec):
            hj = hrow[j]
            if hj <= 0.0:
                continue
            cr = scos[j] * cg + ssin[j] * sg
            hs = 0.0
            if cr < 0.0 and sb > 0.0:
                hs = math.atan2(-sb * cr, cb)
            ho = math.radians(hj)
            if ho <= hs:
                continue
            a1, b1 = _sky_fraction_terms(sb, cb, ho)
            if hs == 0.0:
                a0, b0 = math.pi / 4.0, 0.5  # _sky_fraction_terms at h = 0
            else:
                a0, b0 = _sky_fraction_terms(sb, cb, hs)
            loss += sb * cr * (a0 - a1) + cb * (b0 - b1)
        out_svf[p] = max((1.0 + cb) / 2.0 - loss * sec_w / math.pi, 0.0)


@dataclass
class PlaneIrradiation:
    """Annual irradiation per plane (pixel) [kWh m⁻² a⁻¹] and its parts."""

    total: np.ndarray
    beam: np.ndarray  # beam + circumsolar (shaded)
    diffuse: np.ndarray  # isotropic + horizon band (scaled by the view of the sky)
    reflected: np.ndarray
    sky_view: np.ndarray  # view factor of the visible sky from the tilted plane [-]
    # per plane and sun-azimuth column: the hourly elevation bin of the shading threshold
    # (255 = never sunlit), for :func:`hourly_groups`
    hourly_bins: np.ndarray | None = None


def annual_poa(
    tilt: np.ndarray, azimuth: np.ndarray, horizon: np.ndarray, csky: CumulativeSky,
    keep_hourly_bins: bool = False,
) -> PlaneIrradiation:
    """Annual plane-of-array irradiation of many planes, each with its own horizon.

    Parameters
    ----------
    tilt, azimuth : ndarray (n,)
        Plane tilt and azimuth [°] (azimuth clockwise from north, 180 = south).
    horizon : ndarray (n, n_sectors)
        Horizon angles [°] (:func:`pedgis.solar.horizon.horizon_angles`).
    csky : CumulativeSky
    keep_hourly_bins : bool
        Also return each plane's shading thresholds as hourly elevation bins (uint8, one per
        sun-azimuth column), so that :func:`hourly_groups` need not compute them again.

    Returns
    -------
    PlaneIrradiation
        [kWh m⁻² a⁻¹]; NaN where the horizon or tilt is NaN (nodata).

    Notes
    -----
    ``E = Σ_c max(0, n̂·V_c(max(h_c, h_self,c))) + I_iso · SVF_β + I_hb · sin β · SVF_β/SVF_β,0
    + ρ GHI (1 - cos β)/2`` with ``SVF_β = (1 + cos β)/2 - (Δφ/π) Σ_j [f(h_s,j) - f(h_j)]`` over
    the sectors where the horizon ``h_j`` rises above ``h_s,j = max(h_self,j, 0)``, and
    ``f(h) = sin β cos(φ_j - γ)(π/4 - h/2 - sin 2h/4) + cos β cos² h / 2`` (the integral of
    ``cos θ cos e de`` from ``h`` to the zenith); for an open horizon ``SVF_β = (1 + cos β)/2``
    exactly, the isotropic term of Perez and Hay–Davies; for a horizontal plane
    ``SVF = mean_j cos² h_j``.
    """
    from ..units import wh_to_kwh

    tilt = np.ascontiguousarray(tilt, dtype=np.float64)
    azimuth = np.ascontiguousarray(azimuth, dtype=np.float64)
    horizon = np.ascontiguousarray(horizon, dtype=np.float32)
    n = tilt.shape[0]
    beam = np.empty(n)
    svf = np.empty(n)
    n_col = csky.col_az.shape[0]
    bins = np.full((n if keep_hourly_bins else 0, n_col), 255, dtype=np.uint8)
    if n:
        cphi, sphi, ci0, ci1, cw = _column_geometry(csky.col_az, horizon.shape[1])
        sec = np.radians(np.arange(horizon.shape[1]) * (360.0 / horizon.shape[1]))
        _poa_kernel(tilt, azimuth, horizon, cphi, sphi, ci0, ci1, cw, np.cos(sec), np.sin(sec),
                    csky.cum, csky.el_step, beam, svf, HOURLY_EL_STEP, bins)
    cb = np.cos(np.radians(tilt))
    sb = np.sin(np.radians(tilt))
    ratio = np.where((1.0 + cb) > 0, svf / ((1.0 + cb) / 2.0), 0.0)
    diffuse = csky.iso * svf + csky.hband * sb * ratio
    refl = csky.refl * (1.0 - cb) / 2.0
    total = beam + diffuse + refl
    return PlaneIrradiation(
        total=wh_to_kwh(total),
        beam=wh_to_kwh(beam),
        diffuse=wh_to_kwh(diffuse),
        reflected=wh_to_kwh(refl),
        sky_view=svf,
        hourly_bins=bins if keep_hourly_bins else None,
    )


@nb.njit(parallel=True, cache=True)
def _group_beam_kernel(tilt, azim, horizon, weight, order, starts, cphi, sphi, ci0, ci1, cw,
                       el_step, n_el, hour_col, hour_k, hour_f, hour_s, bins, out):
    # one group at a time: its histogram (columns × elevation bins × 3) stays in cache, is
    # cumulated from the horizon up and read for every sunlit hour
    n_groups = starts.shape[0] - 1
    n_col = cphi.shape[0]
    n_hours = hour_col.shape[0]
    have_bins = bins.shape[0] == tilt.shape[0]
    for gi in nb.prange(n_groups):
        cum = np.zeros((n_col, n_el + 2, 3))
        for q in range(starts[gi], starts[gi + 1]):
            p = order[q]
            wgt = weight[p]
            if wgt <= 0.0 or not np.isfinite(horizon[p, 0]):
                continue
            b = math.radians(tilt[p])
            g = math.radians(azim[p])
            sb = math.sin(b)
            cb = math.cos(b)
            sg = math.sin(g)
            cg = math.cos(g)
            nx = sb * sg * wgt
            ny = sb * cg * wgt
            nz = cb * wgt
            hrow = horizon[p]
            for c in range(n_col):
                if have_bins:
                    k = np.int64(bins[p, c])
                else:
                    thr = _threshold_deg(hrow, ci0[c], ci1[c], cw[c], cphi[c], sphi[c], sb, cb,
                                         sg, cg, tilt[p])
                    k = int(thr / el_step)
                if k >= n_el:
                    continue
                cum[c, k + 1, 0] += nx
                cum[c, k + 1, 1] += ny
                cum[c, k + 1, 2] += nz
        # cum[c, k] = Σ over bins strictly below k
        for c in range(n_col):
            for k in range(1, n_el + 2):
                for a in range(3):
                    cum[c, k, a] += cum[c, k - 1, a]
        for i in range(n_hours):
            c = hour_col[i]
            k = hour_k[i]
            f = hour_f[i]
            acc = 0.0
            for a in range(3):
                acc += (cum[c, k, a] + f * (cum[c, k + 1, a] - cum[c, k, a])) * hour_s[i, a]
            out[i, gi] = acc


def hourly_groups(tilt, azimuth, horizon, svf, weight, group, n_groups, csky: CumulativeSky,
                  sky: HourlySky, hourly_bins=None) -> np.ndarray:
    """Hourly irradiance summed over groups of planes (e.g. the modules of one building).

    Parameters
    ----------
    tilt, azimuth, horizon, svf : per plane, as in :func:`annual_poa` (``svf`` its ``sky_view``)
    weight : ndarray (n,)
        Area of each plane [m²] (0 = not counted).
    group : ndarray of int (n,)
        Group of each plane, ``0 … n_groups-1``.
    hourly_bins : ndarray uint8 (n, columns), optional
        The planes' ``PlaneIrradiation.hourly_bins``; computed here when not given.

    Returns
    -------
    ndarray (n_hours, n_groups)
        Σ over the group of area × irradiance [W] (per hour: [Wh]).

    Notes
    -----
    The normal vectors (× area) of a group's planes are binned by the elevation of their
    shading threshold ``max(h, h_self, 0)`` per sun-azimuth column (0.5° bins); in an hour
    whose sun stands at elevation ``e`` in column ``c``, the visible planes are those with a
    threshold below ``e`` (linear within the bin) and the beam + circumsolar power is
    ``(DNI + C) ŝ · Σ_visible A n̂``. Diffuse and reflected parts are the hourly scalars times
    ``Σ A SVF_β``, ``Σ A sin β SVF_β/SVF_β,0`` and ``Σ A (1 - cos β)/2``.
    """
    tilt = np.ascontiguousarray(tilt, dtype=np.float64)
    azimuth = np.ascontiguousarray(azimuth, dtype=np.float64)
    horizon = np.ascontiguousarray(horizon, dtype=np.float32)
    weight = np.ascontiguousarray(np.nan_to_num(weight), dtype=np.float64)
    group = np.asarray(group, dtype=np.int64)
    order = np.argsort(group, kind="stable").astype(np.int64)
    starts = np.searchsorted(group[order], np.arange(n_groups + 1)).astype(np.int64)
    n_el = int(math.ceil(90.0 / HOURLY_EL_STEP))
    d = sky.data
    n_h = len(d)
    out = np.zeros((n_h, n_groups))
    hrs = np.nonzero(csky.hour_col >= 0)[0]
    if len(tilt) and len(hrs):
        cphi, sphi, ci0, ci1, cw = _column_geometry(csky.col_az, horizon.shape[1])
        e = d["elevation"].to_numpy()[hrs] / HOURLY_EL_STEP
        k = np.clip(np.floor(e).astype(np.int64), 0, n_el)
        beam_vec = np.ascontiguousarray(d[["sx", "sy", "sz"]].to_numpy()[hrs] * d["beam"].to_numpy()[hrs, None])
        beam = np.empty((len(hrs), n_groups))
        if hourly_bins is None:
            bins = np.zeros((0, len(cphi)), dtype=np.uint8)
        else:
            bins = np.ascontiguousarray(hourly_bins, dtype=np.uint8)
        _group_beam_kernel(tilt, azimuth, horizon, weight, order, starts, cphi, sphi, ci0, ci1, cw,
                           HOURLY_EL_STEP, n_el, csky.hour_col[hrs].astype(np.int64), k, e - k,
                           beam_vec, bins, beam)
        out[hrs, :] = beam
    cb = np.cos(np.radians(tilt))
    sb = np.sin(np.radians(tilt))
    ratio = np.where((1.0 + cb) > 0, svf / ((1.0 + cb) / 2.0), 0.0)
    a_svf = np.bincount(group, weights=weight * np.nan_to_num(svf), minlength=n_groups)
    a_hb = np.bincount(group, weights=weight * sb * np.nan_to_num(ratio), minlength=n_groups)
    a_gr = np.bincount(group, weights=weight * (1.0 - cb) / 2.0, minlength=n_groups)
    out += np.outer(d["iso"].to_numpy(), a_svf)
    out += np.outer(d["hband"].to_numpy(), a_hb)
    out += np.outer(d["refl"].to_numpy(), a_gr)
    return out
