"""The fake's users.info and usergroups.* speak Slack's documented shapes, and the bot's directory reads
them through the real client: admins are admins, a group's members are cached for their time and then
read again, and a Slack that errs means nobody (never anyone)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.playground.run import fresh_workspace
from bot.slack_directory import SlackDirectory
from bot.slack_workspaces import OneWorkspace
from fakes.slack import FakeSlack, serve_fake_slack


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with serve_fake_slack() as fake:
        yield fake


def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.base_url)


async def test_users_info_and_usergroups_answer_in_slacks_shapes(fake: FakeSlack) -> None:
    fake.state.set_admin("U0BOB")
    group = fake.state.add_usergroup("design-leads", ["U0ALICE"])
    api = client(fake)
    bob = (await api.users_info(user="U0BOB"))["user"]
    assert bob["is_admin"] and not bob["is_owner"] and bob["id"] == "U0BOB"
    assert not (await api.users_info(user="U0ALICE"))["user"]["is_admin"]
    listed = (await api.usergroups_list())["usergroups"]
    assert [(g["id"], g["handle"], g["user_count"]) for g in listed] == [(group.id, "design-leads", 1)]
    assert (await api.usergroups_users_list(usergroup=group.id))["users"] == ["U0ALICE"]
    with pytest.raises(SlackApiError) as unknown:
        await api.usergroups_users_list(usergroup="S0NOSUCH")
    assert unknown.value.response["error"] == "no_such_subteam"
    with pytest.raises(SlackApiError) as nobody:
        await api.users_info(user="U0NOBODY")
    assert nobody.value.response["error"] == "user_not_found"


async def test_group_members_are_cached_for_their_time_then_read_again(fake: FakeSlack) -> None:
    now = [1000.0]
    directory = SlackDirectory(OneWorkspace(client(fake)), ttl=60, clock=lambda: now[0])
    group = fake.state.add_usergroup("design-leads", ["U0ALICE"])
    assert await directory.members("T1", [group.id]) == {"U0ALICE"}
    fake.state.set_usergroup_members(group.id, ["U0BOB"])
    now[0] += 59
    assert await directory.members("T1", [group.id]) == {"U0ALICE"}  # still within the cache time
    now[0] += 2
    assert await directory.members("T1", [group.id]) == {"U0BOB"}
    assert await directory.group_ids("T1") == {"design-leads": group.id}
    assert await directory.is_admin("T1", "U0BOB") is False


async def test_a_slack_that_errs_or_is_absent_means_nobody(fake: FakeSlack) -> None:
    directory = SlackDirectory(OneWorkspace(client(fake)))
    assert await directory.members("T1", ["S0NOSUCH"]) == frozenset()
    assert await directory.is_admin("T1", "U0NOBODY") is False
    absent = SlackDirectory(None)
    assert await absent.members("T1", ["S0ANY"]) == frozenset()
    assert await absent.is_admin("T1", "U0ALICE") is False and await absent.group_ids("T1") is None


def test_a_new_playground_has_alice_as_its_admin_and_nobody_else() -> None:
    state = fresh_workspace()
    admins = {u.id for u in state.users.values() if state.user_json(u)["is_admin"]}
    assert admins == {"U0ALICE"}
