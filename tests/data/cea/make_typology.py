"""Write the CEA 3.x ``typology.dbf`` of the reference case from its CEA 2.x tables.

CEA's own migration (``cea/datamanagement/data_migrator.py``, ``migrate_2_29_to_2_31``, CEA
v3.39.4) turned a 2.x scenario's ``occupancy.dbf`` (one column of floor-area share per use type)
and ``age.dbf`` (``built``) into 3.x's ``typology.dbf``: the three largest shares become
1ST_USE/1ST_USE_R … 3RD_USE/3RD_USE_R (NONE with 0 where a building has fewer uses, 1ST_USE_R =
1 − the others), YEAR = built and STANDARD = the first construction standard of the region's
database whose YEAR_START ≤ YEAR ≤ YEAR_END (Singapore's CONSTRUCTION_STANDARD.xlsx: STANDARD1,
1000–2040). CEA sorts equal shares in no fixed order; here they keep the alphabetical order.

Run from the repository root: ``.venv/bin/python tests/data/cea/make_typology.py``.
"""

from pathlib import Path

import pandas as pd
import pyogrio

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "cea-2.26-source"
TARGET = HERE / "reference-case-cooling" / "baseline" / "inputs" / "building-properties" / "typology.dbf"


def main() -> None:
    occ = pyogrio.read_dataframe(SOURCE / "occupancy.dbf", read_geometry=False)
    age = pyogrio.read_dataframe(SOURCE / "age.dbf", read_geometry=False).set_index("Name")
    rows = []
    for _, r in occ.iterrows():
        uses = sorted((c for c in occ.columns if c not in ("Name", "REFERENCE")), key=lambda u: (-float(r[u]), u))
        top = [(u, float(r[u])) for u in uses[:3]]
        top = [(u, s) if s > 0 else ("NONE", 0.0) for u, s in top]
        first = 1.0 - top[1][1] - top[2][1]
        rows.append({"Name": r["Name"], "YEAR": int(age.loc[r["Name"], "built"]), "STANDARD": "STANDARD1",
                     "1ST_USE": top[0][0], "1ST_USE_R": first, "2ND_USE": top[1][0], "2ND_USE_R": top[1][1],
                     "3RD_USE": top[2][0], "3RD_USE_R": top[2][1]})
    table = pd.DataFrame(rows)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    for old in TARGET.parent.glob("typology.*"):
        old.unlink()
    pyogrio.write_dataframe(table, TARGET, driver="ESRI Shapefile", encoding="UTF-8")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
