"""What a person's action on a draft comes to: done (with what to tell them), or refused (saying why)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.workflow import Refusal


@dataclass(frozen=True)
class Done:
    """The action happened; ``message`` tells the person who asked (ephemeral)."""

    message: str
    draft_id: int


ActionResult = Done | Refusal
