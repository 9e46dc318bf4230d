"""Buttons that open a form (Edit prompt, Request changes, Reject): whether the person may is decided
first, so someone who may not is told at once (privately) instead of being shown a form that would be
refused; the form's submission carries the draft (and version) in its private metadata.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UnknownDraft
from bot.workflow import Refusal
from handlers.actions import NOT_A_DRAFT, NOT_FOUND, Parse, parse_value
from handlers.shared import NOTHING_CHANGED, as_dict, slack_id

log = logging.getLogger(__name__)

# (team, draft id, user, the button value's second part) -> why not, or None
Check = Callable[[str, int, str, str | None], Awaitable[Refusal | None]]
# (team, draft id, the button value's second part) -> the form
Build = Callable[[str, int, str | None], Awaitable[dict[str, Any]]]


def form_button(
    app: AsyncApp, action_id: str, *, what: str, check: Check, build: Build, parse: Parse = parse_value
) -> None:
    """Register the button ``action_id``: it opens the form ``build`` makes, if ``check`` allows."""

    @app.action(action_id)
    async def press(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        answer = await _open(body, client, what=what, check=check, build=build, parse=parse)
        if answer:
            try:
                await respond(text=answer, response_type="ephemeral", replace_original=False)
            except Exception as err:  # no response_url: nobody left to tell
                log.warning("could not answer a %s press: %s", what, err)


async def _open(
    body: dict[str, Any], client: AsyncWebClient, *, what: str, check: Check, build: Build, parse: Parse
) -> str | None:
    """Open the form, or say why not. None when the form opened."""
    actions = body.get("actions")
    action = as_dict(actions[0]) if isinstance(actions, list) and actions else {}
    value = action.get("value")
    parsed = parse(value) if isinstance(value, str) else None
    team = slack_id(as_dict(body.get("team")).get("id"))
    user = slack_id(as_dict(body.get("user")).get("id"))
    trigger = body.get("trigger_id")
    if parsed is None or not team or not user or not isinstance(trigger, str):
        return NOT_A_DRAFT
    draft_id, extra = parsed
    try:
        refusal = await check(team, draft_id, user, extra)
        if refusal:
            return refusal.reason
        await client.views_open(trigger_id=trigger, view=await build(team, draft_id, extra))
    except UnknownDraft:
        return NOT_FOUND
    except SlackApiError as err:  # e.g. the trigger expired (3 s)
        log.warning("could not open the %s form: %s", what, err.response.get("error"))
        return f"The form could not open in time; press {what} again."
    except Exception:
        log.exception("a %s press failed", what)
        return NOTHING_CHANGED
    return None


def submitter(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """The team and the person submitting a form."""
    user = as_dict(body.get("user"))
    team = slack_id(as_dict(body.get("team")).get("id")) or slack_id(user.get("team_id"))
    return team, slack_id(user.get("id"))


def field_value(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    """The state of a form field whose element's action id is ``value``."""
    return as_dict(as_dict(values.get(block_id)).get("value"))
