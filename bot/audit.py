"""The audit trail: who did what to which draft, when. Append-only (the database refuses edits)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import AuditEvent, Draft

SYSTEM = "draftbot"  # the actor for what the bot does on its own


class AuditKind(StrEnum):
    COMMAND = "command"
    DRAFT_ANNOUNCED = "draft_announced"
    GENERATION = "generation"
    GENERATION_REFUSED = "generation_refused"
    GENERATION_FAILED = "generation_failed"
    VARIANT_POSTED = "variant_posted"
    VOTING_OPENED = "voting_opened"
    VOTE = "vote"  # a vote reaction added (details: variant, event_ts, previous and now: the person's vote)
    UNVOTE = "unvote"  # a vote reaction removed
    UPGRADE_REQUESTED = "upgrade_requested"
    TIE_BREAK_NEEDED = "tie_break_needed"
    VOTING_CLOSED = "voting_closed"  # voting closed by itself at its deadline (by: "deadline")
    REVIEW_POSTED = "review_posted"
    REMINDER_SENT = "reminder_sent"  # a review nobody decided was reminded of, mentioning the approvers
    APPROVED = "approved"  # one approver's approval (details: version, approvals so far, required)
    CHANGES_REQUESTED = "changes_requested"  # who, the feedback, the version it revises, the new version
    REJECTED = "rejected"  # who, why, and whether the draft went back to voting
    SHAPE_REQUESTED = "shape_requested"  # the approved final asked for in another shape (Also as…)
    FINAL_POSTED = "final_posted"
    DRAFT_FAILED = "draft_failed"
    CANCELLED = "cancelled"
    RETRIED = "retried"
    ROUND_STARTED = "round_started"  # another round of 1K variants: who, why, source, prompt, numbers
    ACTION_REFUSED = "action_refused"  # someone pressed what they may not
    INPUT_REJECTED = "input_rejected"  # a command we could not parse
    IMAGES_DELETED = (
        "images_deleted"  # a finished draft's 1K images removed after DRAFTBOT_IMAGE_RETENTION_DAYS
    )
    SETTINGS_CHANGED = "settings_changed"  # a channel's settings: who, the channel, before and after
    WORKSPACE_LEFT = "workspace_left"  # app_uninstalled / tokens_revoked: the installation and jobs stopped
    TEAM_DELETED = "team_deleted"  # `draftbot team delete`: the team's data erased (who, what, how much)


def record(
    session: AsyncSession,
    *,
    team_id: str,
    kind: AuditKind,
    actor: str,
    draft_id: int | None = None,
    at: datetime | None = None,
    **details: Any,
) -> None:
    """Add an event to the caller's transaction: it lands exactly when the change it describes does."""
    event = AuditEvent(
        team_id=team_id, draft_id=draft_id, kind=str(kind), actor=actor, details=_plain(details)
    )
    if at is not None:
        event.at = at
    session.add(event)


def _plain(value: Any) -> Any:
    """JSON-safe copy: enums to their values, tuples to lists, other objects to strings."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, StrEnum):
        return value.value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def record_for(session: AsyncSession, draft: Draft, kind: AuditKind, actor: str, **details: Any) -> None:
    """:func:`record` for an event about ``draft``, in its team."""
    record(session, team_id=draft.team_id, draft_id=draft.id, kind=kind, actor=actor, **details)


EXPORT_FIELDS = ("id", "at", "team_id", "draft_id", "kind", "actor", "details")


async def events(
    sessions: async_sessionmaker[AsyncSession],
    *,
    team_id: str | None = None,
    draft_id: int | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Events in the order they happened, as plain dicts; filtered by team, draft, kind and time (from
    ``since``, before ``until``) when given."""
    query = select(AuditEvent).order_by(AuditEvent.id)
    if kind is not None:
        query = query.where(AuditEvent.kind == kind)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    if team_id is not None:
        query = query.where(AuditEvent.team_id == team_id)
    if draft_id is not None:
        query = query.where(AuditEvent.draft_id == draft_id)
    async with sessions() as session:
        for event in (await session.scalars(query)).all():
            yield {
                "id": event.id,
                "at": event.at.isoformat(),
                "team_id": event.team_id,
                "draft_id": event.draft_id,
                "kind": event.kind,
                "actor": event.actor,
                "details": event.details,
            }


def to_jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "details": json.dumps(row["details"], ensure_ascii=False, sort_keys=True)})
    return out.getvalue()
