"""A stateful fake Slack: the workspace model, the Web API over it, and signed delivery to the app.

- :mod:`fakes.slack.state`: the in-memory workspace model, one module per family (no HTTP); it saves
  and loads itself.
- :mod:`fakes.slack.app`: :class:`FakeSlack`, the Starlette app (routing, token auth, faults, the
  upload, response_url and file routes) and :func:`serve_fake_slack`.
- :mod:`fakes.slack.api`: the Web API methods the bot calls, one module per method family.
- :mod:`fakes.slack.people`: simulated people (post, react), delivered to the app as events.
- :mod:`fakes.slack.delivery`: signed requests from "Slack" to the app (commands, events, interactions).
- :mod:`fakes.slack.page`: the playground page's API (a person's actions in the browser) and ``static/``.
- :mod:`fakes.slack.clock`: :class:`ManualClock`, a settable clock for tests.
"""

from fakes.faults import Fault, Faults
from fakes.slack.app import (
    DEFAULT_BOT_TOKEN,
    DEFAULT_MESSAGE_SHORTCUTS,
    FakeSlack,
    MessageShortcut,
    serve_fake_slack,
)
from fakes.slack.clock import ManualClock
from fakes.slack.delivery import DeliveryRecord, SlackDelivery, slack_signature
from fakes.slack.state import Change, Message, SlackError, Workspace

__all__ = [
    "DEFAULT_BOT_TOKEN",
    "DEFAULT_MESSAGE_SHORTCUTS",
    "Change",
    "DeliveryRecord",
    "FakeSlack",
    "Fault",
    "Faults",
    "ManualClock",
    "Message",
    "MessageShortcut",
    "SlackDelivery",
    "SlackError",
    "Workspace",
    "serve_fake_slack",
    "slack_signature",
]
