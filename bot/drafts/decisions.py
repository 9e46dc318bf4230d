"""What people decide with the buttons: upgrade the winner to 2K, break a tie, approve or reject the
review, and retry what failed.

Each is one transaction: read the state, ask :mod:`bot.workflow` what to do, write the change, its audit
event and the jobs it needs together. Publishing happens in jobs, after the commit.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import AuditKind, record, record_for
from bot.cards import draft_card, draft_view
from bot.drafts.desk import LOST_RACE, Desk
from bot.drafts.results import ActionResult, Done
from bot.errors import UnknownDraft
from bot.jobs import JobKind, enqueue_many
from bot.publisher import DraftCard
from bot.tiers import Tier
from bot.workflow import (
    DraftStatus,
    Refusal,
    TieBreakNeeded,
    Upgrade,
    VariantState,
    decide_image_retry,
    decide_retry,
    decide_tie_break,
    decide_upgrade,
    may_approve,
    may_cancel,
    may_reject,
)
from storage import jobqueue, queries
from storage.models import Draft, Variant

# What Retry makes again, by tier. 1K variants refused for safety stay refused (asking again gives the same
# answer); a refused 2K or 4K is worth one more try; unfinished 1K variants go again if the parent failed.
_RETRIABLE = {
    Tier.EXPLORE: {VariantState.FAILED, VariantState.PENDING},
    Tier.REVIEW: {VariantState.FAILED, VariantState.REFUSED},
    Tier.FINAL: {VariantState.FAILED, VariantState.REFUSED},
}
log = logging.getLogger(__name__)

_NO_REVIEW = Refusal("There is no 2K review to approve yet.", "review_not_ready")


class Decisions:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    async def request_upgrade(self, *, team_id: str, draft_id: int, user: str) -> ActionResult:
        desk = self.desk
        async with desk.sessions.begin() as session:
            await queries.lock_draft(session, team_id, draft_id)  # no vote lands between tally and close
            draft = await desk.draft(session, team_id, draft_id)
            votes = await queries.votes_of(session, team_id, draft_id)
            eligible = await _posted_numbers(session, draft)
            decision = decide_upgrade(draft_view(draft), user, votes, desk.policy, eligible=eligible)
            if isinstance(decision, Refusal):
                return desk.refuse(session, draft, user, "upgrade", decision)
            if isinstance(decision, TieBreakNeeded):
                card = await self._ask_tie_break(session, draft, user, decision)
            else:
                return await self._start_review(session, draft, user, decision)
        await self._tell_tie(card, decision)
        tied = ", ".join(str(n) for n in decision.tie.variants)
        return Done(f"Variants {tied} are tied; the requester chooses on the draft's message.", draft_id)

    async def _ask_tie_break(
        self, session: AsyncSession, draft: Draft, actor: str, decision: TieBreakNeeded, **why: Any
    ) -> DraftCard:
        """In the caller's transaction: the parent offers the tied variants to the requester (the button's
        tie and the deadline's). Call :meth:`_tell_tie` with the card once committed."""
        draft.tie_asked = True
        await self.desk.enqueue(session, draft, JobKind.REFRESH)
        record(
            session,
            team_id=draft.team_id,
            draft_id=draft.id,
            kind=AuditKind.TIE_BREAK_NEEDED,
            actor=actor,
            tied=decision.tie.variants,
            votes=decision.tie.votes,
            tally=decision.counts,
            **why,
        )
        return await draft_card(session, draft)

    async def _tell_tie(self, card: DraftCard, decision: TieBreakNeeded) -> None:
        self.desk.doorbell.ring()
        try:  # a courtesy: the choice is on the parent whether or not this arrives
            await self.desk.publisher.ask_tie_break(card, decision.tie.variants, decision.tie.votes)
        except Exception:
            log.warning("could not tell the requester of draft %s of the tie", card.draft_id, exc_info=True)

    async def choose_tied(self, *, team_id: str, draft_id: int, user: str, number: int) -> ActionResult:
        desk = self.desk
        async with desk.sessions.begin() as session:
            await queries.lock_draft(session, team_id, draft_id)  # as in request_upgrade
            draft = await desk.draft(session, team_id, draft_id)
            votes = await queries.votes_of(session, team_id, draft_id)
            eligible = await _posted_numbers(session, draft)
            decision = decide_tie_break(
                draft_view(draft), user, number, votes, desk.policy, eligible=eligible
            )
            if isinstance(decision, Refusal):
                return desk.refuse(session, draft, user, "choose_tied", decision)
            return await self._start_review(session, draft, user, decision)

    async def _start_review(
        self, session: AsyncSession, draft: Draft, user: str, upgrade: Upgrade, **why: Any
    ) -> ActionResult:
        """Close voting and ask for the winner at 2K (the button, a tie's pick, the deadline: ``why``
        goes in the audit)."""
        desk = self.desk
        winner = await queries.get_variant(session, draft.team_id, draft.id, Tier.EXPLORE, upgrade.winner)
        if winner is None:
            raise LookupError(f"draft {draft.id} has no variant {upgrade.winner}")
        if not await desk.advance(
            session,
            draft,
            DraftStatus.VOTING,
            DraftStatus.REVIEWING,
            winner_index=upgrade.winner,
            upgraded_by=user,
            winner_picked=upgrade.chosen_by_requester,
        ):
            return desk.refuse(session, draft, user, "upgrade", LOST_RACE)
        await desk.regenerate(session, draft, winner, Tier.REVIEW)
        record_for(
            session,
            draft,
            AuditKind.UPGRADE_REQUESTED,
            user,
            winner=upgrade.winner,
            tally=upgrade.counts,
            chosen_by_requester=upgrade.chosen_by_requester,
            round=winner.round,
            source_chain=await _source_chain(session, winner),
            **why,
        )
        desk.doorbell.ring()
        return Done(
            f"Voting closed. Variant {upgrade.winner} is being regenerated at 2K for review.", draft.id
        )

    async def approve(self, *, team_id: str, draft_id: int, user: str) -> ActionResult:
        desk = self.desk
        async with desk.sessions.begin() as session:
            draft = await desk.draft(session, team_id, draft_id)
            review = await _review(session, draft)
            ready = review is not None and review.status == VariantState.POSTED
            refusal = may_approve(draft_view(draft, review_ready=ready), user, desk.policy)
            if refusal or review is None:
                return desk.refuse(session, draft, user, "approve", refusal or _NO_REVIEW)
            if not await desk.advance(
                session, draft, DraftStatus.REVIEWING, DraftStatus.APPROVED, decided_by=user
            ):
                return desk.refuse(session, draft, user, "approve", LOST_RACE)
            await desk.regenerate(session, draft, review, Tier.FINAL)
            record_for(session, draft, AuditKind.APPROVED, user, variant=review.number)
        desk.doorbell.ring()
        return Done("Approved. The 4K final is on its way.", draft_id)

    async def reject(self, *, team_id: str, draft_id: int, user: str) -> ActionResult:
        desk = self.desk
        async with desk.sessions.begin() as session:
            draft = await desk.draft(session, team_id, draft_id)
            refusal = may_reject(draft_view(draft), user, desk.policy)
            if refusal:
                return desk.refuse(session, draft, user, "reject", refusal)
            if not await desk.advance(
                session, draft, DraftStatus.REVIEWING, DraftStatus.REJECTED, decided_by=user
            ):
                return desk.refuse(session, draft, user, "reject", LOST_RACE)
            record_for(session, draft, AuditKind.REJECTED, user)
            await desk.enqueue(session, draft, JobKind.REFRESH)
        desk.doorbell.ring()
        return Done("Rejected. No 4K will be made.", draft_id)

    async def cancel(self, *, team_id: str, draft_id: int, user: str) -> ActionResult:
        """Stop a draft that is generating or voting: its queued images are dropped, what was made stays."""
        desk = self.desk
        async with desk.sessions.begin() as session:
            await queries.lock_draft(session, team_id, draft_id)  # no vote or round lands in between
            draft = await desk.draft(session, team_id, draft_id)
            refusal = may_cancel(draft_view(draft), user, desk.policy)
            if refusal:
                return desk.refuse(session, draft, user, "cancel", refusal)
            status = DraftStatus(draft.status)
            if not await desk.advance(session, draft, status, DraftStatus.CANCELLED, decided_by=user):
                return desk.refuse(session, draft, user, "cancel", LOST_RACE)
            dropped = await jobqueue.drop_queued(
                session,
                team_id=team_id,
                draft_id=draft_id,
                kinds=[JobKind.GENERATE, JobKind.POST],
                now=desk.clock(),
                why=f"draft cancelled by {user}",
            )
            record_for(session, draft, AuditKind.CANCELLED, user, was=status, jobs_dropped=dropped)
            await desk.enqueue(session, draft, JobKind.REFRESH)
        desk.doorbell.ring()
        return Done("Cancelled. The images already made stay in the thread.", draft_id)

    async def retry(self, *, team_id: str, draft_id: int, user: str) -> ActionResult:
        """Make again what failed (variants, the 2K review or the 4K final) after the provider recovered."""
        async with self.desk.sessions.begin() as session:
            draft = await self.desk.draft(session, team_id, draft_id)
            result = await self._retry_draft(session, draft, user)
        if isinstance(result, Done):
            self.desk.doorbell.ring()
        return result

    async def retry_image(self, *, team_id: str, draft_id: int, user: str, number: int) -> ActionResult:
        """Make one lost 1K variant again while the draft goes on (a failed draft is retried whole)."""
        desk = self.desk
        async with desk.sessions.begin() as session:
            await queries.lock_draft(session, team_id, draft_id)  # not between an upgrade's read and write
            draft = await desk.draft(session, team_id, draft_id)
            result = (
                await self._retry_draft(session, draft, user)
                if draft.status == DraftStatus.FAILED
                else await self._retry_image(session, draft, user, number)
            )
        if isinstance(result, Done):
            desk.doorbell.ring()
        return result

    async def _retry_draft(self, session: AsyncSession, draft: Draft, user: str) -> ActionResult:
        desk = self.desk
        images = await queries.variants_of(session, draft.team_id, draft.id)
        failed = Counter(v.tier for v in images if v.status == VariantState.FAILED)
        refused = Counter(v.tier for v in images if v.status == VariantState.REFUSED)
        plan = decide_retry(
            draft_view(draft),
            user,
            desk.policy,
            failed=failed,
            refused=refused,
            announced=bool(draft.parent_ts),
        )
        if isinstance(plan, Refusal):
            return desk.refuse(session, draft, user, "retry", plan)
        if not await desk.advance(session, draft, DraftStatus.FAILED, plan.status, failure_reason=None):
            return desk.refuse(session, draft, user, "retry", LOST_RACE)
        again = [v for v in images if v.tier == plan.tier and v.status in _RETRIABLE[Tier(plan.tier)]]
        for image in again:
            if image.status != VariantState.PENDING:
                await queries.set_variant(
                    session, image.id, image.status, status=VariantState.PENDING, error=None
                )
        jobs = [(JobKind.GENERATE, {"tier": image.tier, "number": image.number}) for image in again]
        if not draft.parent_ts:  # the parent was never posted: post it first
            jobs.insert(0, (JobKind.ANNOUNCE, {}))
        await enqueue_many(session, draft, jobs, max_attempts=desk.max_attempts)
        await desk.enqueue(session, draft, JobKind.REFRESH)
        record_for(session, draft, AuditKind.RETRIED, user, tier=plan.tier, images=[v.number for v in again])
        return Done("Trying again.", draft.id)

    async def _retry_image(self, session: AsyncSession, draft: Draft, user: str, number: int) -> ActionResult:
        desk = self.desk
        variant = await queries.get_variant(session, draft.team_id, draft.id, Tier.EXPLORE, number)
        if variant is None:
            raise UnknownDraft(draft.id)  # a forged button: no such variant
        refusal = decide_image_retry(draft_view(draft), user, desk.policy, state=VariantState(variant.status))
        if refusal:
            return desk.refuse(session, draft, user, "retry", refusal)
        if not await queries.set_variant(
            session, variant.id, VariantState.FAILED, status=VariantState.PENDING, error=None
        ):
            return desk.refuse(session, draft, user, "retry", LOST_RACE)
        await desk.enqueue(session, draft, JobKind.GENERATE, tier=str(Tier.EXPLORE), number=number)
        await desk.enqueue(session, draft, JobKind.REFRESH)
        record_for(session, draft, AuditKind.RETRIED, user, tier=Tier.EXPLORE, images=[number])
        return Done(f"Making variant {number} again.", draft.id)


async def _source_chain(session: AsyncSession, variant: Variant) -> list[str]:
    """The winner and what it was made from, back to a first-round variant ("1K #6", "1K #2")."""
    chain, seen = [], set()
    current: Variant | None = variant
    while current is not None and current.id not in seen:
        seen.add(current.id)
        chain.append(f"{current.tier} #{current.number}")
        current = await session.get(Variant, current.source_variant_id) if current.source_variant_id else None
    return chain


async def _posted_numbers(session: AsyncSession, draft: Draft) -> list[int]:
    explore = await queries.variants_of(session, draft.team_id, draft.id, Tier.EXPLORE)
    return [v.number for v in explore if v.status == VariantState.POSTED]


async def _review(session: AsyncSession, draft: Draft) -> Variant | None:
    reviews = await queries.variants_of(session, draft.team_id, draft.id, Tier.REVIEW)
    return reviews[0] if reviews else None
