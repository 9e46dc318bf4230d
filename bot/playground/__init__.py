"""The playground: a stateful fake Slack (Web API + signed delivery to the app) for tests and local use.

- :mod:`bot.playground.state`: the in-memory workspace model (no HTTP).
- :mod:`bot.playground.fake_slack`: the Starlette app serving the Web API over that model.
- :mod:`bot.playground.delivery`: signed requests from "Slack" to the app (commands, events, interactions).
- :mod:`bot.playground.server`: run any ASGI app with uvicorn inside the current event loop.
"""

from bot.playground.delivery import DeliveryRecord, SlackDelivery, slack_signature
from bot.playground.fake_slack import DEFAULT_BOT_TOKEN, FakeSlack, Fault, Faults, serve_fake_slack
from bot.playground.server import serve_asgi
from bot.playground.state import ManualClock, SlackError, Workspace

__all__ = [
    "DEFAULT_BOT_TOKEN",
    "DeliveryRecord",
    "FakeSlack",
    "Fault",
    "Faults",
    "ManualClock",
    "SlackDelivery",
    "SlackError",
    "Workspace",
    "serve_asgi",
    "serve_fake_slack",
    "slack_signature",
]
