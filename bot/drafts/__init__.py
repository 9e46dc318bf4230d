"""What people do to drafts, by what they do it with: the `/draft` command and form (:class:`Intake`),
reactions (:class:`Reactions`), buttons (:class:`Decisions`, :class:`Retries`) and further rounds
(:class:`Rounds`). They share a :class:`Desk`; a draft's status changes only through :func:`move_draft`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.drafts.closing import Deadlines
from bot.drafts.decisions import Decisions
from bot.drafts.desk import Desk
from bot.drafts.intake import Intake
from bot.drafts.moves import move_draft
from bot.drafts.results import ActionResult, Done
from bot.drafts.retries import Retries
from bot.drafts.rounds import Rounds
from bot.drafts.uploads import StoredReference, Uploads
from bot.drafts.votes import ReactionEvent, Reactions, same_emoji


@dataclass(frozen=True)
class DraftService:
    """The services over one desk, as the composition root builds them."""

    intake: Intake
    reactions: Reactions
    decisions: Decisions
    rounds: Rounds
    uploads: Uploads
    deadlines: Deadlines
    retries: Retries

    @classmethod
    def over(
        cls,
        desk: Desk,
        uploads: Uploads,
        *,
        vote_emoji: str,
        approve_emoji: str,
        vote_window: timedelta | None = None,
    ) -> DraftService:
        decisions = Decisions(desk)
        reactions = Reactions(desk, decisions, vote_emoji=vote_emoji, approve_emoji=approve_emoji)
        intake = Intake(desk, vote_window=vote_window)
        deadlines = Deadlines(decisions)
        return cls(intake, reactions, decisions, Rounds(desk), uploads, deadlines, Retries(desk))


__all__ = [
    "ActionResult",
    "Deadlines",
    "Decisions",
    "Desk",
    "Done",
    "DraftService",
    "Intake",
    "ReactionEvent",
    "Reactions",
    "Retries",
    "Rounds",
    "StoredReference",
    "Uploads",
    "move_draft",
    "same_emoji",
]
