"""``reactions.add``: the bot's seed votes; Slack echoes them to the app as ``reaction_added`` events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fakes.slack.api.params import Method, Params
from fakes.slack.people import reaction_event
from fakes.slack.state import JSON

if TYPE_CHECKING:
    from fakes.slack.app import FakeSlack


async def add(fake: FakeSlack, p: Params) -> JSON:
    state = fake.state
    channel = state.resolve_channel(p.ref("channel"))
    name = p.text("name")
    message = state.add_reaction(channel.id, p.ref("timestamp"), name, state.bot.id)
    if fake.deliver_bot_reaction_events and name:
        fake.deliver_later(reaction_event(state, "reaction_added", state.bot.id, message, name))
    return {}


METHODS: dict[str, Method] = {"reactions.add": add}
