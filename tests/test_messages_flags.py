"""Messages suggest only flags that exist, on the command that prints them (issue 14 item 4).

Every string literal of the package (docstrings aside) is read with ``ast``; every ``--flag`` in it
is checked against the real command-line parser (:func:`pedgis.cli.build_parser`):

- a flag must be an option of some command;
- a message that names ``pedgis CMD`` must name options of CMD;
- a bare flag in the library (outside the command modules, which print their own options) must be an
  option of ``pedgis run``, the command every library check is reached from, unless its function is
  reached only from the commands listed in ``ONLY_FROM``.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pedgis"
COMMAND_MODULES = {"cli.py", "solar/cli.py", "timeseries/cli.py", "viz/cli.py"}
#: library functions reached only from some commands: (module, function) -> those commands
ONLY_FROM = {
    ("io/weather.py", "download_pvgis_tmy"): {"pv"},   # `--weather pvgis` exists on pv only
    ("io/weather.py", "resolve_weather"): {"pv"},
    ("io/outdir.py", "check_json_file"): {"gap", "uncertainty"},  # the --json file of those commands
}
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
COMMAND = re.compile(r"pedgis (\w+)")


def _options():
    from pedgis.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    per = {name: {o for a in sp._actions for o in a.option_strings} for name, sp in sub.choices.items()}
    top = {o for a in parser._actions for o in a.option_strings}
    return per, top


def _messages():
    """(module, function, line, text) of every string literal that is not a docstring."""
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = {id(n.body[0].value) for n in ast.walk(tree)
                if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.body
                and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        stack = [(tree, None)]  # (node, name of the top-level function it is in)
        while stack:
            node, func = stack.pop()
            for child in ast.iter_child_nodes(node):
                f = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and func is None else func
                if isinstance(child, ast.Constant) and isinstance(child.value, str) and id(child) not in docs:
                    yield rel, f, child.lineno, child.value
                stack.append((child, f))


def _problems():
    per, top = _options()
    every = set().union(top, *per.values())
    found = []
    for rel, func, line, text in _messages():
        flags = FLAG.findall(text)
        if not flags:
            continue
        named = [c for c in COMMAND.findall(text) if c in per]
        where = f"pedgis/{rel}:{line}"
        for flag in flags:
            if flag not in every:
                found.append(f"{where}: {flag} is no option of any command")
            elif named:
                if not any(flag in per[c] for c in named):
                    found.append(f"{where}: {flag} is no option of `pedgis {'/'.join(named)}`, which the message names")
            elif rel not in COMMAND_MODULES:
                commands = ONLY_FROM.get((rel, func), {"run"})
                lacking = [c for c in sorted(commands) if flag not in per[c]]
                if lacking:
                    found.append(f"{where} ({func}): {flag} is no option of `pedgis {', '.join(lacking)}`, "
                                 "which reaches this message")
    return found


def test_every_flag_a_message_names_exists_on_its_command():
    assert _problems() == []


def test_the_check_catches_a_flag_run_does_not_have(monkeypatch):
    """The rule itself: the message pedgis printed before (`--weather pvgis` suggested to
    `pedgis run`, which has no such flag) fails it, as does a misspelt flag."""
    original = _messages

    def with_old_message():
        yield from original()
        yield ("io/weather.py", "read_weather", 92,
               "weather file not found. Give an EPW file, or `--weather pvgis` to download a PVGIS TMY.")
        yield ("checks.py", "weather_site_problem", 1, "see `pedgis pv --weathr pvgis`")

    monkeypatch.setattr(sys.modules[__name__], "_messages", with_old_message)
    problems = _problems()
    assert any("read_weather" in p and "--weather is no option of `pedgis run`" in p for p in problems), problems
    assert any("--weathr is no option of any command" in p for p in problems), problems
