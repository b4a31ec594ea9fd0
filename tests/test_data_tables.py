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
                                   "pef_ren_export", "co2_kg_per_kwh", "co2_kg_per_kwh_export", "source"],
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
EXPORT_COLUMNS = ("pef_nren_export", "pef_ren_export", "co2_kg_per_kwh_export")  # empty = as delivered
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
            if col not in EXPORT_COLUMNS:
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
        if r["co2_kg_per_kwh_export"] != "":
            assert 0.0 <= num(r["co2_kg_per_kwh_export"]) <= 1.2, (s, c)


def test_pef_export_empty_means_substitution(pef):
    # the paper's substitution assumption (Sect. 2.6): no set overrides the export factor, so the
    # engine falls back to the import factor; a filled value must say which national rule sets it
    for (s, c), r in pef.items():
        if any(r[col] for col in EXPORT_COLUMNS):
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


def test_pef_nl_gas_on_the_net_calorific_value(pef):
    # NTA 8800 gives aardgas fP;nren 1.00 and 0.183 kg CO2/kWh per kWh of GROSS calorific value
    # (bovenwaarde 35.17 MJ/m3(n)); pedgis' fuel energies are NET (onderwaarde 31.65 MJ/m3(n)):
    # 1.00 × 35.17 / 31.65 = 1.1112 → 1.111; 0.183 × 1.1112 = 0.2034 → 0.203 kg/kWh
    r = pef[("NL", "natural_gas")]
    assert num(r["pef_nren"]) == round(1.00 * 35.17 / 31.65, 3) == 1.111
    assert num(r["co2_kg_per_kwh"]) == round(0.183 * 35.17 / 31.65, 3) == 0.203
    # on NCV the NL gas CO2 factor sits at the IPCC 2006 default for natural gas:
    # 56.1 t CO2/TJ NCV / 277.78 MWh/TJ = 0.202 kg/kWh
    assert num(r["co2_kg_per_kwh"]) == pytest.approx(56.1 / 277.78, abs=0.002)
    assert "gross calorific value" in r["source"].lower() and "ncv" in r["source"].lower()


def test_pef_total_factor_of_fuels_is_plausible(pef):
    # A kWh of fuel cannot carry more than its own energy content plus the upstream chain as primary
    # energy: the totals of the sources are 1.0-1.4 (ISO B.16 bio gaseous 0.4 + 1.0 = 1.4, solid
    # 1.2; GEG/DIN electricity aside). A nren factor that already charges the whole content (GEG's
    # biogas 1.1 = Erdgas) leaves no renewable part: DE biogas 1.1 + 0 = 1.1, not 1.1 + 1.0 = 2.1.
    for (s, c), r in pef.items():
        if c in FOSSIL + ["biogas", "biomass"]:
            assert num(r["pef_nren"]) + num(r["pef_ren"]) <= 1.45, (s, c)
    de = pef[("DE", "biogas")]
    assert (num(de["pef_nren"]), num(de["pef_ren"])) == (1.1, 0.0)
    assert num(de["pef_nren"]) + num(de["pef_ren"]) == num(pef[("DE", "natural_gas")]["pef_nren"]) + \
        num(pef[("DE", "natural_gas")]["pef_ren"])


def test_pef_fi_co2_factors_are_finnish(pef):
    # Motiva, CO2-päästökertoimet: electricity 209 kg CO2/MWh (5-year moving average of Finnish
    # production, Statistics Finland), district heat of CHP areas 183 kg CO2/MWh (benefit-sharing
    # method, Energiateollisuus) — not the ISO 52000-1 defaults 420 and 260 g/kWh
    assert num(pef[("FI", "electricity")]["co2_kg_per_kwh"]) == 209 / 1000
    assert num(pef[("FI", "district_heat")]["co2_kg_per_kwh"]) == 183 / 1000
    for c in ("electricity", "district_heat"):
        assert "Motiva" in pef[("FI", c)]["source"], c
    # the FI fuel CO2 factors are still ISO defaults: the row says so plainly
    for c in FOSSIL + ["biogas", "biomass"]:
        r = pef[("FI", c)]
        assert num(r["co2_kg_per_kwh"]) == num(pef[("iso52000_default", c)]["co2_kg_per_kwh"]), c
        assert "UNSOURCED for Finland" in r["source"], c


