"""The Bolt app: the Slack client pointed at ``SLACK_API_URL``, signature checks, the error net.

The same app serves Slack over HTTP (``draftbot serve``), over Socket Mode, and the playground. Its
listeners are registered by the composition root (:mod:`bot.runtime`).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger import get_bolt_logger
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings

log = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = "Something went wrong on our side and nothing changed. Please try again in a moment."


class _OurClientFromThatToken(logging.Filter):
    """Bolt reads ``SLACK_BOT_TOKEN`` itself and warns on every start that it is unused when given a client;
    ours is built from that very token, so the warning says nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def build_bolt_app(
    settings: Settings,
    client: AsyncWebClient,
    *,
    installations: AsyncInstallationStore | None = None,
    states: AsyncOAuthStateStore | None = None,
) -> AsyncApp:
    """A Bolt app that answers through ``client`` (the publisher's, so both share one connection pool).

    With an installation store (installs for many workspaces), ``client`` has no token: Bolt runs the OAuth
    flow (``/slack/install``, ``/slack/oauth_redirect``, the state checked against ``states``) and gives
    each request a client with its own team's token; a team with no installation gets Bolt's "not
    installed" answer, and nothing happens."""
    secret = settings.slack_signing_secret
    bolt_log = get_bolt_logger(AsyncApp)
    if not any(isinstance(f, _OurClientFromThatToken) for f in bolt_log.filters):
        bolt_log.addFilter(_OurClientFromThatToken())
    app = AsyncApp(
        client=client,
        signing_secret=secret.get_secret_value() if secret else "",
        # Socket Mode requests are not signed; HTTP ones always are (and are refused when they aren't).
        request_verification_enabled=secret is not None,
        ignoring_self_events_enabled=True,
        process_before_response=False,
        oauth_settings=_oauth_settings(settings, installations, states) if installations else None,
    )
    app.error(on_error)
    return app


def _oauth_settings(
    settings: Settings, installations: AsyncInstallationStore, states: AsyncOAuthStateStore | None
) -> AsyncOAuthSettings:
    secret = settings.slack_client_secret
    return AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=secret.get_secret_value() if secret else None,
        scopes=list(settings.slack_scopes),
        redirect_uri=settings.slack_redirect_uri,
        authorization_url=settings.slack_authorize_url,
        installation_store=installations,
        # Bot tokens only (draftbot asks for no user scopes), rotated when the app has token rotation on.
        installation_store_bot_only=True,
        state_store=states,
    )


async def on_error(error: Exception, body: Any, response: BoltResponse | None) -> BoltResponse | None:
    """Anything that raised inside Bolt: its matchers and middleware meeting a payload of the wrong shape
    (``"actions": "x"``, a view without ``callback_id``, an ``event`` that is a string), or a listener
    failing before it acknowledged. Bolt would answer 500, and Slack would show an error or deliver the
    same payload again; instead a slash command gets a friendly answer and anything else a plain 400.

    Listeners acknowledge and catch their own failures, so this is the net under them, not the plan.
    """
    kind = body.get("type") or body.get("command") if isinstance(body, dict) else None
    log.error("unhandled error in a Slack request (%s)", str(kind)[:40], exc_info=error)
    if response is None:  # already acknowledged: the answer has gone; nothing to change
        return None
    if isinstance(body, dict) and isinstance(body.get("command"), str):
        return BoltResponse(status=200, body={"response_type": "ephemeral", "text": SOMETHING_WENT_WRONG})
    return BoltResponse(status=400, body="")
