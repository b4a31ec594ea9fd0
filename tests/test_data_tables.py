"""Integrity of the shipped data tables in ``pedgis/data``.

Every table is long-format CSV in which each value carries its own ``source``. These tests check
the structure (headers, keys, units, required carriers/sets/uses), the physical ranges, and
recompute by hand the values that were derived from a cited source, so that a typo in a table
makes a test fail. The expected numbers come from the paper (Gabaldón Moreno et al., Sustainability
2021, 13, 710: Tables 1-2, Sects. 2.2.1, 2.3, 2.4) or from the arithmetic written out below.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import pytest

import pedgis

DATA = Path(pedgis.__file__).resolve().parent / "data"

CARRIERS = [
    "electricity", "green_electricity", "natural_gas", "oil", "lpg", "coal", "biogas", "biomass",
    "district_heat", "district_cooling", "waste_heat", "solar_thermal", "ambient_air", "geothermal",
    "hydropower", "wind", "pv_electricity",
]
PEF_SETS = ["iso52000_default", "ES", "DE", "FI", "NO", "IE", "NL", "IT"]
USES = ["residential", "office", "commercial", "education", "health", "hotel", "sports", "industrial"]
NEEDS = ["sh", "sc", "dhw", "lighting", "ventilation", "appliances"]
NEED_SETS = ["eu27_existing", "nzeb"]

FOSSIL = ["natural_gas", "oil", "lpg", "coal"]
ONSITE_RES = ["solar_thermal", "ambient_air", "geothermal", "hydropower", "wind", "pv_electricity"]
FALLBACK_B16 = "ISO 52000-1:2017 Table B.16 default (no national value)"
FALLBACK_PEDGIS = "pedgis iso52000_default value, not in Table B.16 (no national value)"

HEADERS = {
    "primary_energy_factors.csv": ["set", "carrier", "pef_nren", "pef_ren", "pef_nren_export",
                                   "pef_ren_export", "co2_kg_per_kwh", "source"],
    "specific_needs.csv": ["set", "use", "need", "value", "unit", "source"],
    "dhw_per_unit.csv": ["use", "unit", "kwh_per_unit", "source"],
    "systems.csv": ["kind", "parameter", "value", "unit", "source"],
    "storey_heights.csv": ["use", "storey_height_m", "source"],
}
KEYS = {
    "primary_energy_factors.csv": ("set", "carrier"),
    "specific_needs.csv": ("set", "use", "need"),
    "dhw_per_unit.csv": ("use", "unit"),
    "systems.csv": ("kind", "parameter"),
    "storey_heights.csv": ("use",),
}
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def read(name: str) -> list[dict[str, str]]:
    # strict UTF-8: a mis-encoded file raises UnicodeDecodeError here
    text = (DATA / name).read_bytes().decode("utf-8")
    return list(csv.DictReader(text.splitlines()))


def num(value: str) -> float:
    return float(value)


@pytest.fixture(scope="module")
def pef() -> dict[tuple[str, str], dict[str, str]]:
    return {(r["set"], r["carrier"]): r for r in read("primary_energy_factors.csv")}


@pytest.fixture(scope="module")
def needs() -> dict[tuple[str, str, str], float]:
    return {(r["set"], r["use"], r["need"]): num(r["value"]) for r in read("specific_needs.csv")}


@pytest.fixture(scope="module")
def systems() -> dict[tuple[str, str], float]:
    return {(r["kind"], r["parameter"]): num(r["value"]) for r in read("systems.csv")}


# --------------------------------------------------------------------------- structure, all tables

@pytest.mark.parametrize("name", sorted(HEADERS))
def test_header_exact(name):
    text = (DATA / name).read_bytes().decode("utf-8")
    assert not text.startswith("\ufeff"), f"{name}: remove the UTF-8 byte-order mark"
    assert next(csv.reader(text.splitlines())) == HEADERS[name]


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_every_row_complete_and_sourced(name):
    rows = read(name)
    assert rows, f"{name} is empty"
    for i, row in enumerate(rows, start=2):
        assert None not in row, f"{name} line {i}: too many fields (unquoted comma in source?)"
        assert len(row["source"].strip()) >= 20, f"{name} line {i}: source missing or too vague"
        for col, val in row.items():
            assert val == val.strip(), f"{name} line {i}: stray whitespace in {col}"
            if col not in ("pef_nren_export", "pef_ren_export"):
                assert val != "", f"{name} line {i}: empty {col}"


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_no_duplicate_keys(name):
    seen = {}
    for i, row in enumerate(read(name), start=2):
        key = tuple(row[k] for k in KEYS[name])
        assert key not in seen, f"{name}: {key} on lines {seen[key]} and {i}"
        seen[key] = i


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_ids_snake_case(name):
    id_cols = [c for c in KEYS[name] if c not in ("set",)]
    for row in read(name):
        for col in id_cols:
            assert SNAKE.match(row[col]), f"{name}: {col}={row[col]!r} is not snake_case"


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_numbers_parse_and_finite(name):
    num_cols = [c for c in HEADERS[name] if c not in ("set", "carrier", "use", "need", "unit",
                                                        "kind", "parameter", "source")]
    for row in read(name):
        for col in num_cols:
            if row[col] == "":
                continue
            assert math.isfinite(num(row[col])), f"{name}: {col}={row[col]!r}"


# --------------------------------------------------------------------------- primary energy factors

def test_pef_every_set_has_every_carrier(pef):
    sets = {s for s, _ in pef}
    assert sets == set(PEF_SETS)
    for s in PEF_SETS:
        missing = [c for c in CARRIERS if (s, c) not in pef]
        assert not missing, f"set {s} misses carriers {missing}"
    assert len(pef) == len(PEF_SETS) * len(CARRIERS), "unknown carrier in the table"


def test_pef_physical_ranges(pef):
    for (s, c), r in pef.items():
        nren, ren, co2 = num(r["pef_nren"]), num(r["pef_ren"]), num(r["co2_kg_per_kwh"])
        assert 0.0 <= nren <= 4.0, (s, c, nren)
        assert 0.0 <= ren <= 1.5, (s, c, ren)
        assert 0.0 <= co2 <= 1.2, (s, c, co2)  # hard coal ~0.34-0.47; oil-fired island grids ~0.9
        for col in ("pef_nren_export", "pef_ren_export"):
            if r[col] != "":
                assert 0.0 <= num(r[col]) <= 4.0, (s, c, col)


def test_pef_export_empty_means_substitution(pef):
    # the paper's substitution assumption (Sect. 2.6): no set overrides the export factor, so the
    # engine falls back to the import factor; a filled value must say which national rule sets it
    for (s, c), r in pef.items():
        if r["pef_nren_export"] or r["pef_ren_export"]:
            assert "export" in r["source"].lower(), (s, c)


def test_pef_carrier_classes(pef):
    for s in PEF_SETS:
        for c in FOSSIL:
            r = pef[(s, c)]
            assert num(r["pef_nren"]) >= 1.0, f"{s}/{c}: fossil fuel below 1"
            assert num(r["pef_ren"]) < 0.01, f"{s}/{c}: fossil fuel with renewable share"
            assert num(r["co2_kg_per_kwh"]) >= 0.18, f"{s}/{c}: fossil CO2 factor implausibly low"
        for c in ONSITE_RES:
            r = pef[(s, c)]
            assert num(r["pef_nren"]) <= 0.1, f"{s}/{c}: on-site renewable with non-renewable PEF"
            assert num(r["co2_kg_per_kwh"]) == 0.0, f"{s}/{c}"
        assert num(pef[(s, "electricity")]["pef_nren"]) > 1.0, f"{s}: grid electricity"


def test_pef_fallback_rows_copy_iso(pef):
    n_fallback = 0
    for (s, c), r in pef.items():
        if s == "iso52000_default":
            continue
        if r["source"].startswith((FALLBACK_B16, FALLBACK_PEDGIS)):
            n_fallback += 1
            iso = pef[("iso52000_default", c)]
            for col in ("pef_nren", "pef_ren", "co2_kg_per_kwh"):
                assert num(r[col]) == num(iso[col]), f"{s}/{c}: fallback {col} differs from ISO"
    assert n_fallback > 0


def test_pef_iso_defaults_table_b16(pef):
    # ISO 52000-1:2017 Table B.16 default choices (fP;nren, fP;ren)
    expected = {"electricity": (2.3, 0.2), "natural_gas": (1.1, 0.0), "oil": (1.1, 0.0),
                "coal": (1.1, 0.0), "biomass": (0.2, 1.0), "biogas": (0.4, 1.0),
                "pv_electricity": (0.0, 1.0), "solar_thermal": (0.0, 1.0), "ambient_air": (0.0, 1.0)}
    for c, (nren, ren) in expected.items():
        r = pef[("iso52000_default", c)]
        assert (num(r["pef_nren"]), num(r["pef_ren"])) == (nren, ren), c
    # total factor of grid electricity: 2.3 + 0.2 = 2.5 (Eq. 16, TPEF = PEFnren + PEFren)
    e = pef[("iso52000_default", "electricity")]
    assert num(e["pef_nren"]) + num(e["pef_ren"]) == pytest.approx(2.5)


def test_pef_national_values(pef):
    def pair(s, c):
        r = pef[(s, c)]
        return num(r["pef_nren"]), num(r["pef_ren"]), num(r["co2_kg_per_kwh"])

    # IT: DM 26/06/2015 Allegato 1 Tab. 1; fP,tot grid = 1.95 + 0.47 = 2.42
    assert pair("IT", "electricity")[:2] == (1.95, 0.47)
    assert sum(pair("IT", "electricity")[:2]) == pytest.approx(2.42)
    assert pair("IT", "natural_gas")[:2] == (1.05, 0.0)
    assert pair("IT", "biomass")[:2] == (0.20, 0.80)
    assert pair("IT", "district_heat")[:2] == (1.5, 0.0)
    # ES: IDAE/RITE 2016, peninsular grid 1.954 + 0.414 = 2.368, 0.331 kg/kWh
    assert pair("ES", "electricity") == (1.954, 0.414, 0.331)
    assert sum(pair("ES", "electricity")[:2]) == pytest.approx(2.368)
    assert pair("ES", "natural_gas") == (1.190, 0.005, 0.252)
    # DE: GEG 2020 Anlage 4 (nren) and Anlage 9 (g CO2-eq/kWh / 1000)
    assert pair("DE", "electricity")[0] == 1.8 and pair("DE", "electricity")[2] == 560 / 1000
    assert pair("DE", "natural_gas")[0] == 1.1 and pair("DE", "natural_gas")[2] == 240 / 1000
    assert pair("DE", "biomass")[0] == 0.2 and pair("DE", "biomass")[2] == 20 / 1000
    # FI: Decree 788/2017 single factors, PEFren = 0 (paper Sect. 2.6)
    for c, f in {"electricity": 1.2, "district_heat": 0.5, "district_cooling": 0.28,
                 "oil": 1.0, "natural_gas": 1.0, "biomass": 0.5}.items():
        assert pair("FI", c)[:2] == (f, 0.0), c
    # NL: NTA 8800 electricity 1.45
    assert pair("NL", "electricity")[0] == 1.45
    # IT fuels: IPCC 2006 / ISPRA t CO2/TJ (NCV) -> kg/kWh, 1 TJ = 277.78 MWh, rounded to 3 digits
    for c, t_per_tj in {"natural_gas": 55.9, "lpg": 63.1, "oil": 74.1, "coal": 94.6}.items():
        assert pair("IT", c)[2] == round(t_per_tj / 277.78, 3), c


def test_pef_no_set_is_iso_plus_co2(pef):
    # Norway has no national PEF: every PEF of the NO set is the ISO default
    for c in CARRIERS:
        assert pef[("NO", c)]["pef_nren"] == pef[("iso52000_default", c)]["pef_nren"], c
        assert pef[("NO", c)]["pef_ren"] == pef[("iso52000_default", c)]["pef_ren"], c
        assert "no national value" in pef[("NO", c)]["source"], c


# --------------------------------------------------------------------------- specific needs

def test_needs_complete_grid(needs):
    for s in NEED_SETS:
        for u in USES:
            for n in NEEDS:
                assert (s, u, n) in needs, f"missing {s}/{u}/{n}"
    assert len(needs) == len(NEED_SETS) * len(USES) * len(NEEDS), "unknown set/use/need"


def test_needs_units_and_ranges():
    for r in read("specific_needs.csv"):
        assert r["unit"] == "kWh/m2a", r
        v = num(r["value"])
        assert 0.0 < v <= 200.0, (r["set"], r["use"], r["need"], v)


def test_needs_paper_tables(needs):
    # Table 1 (EU-27 average residential / NZEB) and Table 2 (lighting, ventilation 1.3-5.5)
    assert needs[("eu27_existing", "residential", "sh")] == 144
    assert needs[("eu27_existing", "residential", "sc")] == 50
    assert needs[("eu27_existing", "residential", "dhw")] == 21
    assert 9 <= needs[("nzeb", "residential", "sh")] <= 34.3
    assert needs[("nzeb", "residential", "sc")] == 15
    assert needs[("nzeb", "residential", "dhw")] == 10
    for s in NEED_SETS:
        assert needs[(s, "residential", "lighting")] == 5
        assert 1.3 <= needs[(s, "residential", "ventilation")] <= 5.5


def test_needs_nzeb_not_above_existing(needs):
    for u in USES:
        for n in ("sh", "sc", "dhw", "lighting"):
            assert needs[("nzeb", u, n)] <= needs[("eu27_existing", u, n)], (u, n)


def test_needs_hotmaps_service_mean(needs):
    # HotMaps AD.EURAC.Ave_useful_h&c_demand.csv, sector 'service' (SH, DHW, SC in kWh/m2a),
    # the 27 EU member states; unweighted mean rounded to 0.1
    service = {
        "AT": (130.2266667, 5.76, 84.176), "BE": (160.855, 7.765, 74.355),
        "BG": (60.45, 4.97, 88.605), "HR": (111, 2.18, 108.91), "CY": (24.685, 5.68, 177.87),
        "CZ": (168.23, 5, 48.415), "DK": (116, 1.32, 46.5), "EE": (125.675, 4, 54.5),
        "FI": (166, 2.57, 56.42), "FR": (147.5, 6.91, 76.5), "DE": (94.7125, 5.86, 77.5),
        "EL": (120, 4.075, 136.555), "HU": (108.24, 5.53, 82.27), "IE": (162, 6.76, 29.95),
        "IT": (132.27, 5.62, 109.5), "LV": (136.595, 4, 24.965), "LT": (92.24, 2.19, 33.32),
        "LU": (247, 6, 74.805), "MT": (39.5, 4.345, 107.555), "NL": (168.25, 6, 54),
        "PL": (67.95, 2.49, 74), "PT": (62.33333333, 2.98, 80.5), "RO": (121, 1.82, 48.865),
        "SK": (107, 9, 88), "SI": (145.5, 5.43, 47.49), "ES": (84.6, 3.47, 114.6666667),
        "SE": (162.5, 2.48, 55.26666667),
    }
    assert len(service) == 27
    sh, dhw, sc = (round(sum(v[i] for v in service.values()) / 27, 1) for i in range(3))
    assert (sh, dhw, sc) == (120.8, 4.6, 76.1)
    for u in USES[1:]:
        assert needs[("eu27_existing", u, "sh")] == sh
        assert needs[("eu27_existing", u, "dhw")] == dhw
        assert needs[("eu27_existing", u, "sc")] == sc


def test_needs_lighting_and_ventilation_arithmetic(needs):
    ft2_per_m2 = 10.7639
    # office, existing: ASHRAE 90.1-2010 office 0.90 W/ft2 = 9.69 W/m2; EN 15193 2250 + 250 h
    assert needs[("eu27_existing", "office", "lighting")] == round(0.90 * ft2_per_m2 * 2500 / 1000, 1)
    # health, NZEB: ASHRAE 90.1-2019 hospital 0.96 W/ft2; EN 15193 3000 + 2000 h -> 51.7
    assert needs[("nzeb", "health", "lighting")] == pytest.approx(51.7)
    # ventilation, office existing: 2500 W/(m3/s) x 0.0014 m3/(s m2) x 2500 h = 8750 Wh/m2
    assert needs[("eu27_existing", "office", "ventilation")] == pytest.approx(8.75)
    # NZEB: 1250 W/(m3/s) x 0.0014 x 2500 h = 4.375 kWh/m2 (written 4.38)
    assert needs[("nzeb", "office", "ventilation")] == pytest.approx(4.375, abs=0.006)


# --------------------------------------------------------------------------- DHW per unit

def test_dhw_per_unit():
    rows = {(r["use"], r["unit"]): num(r["kwh_per_unit"]) for r in read("dhw_per_unit.csv")}
    for (use, unit), v in rows.items():
        assert use in USES, use
        assert unit in ("person", "bed", "user"), unit
        assert 10 <= v <= 3000, (use, unit, v)
    # paper Sect. 2.2.1 (IDAE/ATECYR): residential 420-573 per tenant, 1050 per bed, 477 per user
    assert 420 <= rows[("residential", "person")] <= 573
    assert rows[("health", "bed")] == 1050
    assert rows[("sports", "user")] == 477
    # CTE 55 l/bed/day at 60 C from 15 C: 55 * 1.163 Wh/(l K) * 45 K * 365 d = 1050.6 kWh
    assert rows[("hotel", "bed")] == pytest.approx(55 * 1.163 * 45 * 365 / 1000, abs=0.05)
    # and the same conversion reproduces the paper's hospital figure within 0.1 %
    assert 55 * 1.163 * 45 * 365 / 1000 == pytest.approx(1050, rel=1e-3)


# --------------------------------------------------------------------------- systems

SYSTEM_UNITS = {"-", "kWh/m2a", "kWp/m2", "kWh/kWp"}


def test_systems_units_and_ranges():
    for r in read("systems.csv"):
        p, v, unit = r["parameter"], num(r["value"]), r["unit"]
        assert unit in SYSTEM_UNITS, (r["kind"], p, unit)
        if p.startswith(("eta", "performance_ratio", "module_efficiency", "utilisation")):
            assert 0.0 < v <= 1.0, (r["kind"], p, v)
            assert unit == "-"
        elif p.startswith(("scop", "seer", "cop_dhw", "cop_sh", "eer")):
            assert 1.0 < v <= 8.0, (r["kind"], p, v)
        elif p == "cop_thermal":
            assert 0.3 <= v <= 2.0, (r["kind"], p, v)
        elif p.startswith(("loss_fraction", "system_losses")):
            assert 0.0 <= v < 0.5, (r["kind"], p, v)
        elif unit == "kWh/m2a":
            assert 0.0 < v < 100.0, (r["kind"], p, v)
        elif p == "kwp_per_m2":
            assert 0.05 <= v <= 0.3
        elif p.startswith("specific_yield"):
            assert 600 <= v <= 2000
        else:
            pytest.fail(f"systems.csv: no range check for parameter {p!r}; add one")


def test_systems_paper_values(systems):
    assert systems[("emitter_heat_exchanger", "eta")] == 0.70          # Sect. 2.3
    assert systems[("distribution", "loss_fraction_low")] == 0.05      # Sect. 2.3
    assert systems[("distribution", "loss_fraction_high")] == 0.20
    assert systems[("distribution", "eta")] == pytest.approx(1 - (0.05 + 0.20) / 2)
    assert systems[("heat_pump_water_water", "cop_dhw_55c")] == 3.16   # Sect. 2.3, ref. [34]
    assert systems[("heat_pump_water_water", "cop_sh_35c")] == 6.30
    assert systems[("heat_pump_water_water", "eer")] == 2.73
    assert systems[("district_heating_network", "loss_fraction")] == 0.137  # Sect. 2.4, ref. [37]
    assert systems[("electric_resistance", "eta")] == 1.0
    assert 0.75 <= systems[("gas_boiler_non_condensing", "eta")] <= 0.80
    # chillers: SEER = (eta_s,c + 0.03) * 2.5 with eta_s,c = 161 %
    assert systems[("heat_pump_air_water", "seer")] == pytest.approx((1.61 + 0.03) * 2.5, abs=0.01)
    # PV: kWp per m2 = module efficiency * 1 kW/m2 at STC
    assert systems[("pv", "kwp_per_m2")] == pytest.approx(systems[("pv", "module_efficiency")] * 1.0)


def test_systems_chp_first_law(systems):
    for kind in ("chp_gas", "chp_biomass", "chp_biogas"):
        assert systems[(kind, "eta_el")] + systems[(kind, "eta_th")] <= 1.0, kind


# --------------------------------------------------------------------------- storey heights

def test_storey_heights():
    rows = {r["use"]: num(r["storey_height_m"]) for r in read("storey_heights.csv")}
    assert set(rows) == set(USES)
    for use, h in rows.items():
        assert 2.4 <= h <= 12.0, (use, h)
    assert rows["residential"] == 3.0