def test_pef_basis_stated_for_every_set():
    # docs/data-sources.md states, per set, the calorific basis of the fuel factors and what the
    # CO2 factors include
    doc = (Path(__file__).resolve().parents[1] / "docs" / "data-sources.md").read_text(encoding="utf-8")
    table = doc[doc.index("### Basis of the factors"):]
    table = table[: table.index("\n\n", table.index("| set"))]
    rows = {line.split("|")[1].strip().strip("`"): line for line in table.splitlines()[2:] if line.startswith("| `")}
    assert set(rows) == set(PEF_SETS)
    for s, line in rows.items():
        assert re.search(r"\b(NCV|GCV)\b", line), s


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


# HotMaps building stock data (Pezzutto et al. 2019, paper ref. [37]), file data_building_stock.csv
# (copy in repository MLHaoChang/pypsa-eur, data/retro/, commit 2b9927cd), rows country 'EU28',
# 'Service sector', per subsector and construction period (Before 1945, 1945-1969, 1970-1979,
# 1980-1989, 1990-1999, 2000-2010, Post 2010): heated area [Mm2], cooled area [Mm2] and the useful
# energy demand SH, SC, DHW [kWh/m2a], transcribed with the file's precision rounded to 4 decimals.
# 'Other non-residential buildings' has no 'Post 2010' rows in the file.
HOTMAPS_EU28 = {
    "Offices": [
        (370.0882, 93.0548, 113.0246, 64.6054, 2.8751),
        (415.2308, 55.6028, 137.9031, 70.8584, 2.4757),
        (195.3421, 28.8401, 135.6746, 68.6613, 2.5916),
        (233.7206, 52.2499, 123.9695, 65.2304, 2.8369),
        (229.5377, 54.3474, 109.5523, 59.3240, 2.9689),
        (212.1748, 59.6551, 82.5966, 57.1772, 2.8646),
        (127.9766, 35.0122, 65.2274, 54.1495, 2.6936),
    ],
    "Trade": [
        (359.6774, 117.3742, 148.2080, 72.0707, 5.2382),
        (193.3351, 51.3092, 142.1049, 92.9184, 4.3106),
        (109.7891, 31.5896, 132.8875, 90.4251, 4.3631),
        (208.8259, 67.7844, 148.7443, 97.0103, 4.8348),
        (204.8511, 68.4808, 119.2700, 104.9449, 4.9621),
        (229.9470, 82.5513, 102.3373, 107.1359, 4.7139),
        (117.3364, 37.9759, 85.6176, 80.5404, 4.7357),
    ],
    "Education": [
        (307.3060, 106.5817, 86.4866, 33.6987, 0.9891),
        (237.1045, 51.4352, 55.5190, 19.9733, 0.6159),
        (119.6277, 26.1506, 55.7561, 19.9141, 0.6464),
        (143.6026, 36.5210, 49.0667, 20.2443, 0.7546),
        (132.1229, 32.5083, 39.5680, 15.1645, 0.6782),
        (118.9107, 32.9594, 32.6535, 20.8629, 0.7945),
        (66.5244, 18.9177, 37.9929, 20.9993, 0.8057),
    ],
    "Health": [
        (115.5811, 32.5916, 161.7011, 74.4952, 17.8174),
        (74.3673, 16.2763, 147.5465, 67.8007, 18.1553),
        (47.6926, 8.7026, 128.5478, 69.9633, 18.9580),
        (66.9412, 15.8287, 122.3397, 59.4119, 18.6614),
        (71.7358, 18.7238, 100.5502, 52.5343, 19.3554),
        (69.0889, 18.9394, 73.3521, 59.5743, 20.0533),
        (38.2533, 6.1299, 45.8116, 52.8808, 21.6579),
    ],
    "Hotels and Restaurants": [
        (152.2742, 48.7731, 120.3410, 78.6500, 7.8652),
        (124.4907, 26.0542, 112.7886, 76.6353, 7.8731),
        (70.1763, 18.3991, 106.7833, 79.2585, 8.0059),
        (89.3284, 32.4730, 91.9225, 75.5528, 7.1129),
        (91.3413, 32.1846, 81.9486, 64.5358, 7.7652),
        (91.3427, 34.2250, 72.5200, 73.0019, 7.6381),
        (37.2553, 10.5736, 45.0235, 62.7076, 8.5432),
    ],
    "Other non-residential buildings": [
        (226.3297, 80.6762, 148.2635, 71.9064, 4.7386),
        (147.8481, 48.9266, 125.9328, 72.2152, 4.1376),
        (87.5732, 25.6972, 99.7870, 78.3078, 4.7388),
        (124.7431, 40.0019, 101.8664, 76.3017, 4.5858),
        (126.0469, 39.0586, 77.1820, 76.9111, 4.6474),
        (129.0525, 41.5229, 76.4761, 73.8000, 4.6750),
    ],
}
HOTMAPS_SUBSECTOR = {
    "office": "Offices", "commercial": "Trade", "education": "Education", "health": "Health",
    "hotel": "Hotels and Restaurants",
    # proxies: HotMaps has no sports or industrial class
    "sports": "Other non-residential buildings", "industrial": "Other non-residential buildings",
}


