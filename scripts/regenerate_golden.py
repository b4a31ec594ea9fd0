"""Regenerate tests/data/golden_sample_district.json from a run of sample_data/scenario.toml.

    .venv/bin/python scripts/regenerate_golden.py

Run it only after a deliberate change of the model, the data tables or the sample district,
and say in the commit message why the numbers changed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "golden_sample_district.json"

SCALARS = ["pei_kwh", "pee_kwh", "ped_balance_kwh", "is_ped", "objective_met", "pe_nren_kwh", "pe_ren_kwh",
           "pe_total_kwh", "rer", "onsite_renewable_share", "co2eq_kg", "ten_sh_kwh", "ten_sc_kwh", "ten_dhw_kwh", "een_kwh", "teu_kwh",
           "eeu_kwh", "tep_res_kwh", "eep_res_kwh", "ste_kwh", "see_kwh", "n_buildings", "n_included",
           "floor_area_m2", "buildings_ped_balance_kwh", "district_systems_ped_balance_kwh", "netting_effect_kwh"]


def golden_view(result) -> dict:
    """The path-independent numbers of a run that the golden test compares."""
    d = result.district
    b = result.buildings
    per = {}
    for r in b.itertuples(index=False):
        key = f"{r.building_id}#{len([k for k in per if k.startswith(str(r.building_id) + '#')])}"
        per[key] = {c: (None if getattr(r, c) != getattr(r, c) else float(getattr(r, c)))
                    for c in ("floor_area_m2", "ten_sh_kwh", "eeu_kwh", "pv_kwh", "pei_kwh", "pee_kwh", "ped_balance_kwh")}
        per[key]["included"] = bool(r.included)
    return {
        "scalars": {k: d[k] for k in SCALARS},
        "ed_kwh": d["ed_kwh"], "exported_kwh": d["exported_kwh"],
        "carriers": {r["carrier"]: {k: v for k, v in r.items() if k != "carrier"} for r in d["breakdown"]["carriers"]},
        "buildings": per,
    }


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from pedgis.config import load_scenario
    from pedgis.pipeline import run

    view = golden_view(run(load_scenario(ROOT / "sample_data" / "scenario.toml")))
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(view, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}: PED balance {view['scalars']['ped_balance_kwh']:,.0f} kWh")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
