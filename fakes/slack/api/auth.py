"""``auth.test``: who the token is (slack_bolt calls it at start-up to learn the bot's ids)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fakes.slack.api.params import Method, Params
from fakes.slack.state import JSON

if TYPE_CHECKING:
    from fakes.slack.app import FakeSlack


async def auth_test(fake: FakeSlack, p: Params) -> JSON:
    team = fake.state.team
    bot = fake.state.bot
    return {
        "url": f"https://{team.domain}.slack.com/",
        "team": team.name,
        "user": bot.name,
        "team_id": team.id,
        "user_id": bot.id,
        "bot_id": bot.bot_id,
        "is_enterprise_install": False,
    }


METHODS: dict[str, Method] = {"auth.test": auth_test}
