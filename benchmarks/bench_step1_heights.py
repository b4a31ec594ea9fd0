"""Accuracy: building heights and storeys from the sample district's DSM/DTM against its truth.

The sample district (``sample_data/``) has exact pitched, hipped and flat roofs, trees over some
roofs and a nodata hole; ``truth_heights.csv`` holds each building's true eave height. Step 1 runs
with the height and floors attributes switched off, so every height comes from nDSM = DSM − DTM,
for several percentiles and edge buffers. Reported per setting: the eave-height error (median,
90th percentile of |error|, max) and the share of buildings whose storeys match ``N_PIANI``.

Usage::

    .venv/bin/python -m benchmarks.bench_step1_heights
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


def main() -> None:
    from pedgis.boundaries import prepare_district
    from pedgis.io.raster import RasterSource
    from pedgis.io.vector import read_vector

    warnings.simplefilter("ignore")
    gdf = read_vector(SAMPLE / "buildings.shp")
    truth = pd.read_csv(SAMPLE / "truth_heights.csv", dtype={"CAD_ID": str}).set_index("CAD_ID")
    storey = pd.read_csv(ROOT / "pedgis" / "data" / "storey_heights.csv").set_index("use")["storey_height_m"].to_dict()
    floors_true = gdf.drop_duplicates("CAD_ID").set_index("CAD_ID")["N_PIANI"]
    rows = []
    for pct in (5, 10, 20, 50, 70):
        for buf in (0.0, 0.5, 1.0):
            with RasterSource.open(SAMPLE / "dsm.tif") as dsm, RasterSource.open(SAMPLE / "dtm.tif") as dtm:
                res = prepare_district(gdf, columns={"height_m": "", "floors": ""}, storey_height_m=storey,
                                       default_floors={u: 2 for u in storey}, gross_to_conditioned=0.85,
                                       dsm=dsm, dtm=dtm, height_percentile=pct, edge_buffer_m=buf)
            b = res.buildings.set_index("building_id")
            err = b["height_m"] - truth.loc[b.index, "eave_height_m"]
            known = floors_true.loc[b.index].notna()
            match = (b.loc[known, "floors"] == floors_true.loc[b.index][known]).mean()
            rows.append({"percentile": pct, "edge_buffer_m": buf, "n_from_ndsm": int((b["height_source"] == "ndsm").sum()),
                         "eave_err_median_m": round(err.median(), 2), "eave_abs_err_p90_m": round(err.abs().quantile(0.9), 2),
                         "eave_abs_err_max_m": round(err.abs().max(), 2), "storeys_match": round(match, 3)})
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
