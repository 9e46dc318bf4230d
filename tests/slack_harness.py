"""The bot over the real wire, for tests: the fake Slack, the bot's HTTP app on a loopback port, and
signed deliveries between them. Nothing of the bot's own is mocked."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, select

from bot import imaging
from bot.blocks import DRAFT_EVENT, IMAGE_EVENT
from bot.config import Settings
from bot.providers import build_provider
from bot.providers.base import ImageProvider
from bot.publisher import MessageRef
from bot.runtime import Runtime, open_runtime
from bot.tiers import Size
from bot.web import build_web_app
from fakes.asgi import serve_asgi
from fakes.slack import DEFAULT_BOT_TOKEN, FakeSlack, Message, SlackDelivery, Workspace, serve_fake_slack
from storage.models import Draft
from tests.conftest import provided

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0GENERAL"
ALICE, BOB, CAROL, DAVE = "U0ALICE", "U0BOB", "U0CAROL", "U0DAVE"  # Dave approves
USERS = ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol"), (DAVE, "dave"))

T = TypeVar("T")


@dataclass
class Wire:
    fake: FakeSlack
    runtime: Runtime
    url: str

    @property
    def delivery(self) -> SlackDelivery:
        assert self.fake.delivery is not None
        return self.fake.delivery

    @property
    def bot_user(self) -> str:
        return self.fake.state.bot.id

    def parents(self) -> list[Message]:
        return [m for m in self.fake.messages(CHANNEL) if _event(m) == DRAFT_EVENT]

    def parent(self, draft_id: int) -> Message:
        return next(m for m in self.parents() if _payload(m).get("draft_id") == draft_id)

    def images(self, draft_id: int, tier: str = "1K") -> dict[int, Message]:
        """The draft's images of ``tier`` in its thread by number (of several versions, the latest)."""
        return {number: m for (number, _), m in sorted(self.versions(draft_id, tier).items())}

    def versions(self, draft_id: int, tier: str = "2K") -> dict[tuple[int, int], Message]:
        """The draft's images of ``tier`` in its thread by (number, version)."""
        thread = self.fake.thread(CHANNEL, self.parent(draft_id).ts)
        return {
            (int(_payload(m)["number"]), int(_payload(m).get("version", 1))): m
            for m in thread
            if _event(m) == IMAGE_EVENT
            and _payload(m).get("draft_id") == draft_id
            and _payload(m)["tier"] == tier
        }

    def image_size(self, message: Message) -> Size:
        file_id = next(b["slack_file"]["id"] for b in message.blocks or [] if b.get("type") == "image")
        data = self.fake.state.files[file_id].content
        assert data is not None, f"file {file_id} was never uploaded"
        return imaging.measure(data)[0]

    def ephemerals(self, user: str) -> list[str]:
        return [e.text for e in self.fake.state.ephemerals if e.user == user]

    async def command(self, user: str, text: str) -> Any:
        return await self.delivery.send_slash_command(user, CHANNEL, text)

    async def press(self, user: str, message: Message, action_id: str, value: str | None = None) -> Any:
        return await self.delivery.send_block_action(user, CHANNEL, message.ts, action_id, value)

    async def submit_form(self, user: str, message: Message, action_id: str, fields: dict[str, Any]) -> Any:
        """Press the button ``action_id`` that opens a form, fill it in (block id -> text, or the chosen
        option's value for a select or radio field) and submit it; the submission's HTTP answer."""
        before = {v.id for v in self.fake.state.open_views_for(user)}
        await self.press(user, message, action_id)
        view = await wait_for(
            lambda: next(v for v in self.fake.state.open_views_for(user) if v.id not in before),
            what=f"the form of {action_id}",
        )
        values: dict[str, Any] = {}
        for block in view.view["blocks"]:
            if block.get("type") != "input" or block["block_id"] not in fields:
                continue
            kind, value = block["element"]["type"], fields[block["block_id"]]
            state: dict[str, Any] = {"type": kind}
            if kind in ("static_select", "radio_buttons"):
                state["selected_option"] = {"value": value}
            else:
                state["value"] = value
            values[block["block_id"]] = {block["element"]["action_id"]: state}
        return await self.delivery.send_view_submission(user, view.id, values)

    async def react(self, user: str, message: Message, name: str = "+1", *, on: bool = True) -> Any:
        if on:
            return await self.fake.user_add_reaction(user, CHANNEL, message.ts, name)
        return await self.fake.user_remove_reaction(user, CHANNEL, message.ts, name)

    def ref(self, message: Message) -> MessageRef:
        return MessageRef(CHANNEL, message.ts)


