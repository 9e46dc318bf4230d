"""``views.open``: the /draft form, opened with the trigger id of an interaction."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fakes.slack.api.params import Method, Params
from fakes.slack.state import JSON

if TYPE_CHECKING:
    from fakes.slack.app import FakeSlack


async def open_view(fake: FakeSlack, p: Params) -> JSON:
    record = fake.state.open_view(p.ref("trigger_id"), p.decoded("view", "invalid_arguments"))
    return {"view": fake.state.view_json(record)}


METHODS: dict[str, Method] = {"views.open": open_view}
