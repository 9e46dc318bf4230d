"""Post claims: before a job posts a message to Slack it claims the post in the database, so that of all
the workers and attempts that might post it, exactly one does. No business logic.

Slack's ``chat.postMessage`` has no idempotency key. A claim names the job attempt that is posting
(``post_claim_job``, ``post_claim_attempt``) on the row the message shows (a variant, or a draft for its
parent message). Claiming is a compare-and-set that succeeds only while the claiming job still holds its
lease (fencing: a worker that lost its job cannot claim), and only when the post is unclaimed or its
claim is stale, that is held by an attempt that no longer holds its lease (a crash, a lost lease, an
earlier attempt of the same job). Taking over a stale claim means the earlier post may have happened, so
the new claimant looks in Slack for it first. A claim held by a live attempt is left alone: that attempt
will post.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.jobqueue import RUNNING
from storage.models import Draft, Job, Variant

Claimable = type[Variant] | type[Draft]


class Claim(enum.Enum):
    NEW = "new"  # nobody tried to post it before: post
    TAKEN_OVER = "taken_over"  # an attempt that is gone may have posted it: look for it, then post
    HELD = "held"  # a live attempt is posting it: leave it
    FENCED = "fenced"  # we no longer hold our job's lease, or the row is not ours to post: do nothing


def _live(model: Claimable, now: datetime) -> Any:
    """The row's claim is held by a job attempt that still holds its lease."""
    return exists().where(
        Job.id == model.post_claim_job,
        Job.attempts == model.post_claim_attempt,
        Job.status == RUNNING,
        Job.lease_expires_at > now,
    )


def _ours(job_id: int, attempt: int, worker_id: str, now: datetime) -> Any:
    """Our job attempt still holds its lease."""
    return exists().where(
        Job.id == job_id,
        Job.attempts == attempt,
        Job.lease_owner == worker_id,
        Job.status == RUNNING,
        Job.lease_expires_at > now,
    )


async def claim_post(
    session: AsyncSession,
    model: Claimable,
    row_id: int,
    *,
    job_id: int,
    attempt: int,
    worker_id: str,
    now: datetime,
    **still: Any,
) -> Claim:
    """Claim the post of ``model`` row ``row_id`` for this job attempt, if the row still matches ``still``
    (e.g. ``status="generated"``). Commit right after: the claim must be visible before the post is made."""
    conditions = [model.id == row_id, *(getattr(model, k) == v for k, v in still.items())]
    row = (
        await session.execute(
            select(model.post_claim_job, model.post_claim_attempt, _live(model, now))
            .where(*conditions)
            .with_for_update()
        )
    ).first()
    if row is None:
        return Claim.FENCED
    previous_job, previous_attempt, live = row
    mine = previous_job == job_id and previous_attempt == attempt
    if live and not mine:
        return Claim.HELD
    result = cast(
        "CursorResult[Any]",
        await session.execute(
            update(model)
            .where(
                *conditions,
                or_(model.post_claim_job.is_(None), ~_live(model, now), and_(*_same(model, job_id, attempt))),
                _ours(job_id, attempt, worker_id, now),
            )
            .values(post_claim_job=job_id, post_claim_attempt=attempt)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        return Claim.FENCED
    return Claim.NEW if previous_job is None else Claim.TAKEN_OVER


def _same(model: Claimable, job_id: int, attempt: int) -> tuple[Any, Any]:
    return model.post_claim_job == job_id, model.post_claim_attempt == attempt


def held_by(model: Claimable, job_id: int, attempt: int) -> Any:
    """A condition for recording the post's outcome: only the claim's holder may."""
    return and_(*_same(model, job_id, attempt))


async def record_post(
    session: AsyncSession,
    model: Claimable,
    row_id: int,
    *,
    job_id: int,
    attempt: int,
    still: dict[str, Any],
    values: dict[str, Any],
) -> bool:
    """Record what the post made (its ts...) on the row, only for the claim's holder and only while the row
    still matches ``still``; False when another attempt took the claim over meanwhile."""
    result = cast(
        "CursorResult[Any]",
        await session.execute(
            update(model)
            .where(
                model.id == row_id,
                held_by(model, job_id, attempt),
                *(getattr(model, k) == v for k, v in still.items()),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        ),
    )
    return result.rowcount == 1