def _event(message: Message) -> str | None:
    return (message.metadata or {}).get("event_type")


def _payload(message: Message) -> dict[str, Any]:
    return dict((message.metadata or {}).get("event_payload") or {})


_TALLY_LINE = re.compile(r"• #(\d+): (\d+) · (.*)")


def shown_tally(message: Message) -> dict[int, int]:
    """The votes a parent message shows, by variant (variants without votes are not listed)."""
    return {int(n): int(c) for n, c, _ in _shown_votes(message)}


def shown_voters(message: Message) -> dict[int, str]:
    """Who the parent says voted for each variant, as its text shows them."""
    return {int(n): who for n, _, who in _shown_votes(message)}


def _shown_votes(message: Message) -> list[tuple[str, str, str]]:
    found = []
    for block in message.blocks or []:
        text = (block.get("text") or {}).get("text", "") if block.get("type") == "section" else ""
        if text.startswith("*Votes:*"):
            found += [m.groups() for line in text.splitlines() if (m := _TALLY_LINE.fullmatch(line))]
    return found


async def start_draft(wire: Wire, text: str, user: str = ALICE, n: int = 4) -> int:
    """Type `/draft` as ``user`` and wait for its ``n`` variants and voting to open; the draft's id."""
    response = await wire.command(user, text)
    assert response.status_code == 200
    parent = await wait_for(lambda: wire.parents()[-1], what="the parent message")
    draft_id = int((parent.metadata or {})["event_payload"]["draft_id"])
    await wait_for(lambda: len(wire.images(draft_id)) == n, what=f"{n} variants")
    await wait_for(lambda: "Voting" in json.dumps(wire.parent(draft_id).blocks), what="voting to open")
    return draft_id


async def drafts_in_db(wire: Wire) -> int:
    async with wire.runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Draft)) or 0)


async def wait_for(check: Callable[[], T | None], *, within: float = 30.0, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy (the bot works in the background)."""
    deadline = time.monotonic() + within
    while True:
        with contextlib.suppress(LookupError, StopIteration, KeyError, AssertionError):
            if result := check():
                return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def wire_settings(data_dir: Path, fake: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "slack_bot_token": DEFAULT_BOT_TOKEN,
        "slack_signing_secret": SECRET,
        "slack_api_url": fake.base_url,
        "approvers": frozenset({DAVE}),
        "allow_self_approval": False,
    }
    return Settings(_env_file=None, **(values | overrides))  # type: ignore[call-arg]


@contextlib.asynccontextmanager
async def running_bot(
    data_dir: Path,
    *,
    image_provider: ImageProvider | None = None,
    fake: FakeSlack | None = None,
    clock: Callable[[], datetime] | None = None,
    **overrides: Any,
) -> AsyncIterator[Wire]:
    """The fake Slack (unless given) and the bot's HTTP app with its worker, wired together (on ``clock``,
    e.g. a FakeClock, for deadlines)."""
    async with contextlib.AsyncExitStack() as stack:
        if fake is None:
            fake = await stack.enter_async_context(serve_fake_slack(state=Workspace(default_users=USERS)))
        settings = wire_settings(data_dir, fake, **overrides)
        runtime = await stack.enter_async_context(
            open_runtime(
                settings,
                provider=provided(image_provider) if image_provider else build_provider,
                clock=clock,
            )
        )
        url = await stack.enter_async_context(serve_asgi(build_web_app(runtime)))
        fake.connect_app(f"{url}/slack/events", SECRET)
        yield Wire(fake, runtime, url)
