"""The review: Approve (one click), Request changes and Reject (each with a form), and Also as… on the
final. Request changes and Reject ask first whether the person may (handlers.forms), then take the form's
words to :class:`bot.drafts.Decisions`; a refusal or a bad field keeps the form open with the reason beside
the field. Buttons carry ``<draft>:<version>``, so a press on a version that was replaced is refused.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import blocks, modals
from bot.drafts import ActionResult, Decisions, Done
from bot.drafts.decisions import ReviewAction
from bot.errors import UnknownDraft
from bot.publisher import DraftCard
from bot.workflow import Refusal
from handlers.actions import NOT_A_DRAFT, NOT_FOUND, press_listener
from handlers.forms import field_value, form_button, submitter
from handlers.shared import NOTHING_CHANGED, Answer, acknowledge_once, as_dict, clean_text, slack_id

log = logging.getLogger(__name__)

ERROR_LIMIT = 150  # characters Slack shows beside a field
_REVIEW = re.compile(r"([0-9]{1,12})(?::([0-9]{1,3}))?")  # a form's metadata: <draft>[:<version>]
_SHAPE = re.compile(r"([0-9]{1,12}):([a-z0-9-]{1,64})")  # an Also as… option: <draft>:<destination key>


def register(app: AsyncApp, decisions: Decisions) -> None:
    async def approve(team: str, draft_id: int, user: str, version: str | None) -> ActionResult:
        return await decisions.approve(team_id=team, draft_id=draft_id, user=user, version=_int(version))

    app.action(blocks.APPROVE)(press_listener(approve))

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

    @app.action(blocks.ALSO_AS)
    async def also_as(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        text = await _also_as(decisions, body)
        try:
            await respond(text=text, response_type="ephemeral", replace_original=False)
        except Exception as err:  # no response_url: nobody left to tell
            log.warning("could not answer an Also as… choice: %s", err)


async def _may(
    decisions: Decisions, action: ReviewAction, team: str, draft_id: int, user: str, version: str | None
) -> Refusal | None:
    return await decisions.may_decide(
        team_id=team, draft_id=draft_id, user=user, action=action, version=_int(version)
    )


async def _form(
    decisions: Decisions, form: Form, team: str, draft_id: int, version: str | None
) -> dict[str, Any]:
    return form(await decisions.card(team_id=team, draft_id=draft_id), _int(version))


Submitted = tuple[str | None, str | None, tuple[int, int | None] | None, str]
Form = Callable[[DraftCard, int | None], dict[str, Any]]


def _read(body: dict[str, Any], block_id: str) -> Submitted:
    """The team, the person, the draft and version, and the text of the form's ``block_id`` field."""
    view = as_dict(body.get("view"))
    values = as_dict(as_dict(view.get("state")).get("values"))
    text = clean_text(field_value(values, block_id).get("value")).strip()
    team, user = submitter(body)
    metadata = view.get("private_metadata")
    match = _REVIEW.fullmatch(metadata) if isinstance(metadata, str) else None
    draft = (int(match[1]), _int(match[2])) if match else None
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
            team_id=team, draft_id=draft[0], user=user, feedback=feedback, version=draft[1]
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
            version=draft[1],
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


async def _also_as(decisions: Decisions, body: dict[str, Any]) -> str:
    actions = body.get("actions")
    action = as_dict(actions[0]) if isinstance(actions, list) and actions else {}
    value = as_dict(action.get("selected_option")).get("value")
    match = _SHAPE.fullmatch(value) if isinstance(value, str) else None
    team = slack_id(as_dict(body.get("team")).get("id"))
    user = slack_id(as_dict(body.get("user")).get("id"))
    if match is None or not team or not user:
        return NOT_A_DRAFT
    try:
        result = await decisions.also_as(
            team_id=team, draft_id=int(match[1]), user=user, destination_key=match[2]
        )
    except UnknownDraft:
        return NOT_FOUND
    except Exception:
        log.exception("an Also as… choice failed")
        return NOTHING_CHANGED
    return result.message if isinstance(result, Done) else result.reason


def _field_error(field: str, text: str) -> dict[str, Any]:
    return {"response_action": "errors", "errors": {field: text[:ERROR_LIMIT]}}


def _int(text: str | None) -> int | None:
    return int(text) if text else None
