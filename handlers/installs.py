"""A workspace leaving: ``app_uninstalled``, and ``tokens_revoked`` when the bot's tokens are among the
revoked ones (a user token alone changes nothing: draftbot uses none)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.installs import REVOKED, UNINSTALLED, Installations, Leaving
from handlers.shared import as_dict, slack_id

log = logging.getLogger(__name__)

EVENTS = (UNINSTALLED, REVOKED)  # what manifest.yml subscribes to (tests/wire/test_manifest.py)


def register(app: AsyncApp, installations: Installations) -> None:
    @app.middleware
    async def remember_org(
        body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[None]]
    ) -> None:
        # The workspace the request comes from (an org-wide installation's context has no team of its own).
        team, enterprise = slack_id(context.team_id) or _workspace_of(body), slack_id(context.enterprise_id)
        if team and enterprise:  # a workspace of an Enterprise Grid organisation
            try:
                await installations.arrived_from(
                    team, enterprise, org_wide=bool(context.is_enterprise_install)
                )
            except Exception:  # not worth refusing the request for: the next one records it
                log.warning("could not record the organisation of a workspace", exc_info=True)
        await next()

    @app.event(UNINSTALLED)
    async def uninstalled(body: dict[str, Any], context: AsyncBoltContext) -> None:
        await _leave(installations, _leaving(body, context, UNINSTALLED))

    @app.event(REVOKED)
    async def revoked(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        bots = as_dict(event.get("tokens")).get("bot")
        if isinstance(bots, list) and bots:
            await _leave(installations, _leaving(body, context, REVOKED))


def _workspace_of(body: dict[str, Any]) -> str | None:
    """The team of an event's envelope, a command, or an interaction's person."""
    return (
        slack_id(body.get("team_id"))
        or slack_id(as_dict(body.get("team")).get("id"))
        or slack_id(as_dict(body.get("user")).get("team_id"))
    )


def _leaving(body: dict[str, Any], context: AsyncBoltContext, reason: str) -> Leaving:
    org_wide = bool(context.is_enterprise_install or body.get("is_enterprise_install"))
    return Leaving(
        team_id=slack_id(context.team_id) or slack_id(body.get("team_id")),
        enterprise_id=slack_id(context.enterprise_id) or slack_id(body.get("enterprise_id")),
        org_wide=org_wide,
        reason=reason,
    )


async def _leave(installations: Installations, leaving: Leaving) -> None:
    if not (leaving.team_id or leaving.enterprise_id):
        return
    try:
        await installations.left(leaving)
    except Exception:  # acknowledged already; Slack does not send it again
        log.exception("could not forget a workspace that left (%s)", leaving.reason)