@pytest.mark.parametrize("use", sorted(HOTMAPS_SUBSECTOR))
def test_needs_hotmaps_subsector_means(needs, use):
    bands = HOTMAPS_EU28[HOTMAPS_SUBSECTOR[use]]
    heated = sum(b[0] for b in bands)
    cooled = sum(b[1] for b in bands)
    # SH and DHW: weighted by heated area; SC (HotMaps: need per m2 of cooled floor): by cooled area
    sh = sum(b[0] * b[2] for b in bands) / heated
    sc = sum(b[1] * b[3] for b in bands) / cooled
    dhw = sum(b[0] * b[4] for b in bands) / heated
    assert needs[("eu27_existing", use, "sh")] == round(sh, 1)
    assert needs[("eu27_existing", use, "sc")] == round(sc, 1)
    assert needs[("eu27_existing", use, "dhw")] == round(dhw, 1)
    # hot-water need follows occupancy: NZEB keeps the use's existing-stock DHW
    assert needs[("nzeb", use, "dhw")] == needs[("eu27_existing", use, "dhw")]


def test_needs_hotmaps_sources_name_subsector_and_proxy():
    for r in read("specific_needs.csv"):
        use, need = r["use"], r["need"]
        if use == "residential" or need not in ("sh", "sc", "dhw"):
            continue
        if r["set"] == "nzeb" and need != "dhw":
            continue
        assert "HotMaps" in r["source"] and "'EU28'" in r["source"], (r["set"], use, need)
        assert f"subsector '{HOTMAPS_SUBSECTOR[use]}'" in r["source"], (r["set"], use, need)
        assert ("PROXY" in r["source"]) == (use in ("sports", "industrial")), (r["set"], use, need)


def test_needs_nonresidential_uses_differ(needs):
    # the point of use-specific data: no two distinct HotMaps sub-sectors share their thermal needs
    triples = {u: tuple(needs[("eu27_existing", u, n)] for n in ("sh", "sc", "dhw"))
               for u in ("office", "commercial", "education", "health", "hotel", "sports")}
    assert len(set(triples.values())) == len(triples)
    # orderings that follow from the HotMaps rows above: hospitals need far more hot water per m2
    # than offices (18.9 vs 2.7), hotels and restaurants more than retail, retail more than offices
    dhw = {u: needs[("eu27_existing", u, "dhw")] for u in triples}
    assert dhw["health"] > dhw["hotel"] > dhw["commercial"] > dhw["office"] > dhw["education"]
    assert dhw["health"] > 5 * dhw["office"]
    assert needs[("eu27_existing", "commercial", "sc")] > needs[("eu27_existing", "office", "sc")]


