"""The jobs draftbot queues, and how one is asked for: in the caller's transaction, for one draft."""

from __future__ import annotations

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


async def enqueue(
    session: AsyncSession, draft: Draft, kind: JobKind, *, max_attempts: int, **payload: object
) -> None:
    """Ask for a job in the caller's transaction. Parent refreshes, and posts of one image, collapse into one
    queued job."""
    dedupe = None
    if kind is JobKind.REFRESH:
        dedupe = f"refresh:{draft.id}"
    elif kind is JobKind.POST:
        dedupe = f"post:{draft.id}:{payload['tier']}:{payload['number']}:{payload.get('version', 1)}"
    elif kind is JobKind.SHEET:
        dedupe = f"sheet:{draft.id}:{payload['round']}"
    await jobqueue.enqueue(
        session,
        team_id=draft.team_id,
        kind=kind,
        payload={"draft_id": draft.id, **payload},
        draft_id=draft.id,
        max_attempts=max_attempts,
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
