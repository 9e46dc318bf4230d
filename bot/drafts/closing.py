"""Voting that closes by itself: a draft made with a deadline (`/draft … --vote 2h`, or
``DRAFTBOT_VOTE_WINDOW``) has a scheduled job at that time, which does what *Upgrade winner to 2K* does,
as the bot: the winner goes to 2K, or a tie goes to the requester.

The job is a row in the jobs table (it survives restarts) and may run late or twice; it decides from the
draft's state each time (:func:`bot.deadlines.decide_deadline`), under the draft's lock, so it acts once.
A deadline that comes while the variants are still being made does nothing then: voting closes when it
opens (:func:`schedule_close`, called again when voting opens, finds the deadline passed and asks for the
job at once).
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import SYSTEM, AuditKind, record_for
from bot.cards import draft_view
from bot.deadlines import decide_deadline
from bot.drafts.decisions import Decisions
from bot.drafts.facts import eligible_numbers
from bot.drafts.results import Done
from bot.jobs import JobKind, schedule
from bot.publisher import DraftCard
from bot.workflow import TieBreakNeeded
from storage import queries
from storage.models import Draft

log = logging.getLogger(__name__)

BY_DEADLINE = "deadline"  # the audit's "by" when the deadline, not a person, closed voting


async def schedule_close(session: AsyncSession, draft: Draft, max_attempts: int) -> None:
    """In the caller's transaction: the job that closes voting at the draft's deadline, if it has one.
    Asked for when the draft is made and again when voting opens (one queued job either way)."""
    if draft.vote_deadline is None:
        return
    await schedule(session, draft, JobKind.CLOSE_VOTING, at=draft.vote_deadline, max_attempts=max_attempts)


class Deadlines:
    def __init__(self, decisions: Decisions) -> None:
        self.decisions = decisions
        self.desk = decisions.desk

    async def close_voting(self, *, team_id: str, draft_id: int) -> None:
        """The deadline's job: close voting as the button would, once; or nothing, when there is nothing
        to close."""
        desk, decisions = self.desk, self.decisions
        tie: tuple[DraftCard, TieBreakNeeded] | None = None
        async with desk.sessions.begin() as session:
            await queries.lock_draft(session, team_id, draft_id)  # no vote, press or round in between
            draft = await desk.draft(session, team_id, draft_id)
            votes = await queries.votes_of(session, team_id, draft_id)
            decision = decide_deadline(
                draft_view(draft),
                votes,
                eligible=await eligible_numbers(session, draft),
                deadline=draft.vote_deadline,
                now=desk.clock(),
                tie_asked=draft.tie_asked,
            )
            if decision is None:
                log.info("draft %s: voting deadline with nothing to close (%s)", draft_id, draft.status)
                return
            deadline = draft.vote_deadline.isoformat() if draft.vote_deadline else None
            # The same steps as the button's (bot.drafts.decisions), with the bot as the actor.
            if isinstance(decision, TieBreakNeeded):
                card = await decisions._ask_tie_break(
                    session, draft, SYSTEM, decision, by=BY_DEADLINE, deadline=deadline
                )
                tie = (card, decision)
            else:
                result = await decisions._start_review(session, draft, SYSTEM, decision, by=BY_DEADLINE)
                if not isinstance(result, Done):
                    return
                record_for(
                    session,
                    draft,
                    AuditKind.VOTING_CLOSED,
                    SYSTEM,
                    by=BY_DEADLINE,
                    deadline=deadline,
                    winner=decision.winner,
                    tally=decision.counts,
                )
        if tie is not None:
            await decisions._tell_tie(*tie)
