"""`/draft`: parse, store the draft and its jobs, and acknowledge, all well inside Slack's 3 seconds.

The draft is committed before the acknowledgement, so an acknowledged command is never lost; no
provider call and no image work happen here.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.command import DraftRequest, HelpRequest, help_text, parse, usage_text
from bot.errors import UserInputError
from bot.runtime import Runtime

log = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = (
    "Something went wrong on our side and nothing was drafted. Please try again in a moment."
)


COMMANDS = ("/draft",)


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.command(COMMANDS[0])
    async def draft_command(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        await handle_draft(runtime, ack, command, client)


async def handle_draft(
    runtime: Runtime, ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient
) -> None:
    text = str(command.get("text") or "")
    team, user, channel = (
        str(command.get("team_id")),
        str(command.get("user_id")),
        str(command.get("channel_id")),
    )
    if not text.strip():
        await ack(text=usage_text())
        await _open_form(client, command, runtime.settings.default_variants)
        return
    try:
        request = parse(text, default_variants=runtime.settings.default_variants)
    except UserInputError as err:
        await ack(text=blocks.escape(err.message))
        await runtime.drafts.reject_input(team_id=team, user=user, text=text, reason=err.message)
        return
    if isinstance(request, HelpRequest):
        await ack(text="How to use /draft", blocks=blocks.text_blocks(help_text()))
        return
    try:
        draft_id = await runtime.drafts.create_draft(
            team_id=team, channel_id=channel, requester=user, request=request, command_text=text
        )
    except Exception:
        log.exception("could not store a /draft from %s in %s", user, team)
        await ack(text=SOMETHING_WENT_WRONG)
        return
    await ack(text=confirmation(draft_id, request))


def confirmation(draft_id: int, request: DraftRequest) -> str:
    noun = "variant" if request.n_variants == 1 else "variants"
    text = (
        f"Drafting {request.n_variants} {noun} for *{blocks.escape(request.destination_name)}* "
        f"({request.ratio}) at 1K: draft #{draft_id}. They will appear in a thread in this channel."
    )
    return "\n".join([text, *(f":bulb: {blocks.escape(hint)}" for hint in request.hints)])


async def _open_form(client: AsyncWebClient, command: dict[str, Any], default_variants: int) -> None:
    trigger = command.get("trigger_id")
    if not trigger:
        return
    try:
        await client.views_open(
            trigger_id=str(trigger),
            view=blocks.draft_modal(str(command.get("channel_id")), default_variants=default_variants),
        )
    except SlackApiError as err:  # e.g. the trigger expired; the usage text already answered
        log.info("could not open the /draft form: %s", err.response.get("error"))
