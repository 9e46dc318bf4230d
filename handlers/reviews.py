"""The review: Approve (one click), Request changes and Reject (each with a form), and Also as… on the
final. Request changes and Reject ask first whether the person may (handlers.forms), then take the form's
words to :class:`bot.drafts.Decisions`; a refusal or a bad field keeps the form open with the reason beside
the field. Buttons and forms carry ``<draft>:<variant>.<version>``, so a press on a review that was replaced
is refused. Also as… is a menu; like a button, it is acknowledged once its decision is committed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import blocks, modals
from bot.blocks import plain
from bot.drafts import ActionResult, Decisions, Done
from bot.drafts.decisions import ReviewAction
from bot.drafts.home import Homes
from bot.errors import UnknownDraft
from bot.publisher import DraftCard
from bot.reviews import ReviewRef, parse_ref
from bot.workflow import Refusal
from handlers.actions import NOT_A_DRAFT, NOT_FOUND, press_listener
from handlers.forms import field_value, form_button, submitter
from handlers.shared import NOTHING_CHANGED, Answer, acknowledge_once, as_dict, clean_text

log = logging.getLogger(__name__)

ERROR_LIMIT = 150  # characters Slack shows beside a field
_REVIEW = re.compile(r"([0-9]{1,12})(?::([0-9]{1,3}\.[0-9]{1,3}))?")  # <draft>[:<variant>.<version>]
_SHAPE = re.compile(r"([0-9]{1,12}):([a-z0-9-]{1,64})")  # an Also as… option: <draft>:<destination key>


def parse_review(value: str) -> tuple[int, str | None] | None:
    match = _REVIEW.fullmatch(value)
    return (int(match[1]), match[2]) if match else None


def parse_shape(value: str) -> tuple[int, str | None] | None:
    match = _SHAPE.fullmatch(value)
    return (int(match[1]), match[2]) if match else None


def register(app: AsyncApp, decisions: Decisions, *, homes: Homes | None = None) -> None:
    async def approve(team: str, draft_id: int, user: str, review: str | None) -> ActionResult:
        return await decisions.approve(team_id=team, draft_id=draft_id, user=user, pressed=parse_ref(review))

    async def also_as(team: str, draft_id: int, user: str, key: str | None) -> ActionResult:
        return await decisions.also_as(team_id=team, draft_id=draft_id, user=user, destination_key=key or "")

    app.action(blocks.APPROVE)(press_listener(approve, parse_review, homes=homes))
    app.action(blocks.ALSO_AS)(press_listener(also_as, parse_shape, homes=homes))

    forms: tuple[tuple[str, ReviewAction, str, Form], ...] = (
        (blocks.REQUEST_CHANGES, "request_changes", "Request changes", modals.request_changes_modal),
        (blocks.REJECT, "reject", "Reject", modals.reject_modal),
    )
    for action_id, action, what, form in forms:
        form_button(
            app,
            action_id,
            what=what,
            check=partial(_may, decisions, action),
            build=partial(_form, decisions, form),
            parse=parse_review,
        )

    @app.view(blocks.CHANGES_MODAL)
    async def changes_form(ack: AsyncAck, body: dict[str, Any]) -> None:
        await acknowledge_once(
            ack,
            partial(_submit_changes, decisions, body=body),
            what="Request changes form",
            on_failure=_field_error("feedback", NOTHING_CHANGED),
        )

    @app.view(blocks.REJECT_MODAL)
    async def reject_form(ack: AsyncAck, body: dict[str, Any]) -> None:
        await acknowledge_once(
            ack,
            partial(_submit_reject, decisions, body=body),
            what="Reject form",
            on_failure=_field_error("reason", NOTHING_CHANGED),
        )


async def _may(
    decisions: Decisions, action: ReviewAction, team: str, draft_id: int, user: str, review: str | None
) -> Refusal | None:
    return await decisions.may_decide(
        team_id=team, draft_id=draft_id, user=user, action=action, pressed=parse_ref(review)
    )


async def _form(
    decisions: Decisions, form: Form, team: str, draft_id: int, review: str | None
) -> dict[str, Any]:
    return form(await decisions.card(team_id=team, draft_id=draft_id), parse_ref(review))


Submitted = tuple[str | None, str | None, tuple[int, ReviewRef | None] | None, str]
Form = Callable[[DraftCard, ReviewRef | None], dict[str, Any]]


def _read(body: dict[str, Any], block_id: str) -> Submitted:
    """The team, the person, the draft and review, and the text of the form's ``block_id`` field."""
    view = as_dict(body.get("view"))
    values = as_dict(as_dict(view.get("state")).get("values"))
    text = clean_text(field_value(values, block_id).get("value")).strip()
    team, user = submitter(body)
    metadata = view.get("private_metadata")
    match = _REVIEW.fullmatch(metadata) if isinstance(metadata, str) else None
    draft = (int(match[1]), parse_ref(match[2])) if match else None
    return team, user, draft, text


async def _submit_changes(decisions: Decisions, ack: Answer, *, body: dict[str, Any]) -> None:
    team, user, draft, feedback = _read(body, "feedback")
    if not (team and user and draft):
        await ack(**_field_error("feedback", NOT_A_DRAFT))
        return
    if not feedback:
        await ack(**_field_error("feedback", "Say what should change, e.g. “warmer background”."))
        return
    await _decide(
        ack,
        "feedback",
        decisions.request_changes(
            team_id=team, draft_id=draft[0], user=user, feedback=feedback, pressed=draft[1]
        ),
    )


async def _submit_reject(decisions: Decisions, ack: Answer, *, body: dict[str, Any]) -> None:
    team, user, draft, reason = _read(body, "reason")
    values = as_dict(as_dict(as_dict(body.get("view")).get("state")).get("values"))
    then = as_dict(field_value(values, "next").get("selected_option")).get("value")
    if not (team and user and draft):
        await ack(**_field_error("reason", NOT_A_DRAFT))
        return
    if not reason:
        await ack(**_field_error("reason", "Say why, so the team knows what to do next."))
        return
    await _decide(
        ack,
        "reason",
        decisions.reject(
            team_id=team,
            draft_id=draft[0],
            user=user,
            reason=reason,
            back_to_voting=then == modals.REJECT_REVOTES,
            pressed=draft[1],
        ),
    )


async def _decide(ack: Answer, field: str, decision: Awaitable[ActionResult]) -> None:
    """Close the form when the decision is made; otherwise keep it open with the reason beside ``field``."""
    try:
        result = await decision
    except UnknownDraft:
        await ack(**_field_error(field, NOT_FOUND))
        return
    if isinstance(result, Done):
        await ack()
    else:
        await ack(**_field_error(field, result.reason))


def _field_error(field: str, text: str) -> dict[str, Any]:
    """Keep the form open with ``text`` beside ``field`` (plain text there: mentions spelled out)."""
    return {"response_action": "errors", "errors": {field: plain(text)[:ERROR_LIMIT]}}
