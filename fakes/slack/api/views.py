"""``views.open``, ``views.update``, ``views.publish``: the /draft form, and any later modal or Home tab."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fakes.slack.api.params import Method, Params
from fakes.slack.state import JSON

if TYPE_CHECKING:
    from fakes.slack.app import FakeSlack


async def open_view(fake: FakeSlack, p: Params) -> JSON:
    record = fake.state.open_view(p.ref("trigger_id"), p.decoded("view", "invalid_arguments"))
    return {"view": fake.state.view_json(record)}


async def update_view(fake: FakeSlack, p: Params) -> JSON:
    record = fake.state.update_view(
        p.decoded("view", "invalid_arguments"),
        view_id=p.ref("view_id"),
        external_id=p.ref("external_id"),
        hash=p.ref("hash"),
    )
    return {"view": fake.state.view_json(record)}


async def publish(fake: FakeSlack, p: Params) -> JSON:
    record = fake.state.publish_home(
        p.ref("user_id") or "", p.decoded("view", "invalid_arguments"), hash=p.ref("hash")
    )
    return {"view": fake.state.view_json(record)}


METHODS: dict[str, Method] = {"views.open": open_view, "views.update": update_view, "views.publish": publish}
