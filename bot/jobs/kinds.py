"""The jobs draftbot queues, and how one is asked for: in the caller's transaction, for one draft."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from storage import jobqueue
from storage.models import Draft


class JobKind(StrEnum):
    ANNOUNCE = "announce_draft"  # post the parent message
    GENERATE = "generate_image"  # one image at one tier: a 1K variant, the 2K review or the 4K final
    REFRESH = "refresh_parent"  # bring the parent message up to date
    POST = "post_image"  # post an image made before its parent message existed (queued by ANNOUNCE)
    SHEET = "contact_sheet"  # a settled round's variants side by side, shown on the parent
    CLOSE_VOTING = "close_voting"  # at a draft's vote deadline: the winner to 2K, or its tie to the requester
    REMIND_REVIEW = "remind_review"  # one reminder about a 2K review still undecided (REVIEW_REMINDER)
    HOME = "publish_home"  # a person's App Home, a moment after a draft on it changed (bot.drafts.home)
    PRUNE_IMAGES = "prune_images"  # the hourly sweep of old drafts' 1K images (bot.retention), for every team


# Jobs queued for a time ahead (a deadline, a reminder), not work left undone: draining leaves them waiting
# until the clock reaches them (see :func:`storage.jobqueue.next_due`).
SCHEDULED = frozenset({JobKind.CLOSE_VOTING, JobKind.REMIND_REVIEW, JobKind.PRUNE_IMAGES})


async def enqueue(
    session: AsyncSession, draft: Draft, kind: JobKind, *, max_attempts: int, **payload: object
) -> None:
    """Ask for a job in the caller's transaction. Parent refreshes, and posts of one image, collapse into one
    queued job."""
    await _enqueue(session, draft, kind, max_attempts, None, payload)


async def schedule(
    session: AsyncSession, draft: Draft, kind: JobKind, *, at: datetime, max_attempts: int, **payload: object
) -> None:
    """Ask for a job due ``at`` (a deadline, a reminder), in the caller's transaction. One queued job per
    draft's deadline and per review's reminder: asking again while it waits adds nothing."""
    await _enqueue(session, draft, kind, max_attempts, at, payload)


async def _enqueue(
    session: AsyncSession,
    draft: Draft,
    kind: JobKind,
    max_attempts: int,
    run_after: datetime | None,
    payload: dict[str, object],
) -> None:
    dedupe = None
    if kind is JobKind.REFRESH:
        dedupe = f"refresh:{draft.id}"
    elif kind is JobKind.POST:
        dedupe = f"post:{draft.id}:{payload['tier']}:{payload['number']}:{payload.get('version', 1)}"
    elif kind is JobKind.SHEET:
        dedupe = f"sheet:{draft.id}:{payload['round']}"
    elif kind is JobKind.CLOSE_VOTING:
        dedupe = f"close-voting:{draft.id}"
    elif kind is JobKind.REMIND_REVIEW:
        dedupe = f"remind-review:{payload['variant_id']}"
    await jobqueue.enqueue(
        session,
        team_id=draft.team_id,
        kind=kind,
        payload={"draft_id": draft.id, **payload},
        draft_id=draft.id,
        max_attempts=max_attempts,
        run_after=run_after,
        dedupe_key=dedupe,
    )


async def enqueue_many(
    session: AsyncSession, draft: Draft, jobs: list[tuple[JobKind, dict[str, object]]], *, max_attempts: int
) -> None:
    """Several jobs for one draft in one statement (the ack of `/draft` waits for this commit)."""
    await jobqueue.enqueue_many(
        session,
        team_id=draft.team_id,
        draft_id=draft.id,
        max_attempts=max_attempts,
        jobs=[(str(kind), {"draft_id": draft.id, **payload}) for kind, payload in jobs],
    )
