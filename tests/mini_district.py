"""A small copy of the sample district for tests that run pedgis many times.

The buildings whose centroid lies in a 150 m square of ``sample_data`` (9 buildings: flats,
shops, a perimeter block split into parts, a few data defects), the DSM/DTM cropped to them with
a 30 m margin, the sample's boundary, weather year and scenario: every step of a real run (step 1
from attributes and the nDSM, rooftop PV with shading, steps 2–7, the heat network, hourly
netting, all pages) in about a second.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import tomli_w

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
#: lower-left corner of the square [m, EPSG:32632] and its edge [m]
CORNER = (421000.0, 4983300.0)
EDGE_M = 150.0
MARGIN_M = 30.0


def write_mini_district(folder: Path) -> Path:
    """Write the mini district into ``folder``; returns the scenario file."""
    import geopandas as gpd
    import rasterio
    from rasterio.windows import from_bounds

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    b = gpd.read_file(SAMPLE / "buildings.shp")
    c = b.geometry.representative_point()
    x0, y0 = CORNER
    keep = (c.x > x0) & (c.x < x0 + EDGE_M) & (c.y > y0) & (c.y < y0 + EDGE_M)
    mini = b[keep]
    mini.to_file(folder / "buildings.shp", encoding="utf-8")
    minx, miny, maxx, maxy = mini.total_bounds
    for name in ("dsm.tif", "dtm.tif"):
        with rasterio.open(SAMPLE / name) as src:
            win = from_bounds(minx - MARGIN_M, miny - MARGIN_M, maxx + MARGIN_M, maxy + MARGIN_M,
                              src.transform).round_offsets().round_lengths()
            data = src.read(1, window=win)
            profile = src.profile
            profile.update(width=data.shape[1], height=data.shape[0], transform=src.window_transform(win))
            with rasterio.open(folder / name, "w", **profile) as dst:
                dst.write(data, 1)
    shutil.copytree(SAMPLE / "weather", folder / "weather", dirs_exist_ok=True)
    shutil.copy(SAMPLE / "boundary.gpkg", folder / "boundary.gpkg")
    # the sample's system and network member lists, cut to the buildings kept
    doc = tomllib.loads((SAMPLE / "scenario.toml").read_text(encoding="utf-8"))
    ids = set(mini["CAD_ID"].astype(str))
    for section in ("systems", "district_systems"):
        for name, spec in list(doc.get(section, {}).items()):
            for key in ("buildings", "members"):
                if key in spec:
                    spec[key] = [i for i in spec[key] if i in ids]
            if "buildings" in spec and not (spec["buildings"] or spec.get("uses") or spec.get("default")):
                del doc[section][name]  # its buildings are all outside the square
    scenario = folder / "scenario.toml"
    scenario.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return scenario
