import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from district_fixture import write_folder  # noqa: E402


@pytest.fixture(scope="session")
def out_folder(tmp_path_factory):
    """A synthetic output folder (24 buildings, hostile attribute values, raster, roofs)."""
    return write_folder(tmp_path_factory.mktemp("viz-out"), n=24, hostile=True)


@pytest.fixture(scope="session")
def pages(out_folder, tmp_path_factory):
    """write_all run once on the synthetic folder; returns the folder."""
    import shutil

    from pedgis.viz import write_all

    dest = tmp_path_factory.mktemp("viz-pages")
    for f in out_folder.iterdir():
        shutil.copy(f, dest / f.name)
    write_all(dest, dest)
    return dest
