"""``users.info``, ``usergroups.list`` and ``usergroups.users.list``: who a person is (a workspace admin?)
and who is in a user group (`@design-leads`), as the channel settings ask.

The shapes follow docs.slack.dev: ``users.info`` answers ``{"user": {..., "is_admin", "is_owner"}}``
(``user_not_found`` for an unknown id); ``usergroups.users.list`` answers ``{"users": [ids]}``
(``no_such_subteam`` for an unknown group); ``usergroups.list`` answers ``{"usergroups": [...]}``, with
each group's ``users`` when ``include_users`` is true.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fakes.slack.api.params import Method, Params
from fakes.slack.state import JSON, SlackError

if TYPE_CHECKING:
    from fakes.slack.app import FakeSlack


async def users_info(fake: FakeSlack, p: Params) -> JSON:
    user_id = p.ref("user")
    if not user_id:
        raise SlackError("user_not_found")
    return {"user": fake.state.user_json(fake.state.get_user(user_id))}


async def usergroups_list(fake: FakeSlack, p: Params) -> JSON:
    include = p.flag("include_users")
    groups = [fake.state.usergroup_json(g, include_users=include) for g in fake.state.usergroups.values()]
    return {"usergroups": groups}


async def usergroups_users_list(fake: FakeSlack, p: Params) -> JSON:
    group_id = p.ref("usergroup")
    if not group_id:
        raise SlackError("invalid_arguments")
    return {"users": list(fake.state.get_usergroup(group_id).users)}


METHODS: dict[str, Method] = {
    "users.info": users_info,
    "usergroups.list": usergroups_list,
    "usergroups.users.list": usergroups_users_list,
}
