"""The Web API methods the fake answers, one module per family, each a table ``{method name: handler}``.

Only what the bot calls (``bot/slack_publisher.py``, ``handlers/``, slack_bolt's ``auth.test``; the list
``tests/wire/test_manifest.py`` checks against the manifest) is here: a method nobody calls is a method nobody
tests against real Slack behaviour. Anything else answers ``unknown_method``.
"""

from __future__ import annotations

from fakes.slack.api import auth, chat, conversations, files, reactions, users, views
from fakes.slack.api.params import Method

METHODS: dict[str, Method] = {
    **auth.METHODS,
    **chat.METHODS,
    **reactions.METHODS,
    **files.METHODS,
    **conversations.METHODS,
    **views.METHODS,
    **users.METHODS,
}

__all__ = ["METHODS", "Method"]