# SIA 2024:2015 appliance loads as tabulated by the City Energy Analyst database (repository
# architecture-building-systems/CityEnergyAnalyst, cea/databases/CH/ARCHETYPES/USE/): Ea_Wm2 of
# USE_TYPES.csv (commit c343e694) and the hourly 'appliances' column of SCHEDULES_LIBRARY/<TYPE>.csv
# (weekday, Saturday, Sunday), monthly factor of MONTHLY_MULTIPLIERS.csv (commit 4b1f4488)
_OFF = [0.1] * 24
SIA_APPLIANCES = {
    # use: (CEA use type, Ea [W/m2], weekday profile, Saturday profile, Sunday profile, monthly factors)
    "office": ("OFFICE", 7.0,
               [0.1] * 7 + [0.2, 0.6, 0.8, 1.0, 0.8, 0.4, 0.6, 1.0, 0.8, 0.6, 0.2] + [0.1] * 6,
               _OFF, _OFF, [0.8] * 12),
    "commercial": ("RETAIL", 2.0, [0.1] * 7 + [1.0] * 13 + [0.1] * 4,
                   [0.1] * 7 + [1.0] * 13 + [0.1] * 4, _OFF, [0.8] * 12),
    "education": ("SCHOOL", 4.0,
                  [0.1] * 7 + [0.4, 0.6, 0.8, 1.0, 0.8, 0.2, 0.6, 1.0, 0.8, 0.8, 0.4] + [0.1] * 6,
                  _OFF, _OFF, [0.8, 0.6, 0.9, 0.6, 0.8, 1.0, 0.0, 0.6, 1.0, 0.6, 0.9, 0.6]),
    "health": ("HOSPITAL", 12.99,
               [0.14] * 6 + [0.15, 0.21, 0.43, 0.54, 0.65, 0.54, 0.32, 0.43, 0.65, 0.54, 0.43, 0.21,
                             0.15, 0.4, 0.32, 0.23, 0.14, 0.14],
               None, None, [0.8] * 12),
    "hotel": ("HOTEL", 8.0,
              [0.2] + [0.1] * 5 + [0.2, 0.4, 0.8, 0.2] + [0.1] * 7 + [0.2, 0.4, 1.0, 0.6, 0.4, 0.2, 0.2],
              None, None, [0.7] * 12),
    "sports": ("GYM", 2.0,
               [0.1] * 7 + [0.5, 0.8, 1.0, 1.0, 0.8, 1.0, 0.8, 1.0, 1.0, 0.8, 0.5, 0.8, 0.8, 0.8, 0.5, 0.5,
                            0.1],
               "weekday", _OFF, [0.8] * 12),
    "industrial": ("INDUSTRIAL", 10.0,
                   [0.2] * 5 + [0.5, 0.8, 1.0, 1.0, 0.8, 1.0, 0.5, 0.8, 1.0, 1.0, 0.8, 0.8, 0.8,
                                0.5, 0.5, 0.5, 0.5, 0.2, 0.2],
                   [0.2] * 24, [0.2] * 24, [0.8] * 12),
}
MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


@pytest.mark.parametrize("use", sorted(SIA_APPLIANCES))
def test_needs_appliances_sia2024(needs, use):
    _, ea, weekday, saturday, sunday, monthly = SIA_APPLIANCES[use]
    assert len(weekday) == 24
    saturday = weekday if saturday in (None, "weekday") else saturday
    sunday = weekday if sunday is None else sunday
    # a 365-day year = 261 weekdays + 52 Saturdays + 52 Sundays; monthly factor weighted by days
    factor = sum(d * m for d, m in zip(MONTH_DAYS, monthly, strict=True)) / 365
    hours = factor * (261 * sum(weekday) + 52 * sum(saturday) + 52 * sum(sunday))
    expected = round(ea * hours / 1000, 1)  # W/m2 x h / 1000 = kWh/m2a
    for s in NEED_SETS:
        assert needs[(s, use, "appliances")] == expected, s
    # the source row writes the same arithmetic
    row = next(r for r in read("specific_needs.csv")
               if (r["set"], r["use"], r["need"]) == ("eu27_existing", use, "appliances"))
    assert f"Ea = {ea} W/m2" in row["source"] and f"= {expected:.1f} kWh/m2a" in row["source"]


