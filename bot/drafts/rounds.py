"""Exploring further in the same thread: another round of 1K variants, made from one variant (More like
this), with new seeds (New round) or with an edited prompt (Edit prompt).

A round is one transaction, like the first: its variants (numbered on across the draft: round 2 of a
4-variant draft is #5–#8), its jobs and its audit event land together. The votes cast stay; a voting draft
goes back to generating until the round has settled, and votes keep counting meanwhile.
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import AuditKind, record_for
from bot.cards import draft_card, draft_view
from bot.command import MAX_VARIANTS, MIN_VARIANTS, form_prompt
from bot.drafts.desk import LOST_RACE, Desk
from bot.drafts.results import ActionResult, Done
from bot.errors import UnknownDraft, UserInputError
from bot.jobs import JobKind, enqueue_many
from bot.publisher import DraftCard
from bot.tiers import Tier
from bot.workflow import DraftStatus, Refusal, RoundReason, VariantState, decide_round
from storage import queries
from storage.models import Draft, Round, Variant

_NOT_POSTED = Refusal("That variant isn't in the thread yet; try again once it is.", "source_not_posted")


class Rounds:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    async def may_start(self, *, team_id: str, draft_id: int, user: str) -> Refusal | None:
        """Whether ``user`` may start a round now (to decide before opening the Edit prompt form)."""
        async with self.desk.sessions() as session:
            draft = await self.desk.draft(session, team_id, draft_id)
            rounds = await _rounds_of(session, draft)
            return decide_round(
                draft_view(draft),
                user,
                await self.desk.policy_for(session, draft),
                rounds=len(rounds),
                size=1,
            )

    async def card(self, *, team_id: str, draft_id: int) -> DraftCard:
        """The draft as the Edit prompt form starts from it (its latest prompt and round)."""
        async with self.desk.sessions() as session:
            return await draft_card(session, await self.desk.draft(session, team_id, draft_id))

    async def start(
        self,
        *,
        team_id: str,
        draft_id: int,
        user: str,
        reason: RoundReason,
        source: int | None = None,
        prompt: str | None = None,
        size: int | None = None,
    ) -> ActionResult:
        """Start a round: of the latest round's size and prompt unless given; from ``source`` (a 1K variant
        number) for More like this."""
        desk = self.desk
        if prompt is not None:
            prompt = form_prompt(prompt)
        if size is not None and not MIN_VARIANTS <= size <= MAX_VARIANTS:
            raise UserInputError(
                f"Choose between {MIN_VARIANTS} and {MAX_VARIANTS} variants.", field="variants"
            )
        async with desk.sessions.begin() as session:
            await queries.lock_draft(session, team_id, draft_id)  # one round at a time, no vote in between
            draft = await desk.draft(session, team_id, draft_id)
            rounds = await _rounds_of(session, draft)
            latest = rounds[-1]
            size = size or latest.size
            refusal = decide_round(
                draft_view(draft), user, await desk.policy_for(session, draft), rounds=len(rounds), size=size
            ) or await desk.over_budget(session, draft, Tier.EXPLORE, size)
            if refusal:
                return desk.refuse(session, draft, user, str(reason), refusal)
            origin = None
            if source is not None:
                origin = await queries.get_variant(session, team_id, draft_id, Tier.EXPLORE, source)
                if origin is None:
                    raise UnknownDraft(draft_id)  # a forged button: no such variant
                if origin.status != VariantState.POSTED:
                    return desk.refuse(session, draft, user, str(reason), _NOT_POSTED)
            if draft.status == DraftStatus.VOTING and not await desk.advance(
                session, draft, DraftStatus.VOTING, DraftStatus.GENERATING
            ):
                return desk.refuse(session, draft, user, str(reason), LOST_RACE)
            number = len(rounds) + 1
            first = draft.n_variants + 1
            numbers = range(first, first + size)
            # More like this keeps its source's own prompt; the others go on from the latest
            prompt = prompt or (origin.prompt or draft.prompt if origin is not None else latest.prompt)
            session.add(
                Round(
                    team_id=team_id,
                    draft_id=draft.id,
                    number=number,
                    reason=reason,
                    prompt=prompt,
                    source_number=source,
                    started_by=user,
                    first_number=first,
                    size=size,
                )
            )
            rows = [
                {
                    "team_id": team_id,
                    "draft_id": draft.id,
                    "tier": Tier.EXPLORE,
                    "number": n,
                    "seed": draft.base_seed + n - 1,
                    "status": VariantState.PENDING,
                    "round": number,
                    "prompt": prompt,
                    "source_variant_id": origin.id if origin else None,
                }
                for n in numbers
            ]
            await session.execute(insert(Variant), rows)
            draft.n_variants = first + size - 1
            draft.tie_asked = False  # a tie put to the requester before this round is no longer the question
            jobs = [(JobKind.GENERATE, {"tier": str(Tier.EXPLORE), "number": n}) for n in numbers]
            jobs.append((JobKind.REFRESH, {}))
            await enqueue_many(session, draft, jobs, max_attempts=desk.max_attempts)
            record_for(
                session,
                draft,
                AuditKind.ROUND_STARTED,
                user,
                round=number,
                why=reason,
                source=f"1K #{source}" if source is not None else None,
                prompt=prompt,
                numbers=list(numbers),
            )
        desk.doorbell.ring()
        made_from = f", made from #{source}" if source is not None else ""
        return Done(f"Round {number} started: variants #{first}–#{first + size - 1}{made_from}.", draft_id)


async def _rounds_of(session: AsyncSession, draft: Draft) -> list[Round]:
    rounds = await queries.rounds_of(session, draft.team_id, draft.id)
    if not rounds:
        raise LookupError(f"draft {draft.id} has no rounds")
    return rounds


__all__ = ["Rounds"]
