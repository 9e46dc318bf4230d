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

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import blocks, modals
from bot.drafts import ActionResult, Done, Rounds
from bot.errors import UnknownDraft, UserInputError
from bot.workflow import Refusal, RoundReason
from handlers.actions import NOT_A_DRAFT, NOT_FOUND, press_listener
from handlers.forms import field_value, form_button, submitter
from handlers.shared import NOTHING_CHANGED, Answer, acknowledge_once, as_dict, clean_text

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

    async def may_edit(team: str, draft_id: int, user: str, _: str | None) -> Refusal | None:
        return await rounds.may_start(team_id=team, draft_id=draft_id, user=user)

    async def edit_form_of(team: str, draft_id: int, _: str | None) -> dict[str, Any]:
        return modals.edit_modal(await rounds.card(team_id=team, draft_id=draft_id))

    form_button(app, blocks.EDIT_PROMPT, what="Edit prompt", check=may_edit, build=edit_form_of)

    @app.view(blocks.EDIT_MODAL)
    async def edit_form(ack: AsyncAck, body: dict[str, Any]) -> None:
        await acknowledge_once(
            ack,
            partial(_submit, rounds, body=body),
            what="Edit prompt form",
            on_failure={"response_action": "errors", "errors": {"prompt": NOTHING_CHANGED[:ERROR_LIMIT]}},
        )


async def _submit(rounds: Rounds, ack: Answer, *, body: dict[str, Any]) -> None:
    view = as_dict(body.get("view"))
    values = as_dict(as_dict(view.get("state")).get("values"))
    prompt = clean_text(field_value(values, "prompt").get("value"))
    count = as_dict(field_value(values, "variants").get("selected_option")).get("value")
    team, user = submitter(body)
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
