"""`/draft spend [--month 2026-11]`: the month's spend by channel and by person, privately."""

from __future__ import annotations

import shlex
from typing import Any

from bot import blocks
from bot.budgets import Month, spend_lines
from bot.errors import UserInputError
from bot.spending import Spend
from handlers.commands import Asked, SubcommandListener

USAGE = "Use `/draft spend` for this month, or `/draft spend --month 2026-11`."


def listener(spend: Spend) -> SubcommandListener:
    async def answer(asked: Asked) -> dict[str, Any]:
        try:
            month = month_of(asked.args)
        except UserInputError as err:
            return {"text": f"{err.message} {USAGE}"}
        lines = spend_lines(await spend.report(asked.team, month))
        return {"text": lines[0], "blocks": blocks.spend_blocks(lines)}

    return answer


def month_of(args: str) -> Month | None:
    """The month asked for (``--month 2026-11`` or ``--month=2026-11``), None for this month."""
    try:
        words = shlex.split(args)
    except ValueError:
        words = args.split()
    if not words:
        return None
    if len(words) == 1 and words[0].startswith("--month="):
        return Month.parse(words[0].removeprefix("--month="))
    if len(words) == 2 and words[0] == "--month":
        return Month.parse(words[1])
    raise UserInputError("I only know `--month` here.")
