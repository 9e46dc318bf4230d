"""The `/draft` form: validate the fields (errors shown beside them), then draft as the command does.

The draft is stored before the form is acknowledged, so a form that closes has been drafted; anything
that goes wrong keeps the form open with the reason beside the prompt, and nothing raises out of the
listener.
"""

from __future__ import annotations

import logging
import re
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import blocks, modals
from bot.command import from_form
from bot.drafts import Intake
from bot.errors import UserInputError
from handlers.shared import NOTHING_DRAFTED, Answer, acknowledge_once, as_dict, clean_text, slack_id

log = logging.getLogger(__name__)

LOST_CONTEXT = (
    "I lost track of which channel this form is for. Close it and type /draft in that channel again."
)
ERROR_LIMIT = 150  # characters Slack shows beside a field

_COUNT = re.compile(r"[0-9]{1,3}")


def register(app: AsyncApp, intake: Intake) -> None:
    @app.view(blocks.DRAFT_MODAL)
    async def draft_form(ack: AsyncAck, body: dict[str, Any]) -> None:
        await acknowledge_once(
            ack,
            partial(_submit, intake, body=body),
            what="/draft form",
            on_failure={
                "response_action": "errors",
                "errors": {"prompt": NOTHING_DRAFTED[:ERROR_LIMIT]},
            },
        )


async def _submit(intake: Intake, ack: Answer, *, body: dict[str, Any]) -> None:
    view = as_dict(body.get("view"))
    values = as_dict(as_dict(view.get("state")).get("values"))
    prompt = clean_text(_field(values, "prompt").get("value"))
    destination = as_dict(_field(values, "destination").get("selected_option")).get("value")
    count = as_dict(_field(values, "variants").get("selected_option")).get("value")
    try:
        request = from_form(
            prompt,
            destination if isinstance(destination, str) else "",
            int(count) if isinstance(count, str) and _COUNT.fullmatch(count) else 0,
        )
    except UserInputError as err:
        await ack(response_action="errors", errors={err.field or "prompt": err.message[:ERROR_LIMIT]})
        return
    user_info = as_dict(body.get("user"))
    team = slack_id(as_dict(body.get("team")).get("id")) or slack_id(user_info.get("team_id"))
    user = slack_id(user_info.get("id"))
    form = modals.read_form_metadata(view.get("private_metadata"))
    channel, reference = (slack_id(form[0]), form[1]) if form else (None, None)
    if not (team and user and channel):
        log.warning("a /draft form arrived without team, user or channel")
        await ack(response_action="errors", errors={"prompt": LOST_CONTEXT[:ERROR_LIMIT]})
        return
    text = f"{request.prompt} for {request.destination_name} --n {request.n_variants}"
    try:
        await intake.create_draft(
            team_id=team,
            channel_id=channel,
            requester=user,
            request=request,
            command_text=text,
            reference=reference,
        )
    except UserInputError as err:  # over a budget: said beside the prompt, and audited
        await ack(response_action="errors", errors={"prompt": err.message[:ERROR_LIMIT]})
        return
    except Exception:
        log.exception("could not store a /draft form from %s in %s", user, team)
        await ack(response_action="errors", errors={"prompt": NOTHING_DRAFTED[:ERROR_LIMIT]})
        return
    await ack()


def _field(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    return as_dict(as_dict(values.get(block_id)).get("value"))
