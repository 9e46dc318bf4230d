"""Buttons: upgrade the winner to 2K, choose among tied variants, cancel, and retry a failed draft (or one
lost variant). The review's buttons are in :mod:`handlers.reviews`.

Each press is acknowledged once its decision is committed (or after ``ACK_WITHIN`` seconds at the latest,
inside Slack's 3), so a press Slack was told we received is not lost if the process dies right after:
Slack never delivers an acknowledged press again. The answer to the person who pressed is ephemeral. Refused
presses change nothing and are audited by the service. A press whose payload doesn't name a draft
(or that fails on our side) gets a plain answer too; nothing raises out of the listener.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import blocks
from bot.drafts import ActionResult, Decisions, Done, Retries
from bot.drafts.home import Homes
from bot.errors import UnknownDraft
from handlers.shared import NOTHING_CHANGED, as_dict, slack_id

log = logging.getLogger(__name__)

Action = Callable[[str, int, str, str | None], Awaitable[ActionResult]]
# A button's (or menu option's) value -> (draft id, the rest), or None when it is not ours.
Parse = Callable[[str], "tuple[int, str | None] | None"]
NOT_FOUND = "I can't find that draft in this workspace any more."
NOT_A_DRAFT = "That button doesn't belong to a draft I know."
ACK_WITHIN = 2.0  # seconds: acknowledge by then even if the decision is still being made

# ``<draft id>`` or ``<draft id>:<variant>``, ASCII digits only (str.isdigit also accepts "²" and "١").
_VALUE = re.compile(r"([0-9]{1,12})(?::([0-9]{1,3}))?")


def register(app: AsyncApp, decisions: Decisions, retries: Retries, *, homes: Homes | None = None) -> None:
    async def upgrade(team: str, draft_id: int, user: str, _: str | None) -> ActionResult:
        return await decisions.request_upgrade(team_id=team, draft_id=draft_id, user=user)

    async def choose(team: str, draft_id: int, user: str, number: str | None) -> ActionResult:
        return await decisions.choose_tied(
            team_id=team, draft_id=draft_id, user=user, number=int(number or 0)
        )

    async def retry(team: str, draft_id: int, user: str, number: str | None) -> ActionResult:
        if number is not None:  # the Retry on the notice of one lost 1K variant
            return await retries.retry_image(team_id=team, draft_id=draft_id, user=user, number=int(number))
        return await retries.retry(team_id=team, draft_id=draft_id, user=user)

    async def cancel(team: str, draft_id: int, user: str, _: str | None) -> ActionResult:
        return await decisions.cancel(team_id=team, draft_id=draft_id, user=user)

    for action_id, handler in (
        (blocks.CANCEL, cancel),
        (blocks.RETRY, retry),
        (blocks.UPGRADE, upgrade),
        (blocks.CHOOSE_TIED, choose),
    ):
        app.action(action_id)(press_listener(handler, homes=homes))


def press_listener(
    handler: Action, parse: Parse | None = None, *, homes: Homes | None = None
) -> Callable[..., Awaitable[None]]:
    """A button or menu listener: ``handler`` decides (``parse`` reads the value, by default
    ``<draft id>[:<variant>]``), and the press is acknowledged once that is committed. The answer goes to
    the person privately: in the channel (the response URL), or for a press on their App Home (which has
    none), at the top of the Home."""

    async def decide(body: dict[str, Any]) -> str:
        try:
            return await _press(handler, body, parse or parse_value)
        except Exception:
            log.exception("a button press failed")
            return NOTHING_CHANGED

    async def listener(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        decision = asyncio.ensure_future(decide(body))
        await asyncio.wait({decision}, timeout=ACK_WITHIN)  # committed before it is acknowledged
        await ack()
        text = await decision
        try:
            if homes is not None and (on_home := _home_of(body)) is not None:
                draft = _draft_of(body, parse or parse_value)  # a Home lists many drafts: say which
                await homes.tell(*on_home, f"*Draft #{draft}:* {text}" if draft else text)
            else:
                await respond(text=text, response_type="ephemeral", replace_original=False)
        except Exception as err:  # no response_url in the payload, or it expired: nobody left to tell
            log.warning("could not answer a button press: %s", err)

    return listener


def _parsed(body: dict[str, Any], parse: Parse) -> tuple[int, str | None] | None:
    """The pressed button's (or chosen option's) value, parsed."""
    actions = body.get("actions")
    action = as_dict(actions[0]) if isinstance(actions, list) and actions else {}
    value = action.get("value", as_dict(action.get("selected_option")).get("value"))  # a button, a menu
    return parse(value) if isinstance(value, str) else None


def _draft_of(body: dict[str, Any], parse: Parse) -> int | None:
    parsed = _parsed(body, parse)
    return parsed[0] if parsed else None


def _who(body: dict[str, Any]) -> tuple[str, str] | None:
    """(team, user) of the person who pressed, when the payload names both."""
    team = slack_id(as_dict(body.get("team")).get("id")) or slack_id(body.get("team_id"))
    user = slack_id(as_dict(body.get("user")).get("id"))
    return (team, user) if team and user else None


def _home_of(body: dict[str, Any]) -> tuple[str, str] | None:
    """(team, user) when the press was on the person's App Home."""
    return _who(body) if as_dict(body.get("view")).get("type") == "home" else None


async def _press(handler: Action, body: dict[str, Any], parse: Parse) -> str:
    parsed, who = _parsed(body, parse), _who(body)
    if parsed is None or who is None:
        return NOT_A_DRAFT
    (team, user), (draft_id, extra) = who, parsed
    try:
        result = await handler(team, draft_id, user, extra)
    except UnknownDraft:
        return NOT_FOUND
    return result.message if isinstance(result, Done) else result.reason


def parse_value(value: str) -> tuple[int, str | None] | None:
    """Button values are ``<draft id>`` or ``<draft id>:<variant>``."""
    match = _VALUE.fullmatch(value)
    if match is None:
        return None
    return int(match[1]), match[2]
