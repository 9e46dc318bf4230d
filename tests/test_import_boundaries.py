"""Which packages may import which: each line of BOUNDARIES is (package, prefixes it must not import).

Checked on the source (``ast``), not on what happens to be imported at run time, so a lazy import inside
a function or under ``TYPE_CHECKING`` counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

BOUNDARIES: list[tuple[str, tuple[str, ...]]] = [
    ("fakes", ("bot", "handlers", "storage")),  # the loopback fakes stand on their own
]


def imports_in(text: str, package: str) -> list[tuple[int, str]]:
    """(line, module) of every import in a module of ``package``; relative imports resolved."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                module = ".".join([*base, *([module] if module else [])])
            found.append((node.lineno, module))
    return found


def imported_modules(source: Path) -> list[tuple[int, str]]:
    package = ".".join(source.relative_to(ROOT).with_suffix("").parts[:-1])
    return imports_in(source.read_text(encoding="utf-8"), package)


def is_within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.mark.parametrize(("package", "forbidden"), BOUNDARIES, ids=[p for p, _ in BOUNDARIES])
def test_package_does_not_import_forbidden_packages(package: str, forbidden: tuple[str, ...]) -> None:
    sources = sorted((ROOT / package).rglob("*.py"))
    assert sources, f"no Python files under {package}/"
    crossings = [
        f"{source.relative_to(ROOT)}:{line} imports {module}"
        for source in sources
        for line, module in imported_modules(source)
        if any(is_within(module, prefix) for prefix in forbidden)
    ]
    assert not crossings, "\n".join(crossings)


def test_the_check_sees_imports() -> None:
    """The checker itself: imports of the bot are caught, lazy and relative ones too."""
    text = "\n".join(
        [
            "import bot.config",
            "from handlers import x",
            "def f():",
            "    from storage.db import y",
            "from .. import z",
        ]
    )
    found = sorted(m for _, m in imports_in(text, "fakes.slack"))
    assert found == ["bot.config", "fakes", "handlers", "storage.db"]
    assert is_within("bot.config", "bot") and is_within("bot", "bot") and not is_within("bottle", "bot")
