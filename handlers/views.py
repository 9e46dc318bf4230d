"""The `/draft` form: validate the fields (errors shown beside them), then draft as the command does."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import blocks
from bot.command import from_form
from bot.errors import UserInputError
from bot.runtime import Runtime

log = logging.getLogger(__name__)


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.view(blocks.DRAFT_MODAL)
    async def draft_form(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = (view.get("state") or {}).get("values") or {}
        prompt = _field(values, "prompt").get("value") or ""
        destination = (_field(values, "destination").get("selected_option") or {}).get("value") or ""
        count = (_field(values, "variants").get("selected_option") or {}).get("value") or ""
        try:
            request = from_form(str(prompt), str(destination), int(count) if str(count).isdigit() else 0)
        except UserInputError as err:
            await ack(response_action="errors", errors={err.field or "prompt": err.message[:150]})
            return
        await ack()
        team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
        user = (body.get("user") or {}).get("id")
        channel = view.get("private_metadata")
        if not (team and user and channel):
            log.warning("a /draft form arrived without team, user or channel")
            return
        text = f"{request.prompt} for {request.destination_name} --n {request.n_variants}"
        await runtime.drafts.create_draft(
            team_id=str(team),
            channel_id=str(channel),
            requester=str(user),
            request=request,
            command_text=text,
        )


def _field(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    field = (values.get(block_id) or {}).get("value")
    return field if isinstance(field, dict) else {}
