"""The App Home: ``app_home_opened`` publishes the person's Home, and its Older / Newer drafts buttons turn
its pages. Its other buttons are the thread's own, handled by :mod:`handlers.actions` and
:mod:`handlers.reviews` like a press in the thread."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.blocks.home import HOME_PAGE
from bot.drafts.home import Homes
from handlers.shared import as_dict, slack_id

log = logging.getLogger(__name__)

APP_HOME_OPENED = "app_home_opened"
EVENTS = (APP_HOME_OPENED,)  # what manifest.yml subscribes to (tests/wire/test_manifest.py)
_PAGE = re.compile(r"[0-9]{1,4}")


def register(app: AsyncApp, homes: Homes | None) -> None:
    @app.event(APP_HOME_OPENED)
    async def home_opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        team, user = slack_id(body.get("team_id")), slack_id(event.get("user"))
        if homes is None or not (team and user) or event.get("tab", "home") != "home":
            return  # the Messages tab, or no Slack to publish with
        try:
            await homes.opened(team, user)
        except Exception:  # acknowledged already: Slack never sends it again, so say it in the log
            log.exception("could not publish the Home of %s", user)

    @app.action(HOME_PAGE)
    async def turn_page(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        actions = body.get("actions")
        action = as_dict(actions[0]) if isinstance(actions, list) and actions else {}
        value = action.get("value")
        team = slack_id(as_dict(body.get("team")).get("id")) or slack_id(body.get("team_id"))
        user = slack_id(as_dict(body.get("user")).get("id"))
        if homes is None or not (team and user and isinstance(value, str) and _PAGE.fullmatch(value)):
            return
        try:
            await homes.show_page(team, user, int(value))
        except Exception:
            log.exception("could not turn the Home of %s to page %s", user, value)
