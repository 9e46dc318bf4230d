"""A stateful fake Slack: the workspace model, the Web API over it, and signed delivery to the app.

- :mod:`fakes.slack.state`: the in-memory workspace model (no HTTP).
- :mod:`fakes.slack.app`: the Starlette app serving the Web API over that model.
- :mod:`fakes.slack.delivery`: signed requests from "Slack" to the app (commands, events, interactions).
- :mod:`fakes.slack.page`: the playground page's API (a person's actions in the browser).
"""

from fakes.faults import Fault, Faults
from fakes.slack.app import DEFAULT_BOT_TOKEN, FakeSlack, serve_fake_slack
from fakes.slack.delivery import DeliveryRecord, SlackDelivery, slack_signature
from fakes.slack.state import Change, ManualClock, Message, SlackError, Workspace

__all__ = [
    "DEFAULT_BOT_TOKEN",
    "Change",
    "DeliveryRecord",
    "FakeSlack",
    "Fault",
    "Faults",
    "ManualClock",
    "Message",
    "SlackDelivery",
    "SlackError",
    "Workspace",
    "serve_fake_slack",
    "slack_signature",
]
