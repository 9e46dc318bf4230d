"""Exploring further: More like this (on a variant), New round and Edit prompt (on the parent), and the
Edit prompt form. Each round is started by :class:`bot.drafts.Rounds`; refusals are answered privately.

Edit prompt asks first whether a round may start, so a person who may not is told at once instead of
being shown a form that would be refused.
"""

from __future__ import annotations

import logging
import re
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks, modals
from bot.drafts import ActionResult, Done, Rounds
from bot.errors import UnknownDraft, UserInputError
from bot.workflow import RoundReason
from handlers.actions import NOT_A_DRAFT, NOT_FOUND, parse_value, press_listener
from handlers.shared import NOTHING_CHANGED, Answer, acknowledge_once, as_dict, clean_text, slack_id

log = logging.getLogger(__name__)

ERROR_LIMIT = 150  # characters Slack shows beside a field
_COUNT = re.compile(r"[0-9]{1,3}")
_DRAFT_ID = re.compile(r"[0-9]{1,12}")


def register(app: AsyncApp, rounds: Rounds) -> None:
    async def more_like_this(team: str, draft_id: int, user: str, number: str | None) -> ActionResult:
        if number is None:
            raise UnknownDraft(draft_id)  # a More like this button always names its variant
        return await rounds.start(
            team_id=team, draft_id=draft_id, user=user, reason=RoundReason.MORE_LIKE_THIS, source=int(number)
        )

    async def new_round(team: str, draft_id: int, user: str, _: str | None) -> ActionResult:
        return await rounds.start(team_id=team, draft_id=draft_id, user=user, reason=RoundReason.NEW_ROUND)

    app.action(blocks.MORE_LIKE_THIS)(press_listener(more_like_this))
    app.action(blocks.NEW_ROUND)(press_listener(new_round))

    @app.action(blocks.EDIT_PROMPT)
    async def edit_prompt(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        answer = await _open_edit_form(rounds, body, client)
        if answer:
            try:
                await respond(text=answer, response_type="ephemeral", replace_original=False)
            except Exception as err:  # no response_url: nobody left to tell
                log.warning("could not answer an Edit prompt press: %s", err)

    @app.view(blocks.EDIT_MODAL)
    async def edit_form(ack: AsyncAck, body: dict[str, Any]) -> None:
        await acknowledge_once(
            ack,
            partial(_submit, rounds, body=body),
            what="Edit prompt form",
            on_failure={"response_action": "errors", "errors": {"prompt": NOTHING_CHANGED[:ERROR_LIMIT]}},
        )


async def _open_edit_form(rounds: Rounds, body: dict[str, Any], client: AsyncWebClient) -> str | None:
    """Open the form, or say why not (privately). None when the form opened."""
    actions = body.get("actions")
    action = as_dict(actions[0]) if isinstance(actions, list) and actions else {}
    value = action.get("value")
    parsed = parse_value(value) if isinstance(value, str) else None
    team = slack_id(as_dict(body.get("team")).get("id"))
    user = slack_id(as_dict(body.get("user")).get("id"))
    trigger = body.get("trigger_id")
    if parsed is None or not team or not user or not isinstance(trigger, str):
        return NOT_A_DRAFT
    try:
        refusal = await rounds.may_start(team_id=team, draft_id=parsed[0], user=user)
        if refusal:
            return refusal.reason
        card = await rounds.card(team_id=team, draft_id=parsed[0])
        await client.views_open(trigger_id=trigger, view=modals.edit_modal(card))
    except UnknownDraft:
        return NOT_FOUND
    except SlackApiError as err:  # e.g. the trigger expired (3 s)
        log.warning("could not open the Edit prompt form: %s", err.response.get("error"))
        return "The form could not open in time; press Edit prompt again."
    except Exception:
        log.exception("an Edit prompt press failed")
        return NOTHING_CHANGED
    return None


async def _submit(rounds: Rounds, ack: Answer, *, body: dict[str, Any]) -> None:
    view = as_dict(body.get("view"))
    values = as_dict(as_dict(view.get("state")).get("values"))
    prompt = clean_text(as_dict(as_dict(values.get("prompt")).get("value")).get("value"))
    count = as_dict(as_dict(as_dict(values.get("variants")).get("value")).get("selected_option")).get("value")
    team = slack_id(as_dict(body.get("team")).get("id")) or slack_id(as_dict(body.get("user")).get("team_id"))
    user = slack_id(as_dict(body.get("user")).get("id"))
    draft = view.get("private_metadata")
    if not (team and user and isinstance(draft, str) and _DRAFT_ID.fullmatch(draft)):
        await ack(response_action="errors", errors={"prompt": NOT_A_DRAFT[:ERROR_LIMIT]})
        return
    size = int(count) if isinstance(count, str) and _COUNT.fullmatch(count) else None
    try:
        result = await rounds.start(
            team_id=team,
            draft_id=int(draft),
            user=user,
            reason=RoundReason.EDIT_PROMPT,
            prompt=prompt,
            size=size,
        )
    except UserInputError as err:
        await ack(response_action="errors", errors={err.field or "prompt": err.message[:ERROR_LIMIT]})
        return
    except UnknownDraft:
        await ack(response_action="errors", errors={"prompt": NOT_FOUND[:ERROR_LIMIT]})
        return
    if isinstance(result, Done):
        await ack()
    else:
        await ack(response_action="errors", errors={"prompt": result.reason[:ERROR_LIMIT]})
