"""`/draft`: parse, store the draft and its jobs, and acknowledge, all well inside Slack's 3 seconds.

The draft is committed before the acknowledgement, so an acknowledged command is never lost; no
provider call and no image work happen here. Every path acknowledges exactly once with a message a
person can act on, and nothing escapes the listener: whatever the payload holds, Slack gets an answer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.command import MAX_PROMPT_CHARS, DraftRequest, HelpRequest, help_text, parse, usage_text
from bot.errors import UserInputError
from bot.runtime import Runtime

log = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = (
    "Something went wrong on our side and nothing was drafted. Please try again in a moment."
)
NO_CONTEXT = (
    "I couldn't tell which workspace, person or channel this `/draft` came from, so nothing was drafted. "
    "Please type it again in a channel."
)
# A whole prompt plus its destination and options. Longer text can't be a valid command, and refusing it
# here keeps the parser (and the closest-destination search) well inside Slack's 3 seconds.
MAX_COMMAND_CHARS = MAX_PROMPT_CHARS + 500

COMMANDS = ("/draft",)

Answer = Callable[..., Awaitable[None]]


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.command(COMMANDS[0])
    async def draft_command(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        await handle_draft(runtime, ack, command, client)


async def handle_draft(
    runtime: Runtime, ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient
) -> None:
    acked = False

    async def answer(**kwargs: Any) -> None:
        nonlocal acked
        acked = True
        await ack(**kwargs)

    try:
        await _draft(runtime, answer, command, client)
    except Exception:  # a bug or an outage: the person still hears back, and the trace is logged
        log.exception("the /draft listener failed")
        if not acked:
            await ack(text=SOMETHING_WENT_WRONG)


async def _draft(runtime: Runtime, ack: Answer, command: dict[str, Any], client: AsyncWebClient) -> None:
    text = clean_text(command.get("text"))
    team, user, channel = (slack_id(command.get(key)) for key in ("team_id", "user_id", "channel_id"))
    if not (team and user and channel):
        await ack(text=NO_CONTEXT)
        return
    if not text.strip():
        await ack(text=usage_text())
        await _open_form(client, command.get("trigger_id"), channel, runtime.settings.default_variants)
        return
    if len(text) > MAX_COMMAND_CHARS:
        reason = (
            f"That's {len(text):,} characters; a `/draft` prompt can be at most {MAX_PROMPT_CHARS:,}. "
            "Keep the subject, light, composition and mood; drop the rest."
        )
        await ack(text=reason)
        await runtime.drafts.reject_input(team_id=team, user=user, text=text, reason=reason)
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


async def _open_form(client: AsyncWebClient, trigger: object, channel: str, default_variants: int) -> None:
    if not isinstance(trigger, str) or not trigger:
        return
    try:
        await client.views_open(
            trigger_id=trigger, view=blocks.draft_modal(channel, default_variants=default_variants)
        )
    except SlackApiError as err:  # e.g. the trigger expired; the usage text already answered
        log.info("could not open the /draft form: %s", err.response.get("error"))


# --- payload fields, shared by the listeners -------------------------------------------------------------

# NULs, other C0 controls (tab and newlines are kept) and lone surrogates: meaningless in a prompt, and
# refused by PostgreSQL, by UTF-8 encoders and by JSON consumers downstream.
_UNUSABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_SLACK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def clean_text(value: object) -> str:
    """Typed text from a payload; anything that is not a string is no text at all. Emoji, RTL marks and
    zero-width characters stay as typed; only characters nothing downstream can store are dropped."""
    return _UNUSABLE.sub("", value) if isinstance(value, str) else ""


def slack_id(value: object) -> str | None:
    """A team, user or channel id from a payload, or None when the field is missing or malformed."""
    return value if isinstance(value, str) and _SLACK_ID.fullmatch(value) else None


def as_dict(value: object) -> dict[str, Any]:
    """A payload object, or an empty one when the field is missing or of another type."""
    return value if isinstance(value, dict) else {}
