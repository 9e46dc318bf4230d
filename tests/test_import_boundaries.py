"""The layout holds: dependencies point one way (handlers -> bot -> storage), the loopback fakes import
nothing of the bot, the workflow core imports no I/O, and no module grows a table of contents.

Read from the source with :mod:`ast` (imports inside functions included), not from ``sys.modules``, so a
lazy import cannot slip past.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "storage", "fakes")
MAX_MODULE_LINES = 500  # "about 500": a data table may be longer, if its docstring says so

# (modules, what they must not import, why)
RULES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("storage", ("bot", "handlers", "fakes"), "storage is the bottom of handlers -> bot -> storage"),
    ("fakes", ("bot", "handlers", "storage"), "the fakes speak Slack's and the providers' wire only"),
    ("bot", ("handlers",), "only the composition root (bot.runtime) knows the listeners"),
    ("bot", ("fakes",), "the bot talks to the fakes over the wire; only the playground wires them"),
    ("handlers", ("storage", "bot.providers", "sqlalchemy", "httpx"), "listeners know payloads, not SQL"),
    (
        "bot.workflow",
        ("storage", "sqlalchemy", "slack_sdk", "slack_bolt", "httpx", "aiohttp"),
        "the workflow core is pure: tested with plain values",
    ),
    (
        "bot.reviews",
        ("storage", "sqlalchemy", "slack_sdk", "slack_bolt", "httpx", "aiohttp"),
        "the review's rules are pure too: tested with plain values",
    ),
    (
        "bot.deadlines",
        ("storage", "sqlalchemy", "slack_sdk", "slack_bolt", "httpx", "aiohttp"),
        "decisions about time are pure too: tested with plain values",
    ),
    (
        "bot.budgets",
        ("storage", "sqlalchemy", "slack_sdk", "slack_bolt", "httpx", "aiohttp"),
        "budget arithmetic is pure too: tested with plain values",
    ),
)
ALLOWED = {("bot.runtime", "handlers"), ("bot.playground", "fakes")}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:  # Alembic's env and revisions are run by Alembic
                found[module_name(path)] = path
    return found


def imports_of(name: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations() -> list[str]:
    problems = []
    for name, path in modules().items():
        imported = imports_of(name, path)
        for scope, forbidden, why in RULES:
            if not within(name, scope):
                continue
            for target in sorted(imported):
                for prefix in forbidden:
                    allowed = any(within(name, m) and within(target, p) for m, p in ALLOWED)
                    if within(target, prefix) and not allowed:
                        problems.append(f"{name} imports {target}: {why}")
    return sorted(set(problems))


def test_dependencies_point_one_way() -> None:
    found = {name.partition(".")[0] for name in modules()}
    assert found == set(PACKAGES)  # a rule about a package that isn't there would pass for nothing
    assert violations() == []


def test_the_check_can_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A storage module importing the bot, and a fake importing storage, are both caught."""
    for package, line in (("storage", "from bot.config import Settings"), ("fakes", "import storage.db")):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / "leak.py").write_text(f"def f() -> None:\n    {line}\n")
    for package in ("bot", "handlers"):
        (tmp_path / package).mkdir()
    (tmp_path / "bot" / "loop.py").write_text("from handlers import commands\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert violations() == sorted(
        [
            "bot.loop imports handlers.commands: only the composition root (bot.runtime) knows the listeners",
            "bot.loop imports handlers: only the composition root (bot.runtime) knows the listeners",
            "fakes.leak imports storage.db: the fakes speak Slack's and the providers' wire only",
            "storage.leak imports bot.config: storage is the bottom of handlers -> bot -> storage",
            "storage.leak imports bot.config.Settings: storage is the bottom of handlers -> bot -> storage",
        ]
    )


def test_no_module_needs_a_table_of_contents() -> None:
    """A module over about 500 lines is split by what changes together, unless it is a data table."""
    long = []
    for name, path in modules().items():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        if lines > MAX_MODULE_LINES and "data table" not in docstring.lower():
            long.append(f"{name}: {lines} lines")
    assert long == []
