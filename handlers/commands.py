"""`/draft`: parse, store the draft and its jobs, and acknowledge, all well inside Slack's 3 seconds.

The draft is committed before the acknowledgement, so an acknowledged command is never lost; no
provider call and no image work happen here. Every path acknowledges exactly once with a message a
person can act on, and nothing escapes the listener: whatever the payload holds, Slack gets an answer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks, modals
from bot.command import (
    MAX_PROMPT_CHARS,
    DraftRequest,
    HelpRequest,
    Subcommand,
    help_text,
    parse,
    too_long_reason,
    usage_text,
)
from bot.destinations import Destination, by_key
from bot.drafts import Intake
from bot.drafts.intake import with_channel_defaults
from bot.errors import OverBudget, UserInputError
from handlers.shared import NOTHING_DRAFTED, Answer, acknowledge_once, clean_text, slack_id

log = logging.getLogger(__name__)

NO_CONTEXT = (
    "I couldn't tell which workspace, person or channel this `/draft` came from, so nothing was drafted. "
    "Please type it again in a channel."
)
# A whole prompt plus its destination and options. Longer text can't be a valid command, and refusing it
# here keeps the parser (and the closest-destination search) well inside Slack's 3 seconds.
MAX_COMMAND_CHARS = MAX_PROMPT_CHARS + 500

DRAFT = "/draft"
COMMANDS = (DRAFT,)  # what manifest.yml declares (tests/wire/test_manifest.py checks it)


@dataclass(frozen=True)
class Asked:
    """A subcommand as its listener gets it: who asked where, its arguments, and what it may answer with."""

    team: str
    user: str
    channel: str
    args: str
    trigger_id: str | None
    client: AsyncWebClient


# A subcommand's listener: the private answer (``text`` and maybe ``blocks``) to acknowledge with.
SubcommandListener = Callable[[Asked], Awaitable[dict[str, Any]]]


def register(
    app: AsyncApp,
    intake: Intake,
    *,
    default_variants: int,
    subcommands: Mapping[str, SubcommandListener] | None = None,
) -> None:
    @app.command(DRAFT)
    async def draft_command(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        work = partial(_draft, intake, default_variants, subcommands or {}, command=command, client=client)
        await acknowledge_once(
            ack,
            work,
            what="/draft",
            on_failure={"text": NOTHING_DRAFTED},
            late=(respond, {"text": STILL_DRAFTING}),
        )


async def _draft(
    intake: Intake,
    default_variants: int,
    subcommands: Mapping[str, SubcommandListener],
    ack: Answer,
    *,
    command: dict[str, Any],
    client: AsyncWebClient,
) -> None:
    text = clean_text(command.get("text"))
    team, user, channel = (slack_id(command.get(key)) for key in ("team_id", "user_id", "channel_id"))
    if not (team and user and channel):
        await ack(text=NO_CONTEXT)
        return
    defaults = await intake.channel_defaults(team_id=team, channel_id=channel)
    destination = by_key(defaults.default_destination)
    if not text.strip():
        await ack(text=usage_text())
        await _open_form(client, command.get("trigger_id"), channel, default_variants, destination)
        return
    if len(text) > MAX_COMMAND_CHARS:
        reason = too_long_reason(text)
        await ack(text=reason)
        await intake.reject_input(team_id=team, user=user, text=text, reason=reason)
        return
    try:
        request = parse(
            text,
            default_variants=default_variants,
            subcommands=subcommands.keys(),
            default_destination=destination,
        )
    except UserInputError as err:
        await ack(text=blocks.escape(err.message))
        await intake.reject_input(team_id=team, user=user, text=text, reason=err.message)
        return
    if isinstance(request, HelpRequest):
        await ack(text="How to use /draft", blocks=blocks.text_blocks(help_text()))
        return
    if isinstance(request, Subcommand):
        trigger = command.get("trigger_id")
        asked = Asked(
            team, user, channel, request.args, trigger if isinstance(trigger, str) else None, client
        )
        await ack(**await subcommands[request.name](asked))
        return
    try:
        request = with_channel_defaults(request, defaults)  # what create_draft makes, for the confirmation
        draft_id = await intake.create_draft(
            team_id=team, channel_id=channel, requester=user, request=request, command_text=text
        )
    except OverBudget as err:  # audited by the intake; an approver can raise it from here
        await ack(text=err.message, blocks=blocks.over_budget_blocks(err.message, err.channel))
        return
    except Exception:
        log.exception("could not store a /draft from %s in %s", user, team)
        await ack(text=NOTHING_DRAFTED)
        return
    await ack(text=confirmation(draft_id, request))


# The acknowledgement when the draft is not stored within Slack's 3 s (the confirmation follows privately).
STILL_DRAFTING = (
    "Drafting… this is taking a little longer than usual. The draft will appear in this channel, "
    "and I'll tell you here once it is on its way (or if it could not be made)."
)


def confirmation(draft_id: int, request: DraftRequest) -> str:
    noun = "variant" if request.n_variants == 1 else "variants"
    text = (
        f"Drafting {request.n_variants} {noun} for *{blocks.escape(request.destination_name)}* "
        f"({request.ratio}) at 1K: draft #{draft_id}. They will appear in a thread in this channel."
    )
    return "\n".join([text, *(f":bulb: {blocks.escape(hint)}" for hint in request.hints)])


async def _open_form(
    client: AsyncWebClient,
    trigger: object,
    channel: str,
    default_variants: int,
    destination: Destination | None,
) -> None:
    if not isinstance(trigger, str) or not trigger:
        return
    view = modals.draft_modal(channel, default_variants=default_variants, destination=destination)
    try:
        await client.views_open(trigger_id=trigger, view=view)
    except SlackApiError as err:  # e.g. the trigger expired; the usage text already answered
        log.info("could not open the /draft form: %s", err.response.get("error"))
