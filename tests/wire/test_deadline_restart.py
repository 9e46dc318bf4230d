"""The voting deadline is a scheduled job, not a timer in memory: a `draftbot worker` SIGKILLed just before
it, and started again after it passed, closes voting exactly once (the winner's 2K review, once)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from bot import audit
from bot.blocks import IMAGE_EVENT
from bot.command import DraftRequest, parse
from bot.drafts import ReactionEvent
from bot.runtime import open_runtime
from fakes.slack import FakeSlack, Workspace, serve_fake_slack
from storage import queries
from tests.processes import spawn, stop_all, wait_until_up
from tests.slack_harness import ALICE, BOB, CAROL, CHANNEL, USERS, wait_for, wire_settings
from tests.wire.bot_process import REPO, event_of, the_parent

WINDOW = 12  # seconds: time for the worker to start and make two variants, then the deadline


def worker_env(fake_url: str, token: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DRAFTBOT_"))}
    env = {k: v for k, v in env.items() if k.lower() not in {"http_proxy", "https_proxy", "all_proxy"}}
    return env | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        "SLACK_BOT_TOKEN": token,
        "SLACK_API_URL": fake_url,
        "DRAFTBOT_DATA_DIR": str(data_dir),
        "DRAFTBOT_PROVIDER": "local",
        "DRAFTBOT_JOB_LEASE_SECONDS": "3",
    }


async def test_a_worker_killed_before_the_deadline_closes_voting_once_after_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with serve_fake_slack(state=Workspace(default_users=USERS)) as fake:
        assert fake.base_url is not None
        settings = wire_settings(data_dir, fake)
        team = fake.state.team.id
        env = worker_env(fake.base_url, fake.bot_token, data_dir)
        async with open_runtime(settings) as here:  # the test's own hands on the database (no worker)
            first = await spawn("worker-1", tmp_path, env)
            procs = [first]
            try:
                await wait_until_up([first], within=30)
                text = f"a lighthouse at dusk for feed post --n 2 --vote {WINDOW}s"
                request = parse(text)
                assert isinstance(request, DraftRequest)
                draft_id = await here.drafts.intake.create_draft(
                    team_id=team, channel_id=CHANNEL, requester=ALICE, request=request, command_text=text
                )
                made = time.monotonic()
                parent = await wait_for(lambda: the_parent(fake), within=15, what="the parent")

                async def voting() -> dict[int, str]:
                    async with here.sessions() as session:
                        draft = await queries.get_draft(session, team, draft_id)
                        variants = await queries.variants_of(session, team, draft_id)
                    assert draft is not None
                    return {v.number: str(v.slack_ts) for v in variants} if draft.status == "voting" else {}

                ts: dict[int, str] = {}
                while not ts:
                    assert time.monotonic() - made < WINDOW - 3, f"voting never opened:\n{first.output()}"
                    ts = await voting()
                    await asyncio.sleep(0.1)
                for user in (BOB, CAROL):
                    event = ReactionEvent(team_id=team, channel=CHANNEL, ts=ts[2], user=user, emoji="+1")
                    await here.drafts.reactions.reaction_added(event, bot_user=fake.state.bot.id)

                await asyncio.sleep(max(0.0, made + WINDOW - 1.5 - time.monotonic()))
                first.proc.kill()  # just before the deadline: SIGKILL, nothing handed back
                await first.proc.wait()
                await asyncio.sleep(max(0.0, made + WINDOW + 1.0 - time.monotonic()))
                assert not _reviews(fake, parent.ts), "voting closed with no worker running"

                second = await spawn("worker-2", tmp_path, env)
                procs.append(second)
                await wait_until_up([second], within=30)
                await wait_for(lambda: _reviews(fake, parent.ts), within=20, what="the 2K review")
                await asyncio.sleep(2 + 3)  # any doubled job has had its chance (the lease is 3 s)
                assert _reviews(fake, parent.ts) == [2], second.output()
            finally:
                await stop_all(procs)
            rows = [row async for row in audit.events(here.sessions, draft_id=draft_id)]
    closed = [r for r in rows if r["kind"] == "voting_closed"]
    assert len(closed) == 1 and closed[0]["details"]["by"] == "deadline"
    assert sum(r["kind"] == "upgrade_requested" for r in rows) == 1
    assert sum(r["kind"] == "review_posted" for r in rows) == 1
    assert next(r for r in rows if r["kind"] == "command")["details"]["vote_deadline"] is not None


def _reviews(fake: FakeSlack, parent_ts: str) -> list[int]:
    """The numbers of the 2K review messages in the draft's thread, duplicates included."""
    return sorted(
        int(payload["number"])
        for kind, payload in map(event_of, fake.thread(CHANNEL, parent_ts))
        if kind == IMAGE_EVENT and payload.get("tier") == "2K"
    )
