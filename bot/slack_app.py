"""Build the Bolt app: the Slack client pointed at ``SLACK_API_URL``, signature checks, the listeners.

The same app serves Slack over HTTP (``draftbot serve``), over Socket Mode, and the playground.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack_publisher import SlackPublisher
from handlers import register_all


def build_app(runtime: Runtime) -> AsyncApp:
    """The Bolt app for a runtime whose publisher is a :class:`SlackPublisher` (its client is shared)."""
    publisher = runtime.publisher
    if not isinstance(publisher, SlackPublisher):
        raise TypeError("the Slack app needs a runtime built with a SlackPublisher")
    secret = runtime.settings.slack_signing_secret
    app = AsyncApp(
        client=publisher.client,
        signing_secret=secret.get_secret_value() if secret else "",
        # Socket Mode requests are not signed; HTTP ones always are (and are refused when they aren't).
        request_verification_enabled=secret is not None,
        ignoring_self_events_enabled=True,
        process_before_response=False,
    )
    register_all(app, runtime)
    return app
