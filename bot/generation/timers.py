"""The scheduled jobs: a draft's voting deadline, and the one reminder about a 2K review nobody decided.

Both are rows in the jobs table with a ``run_after`` ahead (they survive restarts; no timer lives in
memory), and both may run late, or twice after a crash: each decides from the database when it runs, and
the reminder's post is claimed (:mod:`storage.claims`) and found again by its metadata, like every post.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.audit import SYSTEM, AuditKind, record_for
from bot.cards import Pricing, draft_card
from bot.deadlines import needs_reminder, reminder_mentions
from bot.drafts import Deadlines
from bot.drafts.settings import PolicyFor
from bot.durations import words
from bot.errors import RetryLater
from bot.generation.lookup import draft_of
from bot.jobs import Handler, JobKind, schedule
from bot.publisher import MessageRef, Publisher, ReminderCard
from bot.tiers import Tier
from bot.workflow import DraftStatus, VariantState
from storage import claims, queries
from storage.claims import Claim
from storage.jobqueue import ClaimedJob
from storage.models import Approval, Draft, Job, Variant

log = logging.getLogger(__name__)


async def schedule_reminder(
    session: AsyncSession,
    draft: Draft,
    review: Variant,
    *,
    now: datetime,
    after: timedelta | None,
    max_attempts: int,
) -> None:
    """In the caller's transaction (the review's post being recorded): its reminder, ``after`` from now,
    when reminders are on (``DRAFTBOT_REVIEW_REMINDER``)."""
    if after is None:
        return
    await schedule(
        session,
        draft,
        JobKind.REMIND_REVIEW,
        at=now + after,
        max_attempts=max_attempts,
        variant_id=review.id,
        after_seconds=int(after.total_seconds()),
    )


class Timers:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        deadlines: Deadlines,
        policy_for: PolicyFor,
        *,
        clock: Callable[[], datetime],
        prices: Pricing | None = None,
    ) -> None:
        self.sessions = sessions
        self.policy_for = policy_for  # the draft's channel's approvers
        self.prices = prices  # what the Approve button says the 4K costs
        self.publisher = publisher
        self.deadlines = deadlines
        self.clock = clock

    @property
    def handlers(self) -> dict[str, Handler]:
        return {JobKind.CLOSE_VOTING: self.close_voting, JobKind.REMIND_REVIEW: self.remind_review}

    async def close_voting(self, job: ClaimedJob) -> None:
        await self.deadlines.close_voting(team_id=job.team_id, draft_id=int(str(job.payload["draft_id"])))

    async def remind_review(self, job: ClaimedJob) -> None:
        """One reminder in the thread, if the review still waits: the draft is in review, this is still the
        latest version, and nobody approved or decided it."""
        variant_id = int(str(job.payload["variant_id"]))
        async with self.sessions.begin() as session:
            draft = await draft_of(session, job)
            review = await session.get(Variant, variant_id)
            if review is None or review.draft_id != draft.id or review.team_id != draft.team_id:
                return
            reviews = await queries.variants_of(session, draft.team_id, draft.id, Tier.REVIEW)
            latest = max(reviews, key=lambda v: v.id)  # a newer version supersedes it
            approvals = await session.scalar(
                select(func.count()).select_from(Approval).where(Approval.variant_id == review.id)
            )
            if not needs_reminder(
                DraftStatus(draft.status),
                posted=review.status == VariantState.POSTED and review.slack_ts is not None,
                latest=latest.id == review.id,
                approvals=int(approvals or 0),
                decided=review.outcome is not None,
                reminded=review.reminder_ts is not None,
            ):
                log.info("draft %s: the review needs no reminder now", draft.id)
                return
            previous = review.post_claim_job
            claim = await claims.claim_post(
                session,
                Variant,
                review.id,
                job_id=job.id,
                attempt=job.attempts,
                worker_id=job.lease_owner,
                now=self.clock(),
                reminder_ts=None,
            )
            if claim is Claim.FENCED:
                return
            if claim is Claim.HELD:  # the review's own post is still being made: remind once it is done
                raise RetryLater("the review's message is still being posted")
            # Until now the row's claim was the review image's post: only an earlier attempt of this very job
            # can have posted a reminder, so only then look for it before posting.
            retry = claim is Claim.TAKEN_OVER and await _kind_of(session, previous) == JobKind.REMIND_REVIEW
            policy = await self.policy_for(session, draft)
            card = await draft_card(session, draft, policy=policy, prices=self.prices)
            mention, anyone = reminder_mentions(policy, draft.requester_id)
            reminder = ReminderCard(
                number=review.number,
                version=review.version,
                mention=mention,
                anyone=anyone,
                waited=words(timedelta(seconds=int(str(job.payload.get("after_seconds", 0))))),
                review=MessageRef(str(review.slack_channel), str(review.slack_ts)),
            )
        ref = await self.publisher.post_reminder(card, reminder, retry=retry)
        async with self.sessions.begin() as session:
            if not await claims.record_post(
                session,
                Variant,
                variant_id,
                job_id=job.id,
                attempt=job.attempts,
                still={"reminder_ts": None},
                values={"reminder_ts": ref.ts},
            ):
                return
            record_for(
                session,
                await draft_of(session, job),
                AuditKind.REMINDER_SENT,
                SYSTEM,
                number=reminder.number,
                version=reminder.version,
                mentioned=list(mention),
                anyone_may_approve=anyone,
                waited=reminder.waited,
                ts=ref.ts,
            )


async def _kind_of(session: AsyncSession, job_id: int | None) -> str | None:
    job = await session.get(Job, job_id) if job_id is not None else None
    return job.kind if job is not None else None
