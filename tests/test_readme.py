"""The README renders as written: every table is one block, its rows under its header."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_table_row_belongs_to_a_table() -> None:
    """A row after a blank line starts a new table only with a header and a |---| line: otherwise it is
    shown as a paragraph of pipes (as the SLACK_* rows of the configuration table were)."""
    lines = README.read_text(encoding="utf-8").splitlines()
    in_code = False
    for number, line in enumerate(lines):
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("|"):
            continue
        starts_a_block = number == 0 or not lines[number - 1].startswith("|")
        if starts_a_block:
            separator = lines[number + 1] if number + 1 < len(lines) else ""
            assert separator.replace(" ", "").startswith("|--"), f"README.md:{number + 1}: stray row"
