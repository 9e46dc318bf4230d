"""The words and the button of money: a refusal over a budget (with "Raise the budget") and the month's
spend report (`/draft spend`)."""

from __future__ import annotations

from bot.blocks.kit import SECTION_LIMIT, SETTINGS_OPEN, Block, actions, button, context, section

RAISE_BUDGET = "Raise the budget"
MAX_SECTIONS = 45  # a message holds 50 blocks; the CLI has every line


def over_budget_blocks(reason: str, channel: str) -> list[Block]:
    """A refusal's figures and a button opening the channel's settings (whoever may change them)."""
    return [
        section(reason),
        actions(f"{SETTINGS_OPEN}_{channel}", button(RAISE_BUDGET, SETTINGS_OPEN, channel)),
    ]


def spend_blocks(lines: list[str]) -> list[Block]:
    """:func:`bot.budgets.spend_lines` as sections within Slack's limits, whole lines in each."""
    chunks: list[str] = []
    for line in lines:
        if chunks and len(chunks[-1]) + 1 + len(line) <= SECTION_LIMIT:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line)
    blocks = [section(chunk) for chunk in chunks[:MAX_SECTIONS]]
    if len(chunks) > MAX_SECTIONS:
        blocks.append(
            context("More lines than a message holds: `draftbot spend` on the server has them all.")
        )
    return blocks
