"""Run inside the QGIS application by test_dependency_install.py:

    xvfb-run -a qgis --nologo --noversioncheck --profiles-path <P> --code run_in_qgis.py

with ``PEDGIS_TEST_PLAN`` naming a JSON file: {"sample": ..., "out": ..., "result": ...}. The
plugin is in the profile's plugins folder and its packages in the profile's private folder, as a
user has them after "Install Python packages…". Loads the plugin the way QGIS does, reads the
sample DSM's geotransform through rasterio/affine and through QGIS's own GDAL, runs the PED
balance through Processing, writes what it saw to ``result`` and quits QGIS.
"""

import json
import os
import sys
import traceback

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QTimer

PLAN = json.loads(open(os.environ["PEDGIS_TEST_PLAN"], encoding="utf-8").read())
# what QGIS itself imported before any plugin code of ours ran
out = {"loaded_at_start": sorted({m.partition(".")[0] for m in sys.modules})}


def main():
    import qgis.utils
    from osgeo import gdal

    out["plugin_loaded"] = qgis.utils.loadPlugin("pedgis_plugin")
    out["plugin_started"] = qgis.utils.startPlugin("pedgis_plugin")
    plugin = qgis.utils.plugins["pedgis_plugin"]
    out["dependency_message"] = plugin.dependency_message

    import attr
    import rasterio

    dsm = os.path.join(PLAN["sample"], "dsm.tif")
    with rasterio.open(dsm) as ds:
        # an affine operation: the centre of the first pixel (the Debian-attrs crash was here)
        out["rasterio_xy"] = list(ds.transform * (0.5, 0.5))
    gt = gdal.Open(dsm).GetGeoTransform()
    out["gdal_xy"] = [gt[0] + 0.5 * gt[1] + 0.5 * gt[2], gt[3] + 0.5 * gt[4] + 0.5 * gt[5]]
    out["qgis_gdal"] = gdal.__version__
    out["rasterio_gdal"] = rasterio.__gdal_version__
    out["rasterio_file"] = rasterio.__file__
    out["attrs"] = [attr.__version__, attr.__file__]

    from qgis import processing

    result = processing.run("pedgis:pedbalance", {
        "BUILDINGS": os.path.join(PLAN["sample"], "buildings.shp"),
        "SCENARIO": os.path.join(PLAN["sample"], "scenario.toml"),
        "OUTPUT": PLAN["out"],
    })
    out["ped_balance_kwh"] = result["PED_BALANCE_KWH"]
    out["unloaded"] = qgis.utils.unloadPlugin("pedgis_plugin")


try:
    main()
except BaseException:  # noqa: BLE001 - reported to the test
    out["error"] = traceback.format_exc()
with open(PLAN["result"], "w", encoding="utf-8") as f:
    json.dump(out, f)
QTimer.singleShot(0, lambda: QgsApplication.exit(0))
