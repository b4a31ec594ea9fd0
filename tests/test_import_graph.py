"""The import graph of pedgis (issue 12 item 5): the scenario loader and the time series import
in one direction only.

Read statically with ``ast`` (module-level and function-level imports alike, since a deferred
import still ties two modules together). Before this check, ``pedgis.config`` imported the time
series' schema, which imported ``pedgis.config`` and ``pedgis.timeseries.variants`` back.
"""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "pedgis"


def _modules() -> dict[str, Path]:
    out = {}
    for f in PKG.rglob("*.py"):
        parts = list(f.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _graph(module_level_only: bool = False) -> dict[str, set[str]]:
    """module -> the pedgis modules it imports."""
    mods = _modules()
    g = {m: set() for m in mods}
    for m, f in mods.items():
        package = m.split(".") if f.name == "__init__.py" else m.split(".")[:-1]
        tree = ast.parse(f.read_text(encoding="utf-8"))
        nodes = tree.body if module_level_only else ast.walk(tree)
        for node in nodes:
            if isinstance(node, ast.ImportFrom):
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else [])) \
                    if node.level else node.module
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            g[m].update(t for t in targets if t in mods and t != m)
    return g


def _reached(g, start) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for w in g[todo.pop()] - seen:
            seen.add(w)
            todo.append(w)
    return seen


def _cycle_through(g, module) -> set[str]:
    """The modules that import ``module`` back, directly or not (its strongly connected part)."""
    return {m for m in _reached(g, module) if module in _reached(g, m)}


def test_the_graph_is_read():
    g = _graph()
    assert "pedgis.config" in g["pedgis.pipeline"] and "pedgis.variants" in g["pedgis.timeseries.scenarios"]
    assert len(g) > 70
    # and a cycle is seen: two modules that import each other inside functions
    assert _cycle_through({"a": {"b"}, "b": {"a"}, "c": {"a"}}, "a") == {"a", "b"}


def test_no_module_level_import_cycle():
    g = _graph(module_level_only=True)
    assert {m: sorted(_cycle_through(g, m)) for m in g if _cycle_through(g, m)} == {}


def test_no_import_cycle_at_all():
    """Not even through imports inside functions: the readers get what they share from
    pedgis.io.vector_base and pedgis.io.citymodel_builder, not from the modules that dispatch to
    them (the CEA reader is handed the shapefile reader)."""
    g = _graph()
    assert {m: sorted(_cycle_through(g, m)) for m in g if _cycle_through(g, m)} == {}


@pytest.mark.parametrize("module", ["pedgis.config", "pedgis.schema_timeseries", "pedgis.variants", "pedgis.bounds",
                                    "pedgis.timeseries.scenarios", "pedgis.timeseries.cli", "pedgis.timeseries.integrate"])
def test_the_scenario_loader_and_the_time_series_are_in_no_import_cycle(module):
    assert _cycle_through(_graph(), module) == set(), f"{module} is in an import cycle"


@pytest.mark.parametrize("module", ["pedgis.pipeline", "pedgis.per_building", "pedgis.district_netting",
                                    "pedgis.engine_model", "pedgis.boundaries", "pedgis.io.outputs",
                                    "pedgis.io.page_worker", "pedgis.viz", "pedgis.viz.report"])
def test_the_engine_and_the_writers_are_in_no_import_cycle(module):
    """The steps and the pipeline share EngineModel through its own module; the report counts
    flags with pedgis.geometry (not step 1's module); the page process is handed its drawing
    function instead of importing the writer that starts it."""
    assert _cycle_through(_graph(), module) == set(), f"{module} is in an import cycle"


def test_the_scenario_loader_imports_no_time_series_module():
    g = _graph()
    for module in ("pedgis.config", "pedgis.schema_timeseries", "pedgis.variants", "pedgis.bounds"):
        assert not {m for m in g[module] if m.startswith("pedgis.timeseries")}, module