def test_needs_appliances_office_by_hand(needs):
    # OFFICE: weekday profile sums to 8.3 h, weekend days to 24 x 0.1 = 2.4 h;
    # 0.8 x (261 x 8.3 + 104 x 2.4) = 0.8 x 2415.9 = 1932.72 h; 7.0 W/m2 x 1932.72 h = 13.53 kWh/m2a
    assert needs[("eu27_existing", "office", "appliances")] == 13.5
    assert sum(SIA_APPLIANCES["office"][2]) == pytest.approx(8.3)


def test_needs_lighting_and_ventilation_arithmetic(needs):
    ft2_per_m2 = 10.7639
    # office, existing: ASHRAE 90.1-2004 office 1.0 W/ft2 = 10.76 W/m2; EN 15193 2250 + 250 h
    # -> 10.7639 * 2500 / 1000 = 26.9 kWh/m2a
    assert needs[("eu27_existing", "office", "lighting")] == round(1.0 * ft2_per_m2 * 2500 / 1000, 1)
    assert needs[("eu27_existing", "office", "lighting")] == 26.9
    # health, NZEB: ASHRAE 90.1-2019 hospital 0.96 W/ft2; EN 15193 3000 + 2000 h -> 51.7
    assert needs[("nzeb", "health", "lighting")] == pytest.approx(51.7)
    # ventilation, office existing: 2500 W/(m3/s) x 0.0014 m3/(s m2) x 2500 h = 8750 Wh/m2
    assert needs[("eu27_existing", "office", "ventilation")] == pytest.approx(8.75)
    # NZEB: 1250 W/(m3/s) x 0.0014 x 2500 h = 4.375 kWh/m2 (written 4.38)
    assert needs[("nzeb", "office", "ventilation")] == pytest.approx(4.375, abs=0.006)


# lighting power density [W/ft2] of ANSI/ASHRAE/IES 90.1 Table 9.5.1 (building area method) and
# EN 15193:2007 Annex F operating hours t_D + t_N [h] per use type
LPD_2004 = {"office": 1.0, "commercial": 1.5, "education": 1.2, "health": 1.2, "hotel": 1.0,
            "sports": 1.1, "industrial": 1.3}
LPD_2019 = {"office": 0.64, "commercial": 0.84, "education": 0.72, "health": 0.96, "hotel": 0.56,
            "sports": 0.76, "industrial": 0.82}
HOURS = {"office": 2250 + 250, "commercial": 3000 + 2000, "education": 1800 + 200,
         "health": 3000 + 2000, "hotel": 3000 + 2000, "sports": 2000 + 2000,
         "industrial": 2500 + 1500}


@pytest.mark.parametrize("use", sorted(HOURS))
def test_needs_nonresidential_lighting_and_fans_every_use(needs, use):
    w_m2_per_w_ft2 = 10.7639
    existing = LPD_2004[use] * w_m2_per_w_ft2 * HOURS[use] / 1000
    nzeb = LPD_2019[use] * w_m2_per_w_ft2 * HOURS[use] / 1000
    assert needs[("eu27_existing", use, "lighting")] == pytest.approx(existing, abs=0.05)
    assert needs[("nzeb", use, "lighting")] == pytest.approx(nzeb, abs=0.05)
    # fans: SFP [W/(m3/s)] * 1.4 l/(s m2) / 1000 [m3/l] * hours / 1000 [kWh/Wh]
    assert needs[("eu27_existing", use, "ventilation")] == pytest.approx(2500 * 1.4e-3 * HOURS[use] / 1000, abs=0.006)
    assert needs[("nzeb", use, "ventilation")] == pytest.approx(1250 * 1.4e-3 * HOURS[use] / 1000, abs=0.006)


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
    # CTE hotel *** 41 l/bed/day at 60 C from 15 C: 41 * 1.163 Wh/(l K) * 45 K * 365 d = 783.2 kWh
    assert rows[("hotel", "bed")] == pytest.approx(41 * 1.163 * 45 * 365 / 1000, abs=0.05)
    assert rows[("hotel", "bed")] == pytest.approx(783.2)
    # and the same conversion of CTE's 55 l/bed/day for hospitals reproduces the paper's figure
    assert 55 * 1.163 * 45 * 365 / 1000 == pytest.approx(1050, rel=1e-3)


# --------------------------------------------------------------------------- systems

