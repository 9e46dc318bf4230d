"""Buttons: upgrade the winner to 2K, choose among tied variants, approve or reject the 2K review, and
retry a failed draft.

Each press is acknowledged at once; the answer to the person who pressed is ephemeral. Refused
presses change nothing and are audited by the service.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import blocks
from bot.drafts import ActionResult, Done, UnknownDraft
from bot.runtime import Runtime

Action = Callable[[str, int, str, str | None], Awaitable[ActionResult]]
NOT_FOUND = "I can't find that draft in this workspace any more."


def register(app: AsyncApp, runtime: Runtime) -> None:
    drafts = runtime.drafts

    async def upgrade(team: str, draft_id: int, user: str, _: str | None) -> ActionResult:
        return await drafts.request_upgrade(team_id=team, draft_id=draft_id, user=user)

    async def choose(team: str, draft_id: int, user: str, number: str | None) -> ActionResult:
        return await drafts.choose_tied(team_id=team, draft_id=draft_id, user=user, number=int(number or 0))

    async def approve(team: str, draft_id: int, user: str, _: str | None) -> ActionResult:
        return await drafts.approve(team_id=team, draft_id=draft_id, user=user)

    async def reject(team: str, draft_id: int, user: str, _: str | None) -> ActionResult:
        return await drafts.reject(team_id=team, draft_id=draft_id, user=user)

    async def retry(team: str, draft_id: int, user: str, _: str | None) -> ActionResult:
        return await drafts.retry(team_id=team, draft_id=draft_id, user=user)

    for action_id, handler in (
        (blocks.RETRY, retry),
        (blocks.UPGRADE, upgrade),
        (blocks.CHOOSE_TIED, choose),
        (blocks.APPROVE, approve),
        (blocks.REJECT, reject),
    ):
        app.action(action_id)(_listener(handler))


def _listener(handler: Action) -> Callable[..., Awaitable[None]]:
    async def listener(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        parsed = parse_value(str(action.get("value") or ""))
        team = (body.get("team") or {}).get("id") or body.get("team_id")
        user = (body.get("user") or {}).get("id")
        if parsed is None or not team or not user:
            await respond(text="That button doesn't belong to a draft I know.", replace_original=False)
            return
        draft_id, extra = parsed
        try:
            result = await handler(str(team), draft_id, str(user), extra)
        except UnknownDraft:
            await respond(text=NOT_FOUND, replace_original=False)
            return
        text = result.message if isinstance(result, Done) else result.reason
        await respond(text=text, response_type="ephemeral", replace_original=False)

    return listener


def parse_value(value: str) -> tuple[int, str | None] | None:
    """Button values are ``<draft id>`` or ``<draft id>:<variant>``."""
    head, _, tail = value.partition(":")
    if not head.isdigit() or len(head) > 12 or (tail and not tail.isdigit()):
        return None
    return int(head), tail or None
