"""Retry: make again what failed — a failed draft from the stage that failed (its 1K variants, the 2K
review version or the 4K final), or one lost 1K variant while the draft goes on.

Each is one transaction, like every decision: the images go back to pending with their jobs and audit.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import AuditKind, record_for
from bot.cards import draft_view
from bot.drafts.desk import LOST_RACE, Desk
from bot.drafts.results import ActionResult, Done
from bot.errors import UnknownDraft
from bot.jobs import JobKind, enqueue_many
from bot.tiers import Tier
from bot.workflow import DraftStatus, Refusal, VariantState, decide_image_retry, decide_retry
from storage import queries
from storage.models import Draft

# What Retry makes again, by tier. 1K variants refused for safety stay refused (asking again gives the same
# answer); a refused 2K or 4K is worth one more try; unfinished 1K variants go again if the parent failed.
_RETRIABLE = {
    Tier.EXPLORE: {VariantState.FAILED, VariantState.PENDING},
    Tier.REVIEW: {VariantState.FAILED, VariantState.REFUSED},
    Tier.FINAL: {VariantState.FAILED, VariantState.REFUSED},
}


class Retries:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

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
            await desk.policy_for(session, draft),
            failed=failed,
            refused=refused,
            announced=bool(draft.parent_ts),
        )
        if isinstance(plan, Refusal):
            return desk.refuse(session, draft, user, "retry", plan)
        again = [v for v in images if v.tier == plan.tier and v.status in _RETRIABLE[Tier(plan.tier)]]
        if costly := await desk.over_budget(session, draft, Tier(plan.tier), len(again)):
            return desk.refuse(session, draft, user, "retry", costly)
        if not await desk.advance(session, draft, DraftStatus.FAILED, plan.status, failure_reason=None):
            return desk.refuse(session, draft, user, "retry", LOST_RACE)
        for image in again:
            if image.status != VariantState.PENDING:
                await queries.set_variant(
                    session, image.id, image.status, status=VariantState.PENDING, error=None
                )
        jobs = [
            (JobKind.GENERATE, {"tier": image.tier, "number": image.number, "version": image.version})
            for image in again
        ]
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
        refusal = decide_image_retry(
            draft_view(draft), user, await desk.policy_for(session, draft), state=VariantState(variant.status)
        )
        refusal = refusal or await desk.over_budget(session, draft, Tier.EXPLORE)
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