SYSTEM_UNITS = {"-", "kWh/m2a", "kWp/m2", "kWh/kWp"}

# (kind, parameter) pairs the engine looks up when a scenario leaves them out
# (pedgis.pipeline, via pedgis.data.system_default): the system kinds of the scenario schema
ENGINE_DEFAULTS = [
    ("heat_pump", p) for p in ("scop", "scop_dhw", "seer", "eta_emitter", "eta_distribution")
] + [
    (k, p) for k in ("boiler", "electric_resistance", "district_heating", "district_cooling")
    for p in ("eta", "eta_emitter", "eta_distribution")
] + [
    ("thermally_driven_heat_pump", p)
    for p in ("gue", "cop_thermal", "aux_electric_share", "eta_emitter", "eta_distribution")
] + [("heat_network", "losses"), ("chp", "eta_el"), ("chp", "eta_th")] + [
    (f"chp_{fuel}", p) for fuel in ("natural_gas", "biomass", "biogas", "oil") for p in ("eta_el", "eta_th")
]


def test_systems_engine_defaults_present(systems):
    missing = [k for k in ENGINE_DEFAULTS if k not in systems]
    assert not missing, f"systems.csv lacks engine defaults {missing}"


def test_systems_units_and_ranges():
    for r in read("systems.csv"):
        p, v, unit = r["parameter"], num(r["value"]), r["unit"]
        assert unit in SYSTEM_UNITS, (r["kind"], p, unit)
        if p.startswith(("eta", "performance_ratio", "module_efficiency", "utilisation")):
            assert 0.0 < v <= 1.0, (r["kind"], p, v)
            assert unit == "-"
        elif p.startswith(("scop", "seer", "cop_dhw", "cop_sh", "eer")):
            assert 1.0 < v <= 8.0, (r["kind"], p, v)
        elif p in ("cop_thermal", "gue"):
            assert 0.3 <= v <= 2.0, (r["kind"], p, v)
        elif p.startswith(("loss_fraction", "system_losses", "losses", "aux_electric_share")):
            assert 0.0 <= v < 0.5, (r["kind"], p, v)
            assert unit == "-"
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
    for kind in ("heat_pump", "boiler", "district_heating"):
        # default distribution efficiency = 1 - midpoint of 5-20 % = 0.875
        assert systems[(kind, "eta_distribution")] == pytest.approx(1 - (0.05 + 0.20) / 2)
    assert systems[("heat_pump_water_water", "cop_dhw_55c")] == 3.16   # Sect. 2.3, ref. [34]
    assert systems[("heat_pump_water_water", "cop_sh_35c")] == 6.30
    assert systems[("heat_pump_water_water", "eer")] == 2.73
    assert systems[("heat_network", "losses")] == 0.137               # Sect. 2.4, ref. [37]
    assert systems[("electric_resistance", "eta")] == 1.0
    assert 0.75 <= systems[("gas_boiler_non_condensing", "eta")] <= 0.80
    # generic boiler = midpoint of non-condensing 0.775 and condensing 0.98 = 0.8775 -> 0.88
    assert systems[("boiler", "eta")] == round((0.775 + 0.98) / 2, 2)
    # chillers: SEER = (eta_s,c + 0.03) * 2.5 with eta_s,c = 161 %
    assert systems[("heat_pump", "seer")] == pytest.approx((1.61 + 0.03) * 2.5, abs=0.01)
    # PV: kWp per m2 = module efficiency * 1 kW/m2 at STC
    assert systems[("pv", "kwp_per_m2")] == pytest.approx(systems[("pv", "module_efficiency")] * 1.0)


def test_systems_chp_first_law(systems):
    for kind in ("chp", "chp_natural_gas", "chp_biomass", "chp_biogas", "chp_oil"):
        assert systems[(kind, "eta_el")] + systems[(kind, "eta_th")] <= 1.0, kind


# --------------------------------------------------------------------------- storey heights

def test_storey_heights():
    rows = {r["use"]: num(r["storey_height_m"]) for r in read("storey_heights.csv")}
    assert set(rows) == set(USES)
    for use, h in rows.items():
        assert 2.4 <= h <= 12.0, (use, h)
    assert rows["residential"] == 3.0
