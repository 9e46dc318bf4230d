"""PostgreSQL goes away for longer than a job lease while drafts are being drawn and posted, then comes
back: no variant is posted twice, the audit trail says what Slack shows, every draft reaches voting, and
the outage costs each process a few lines of log, not a traceback per retry.

The bot runs as real processes, one ``draftbot serve`` (which runs a worker too) and two ``draftbot
worker``, against the fake Slack and a slow fake OpenAI Images API served by this test on loopback, on a
PostgreSQL server of this module's own (the shared one of ``tests/postgres.py`` serves other tests, and
this one is stopped). The outage is a crash, ``pg_ctl stop -m immediate``, for :data:`OUTAGE` seconds,
then a start on the same port (crash recovery). Leases are short (:data:`LEASE`), so the outage
outlasts them many times over: the jobs in flight are fenced and taken over by whichever worker claims
them first once the database is back.

One run of the scenario (a module fixture) serves both tests: it is what takes the time.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot import audit
from bot.blocks import DRAFT_EVENT, IMAGE_EVENT
from fakes.asgi import serve_asgi
from fakes.openai import FakeOpenAI
from fakes.slack import FakeSlack, Message, Workspace, serve_fake_slack
from storage import db
from tests.postgres import PostgresCluster, PostgresUnavailable, create_database, running_cluster
from tests.processes import Proc, spawn, stop_all, wait_until_up
from tests.slack_harness import ALICE, CHANNEL, SECRET, USERS, wait_for

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]
DRAFTS, N = 4, 4
LEASE = 3.0  # seconds; the outage is many times longer
OUTAGE = 20.0  # seconds with the database stopped
MAX_LINES = 20  # per process, for the whole outage and its recovery
# A crash (`-m immediate`) must keep what was committed, as PostgreSQL does by default: the shared test
# server's synchronous_commit=off would lose the last commits, a post claim among them, and post twice.
DURABLE = {"synchronous_commit": "on"}
STOP_MODE = "immediate"
SETTLE = 2 + LEASE  # after the last expected post: time for any late duplicate to show


class SlowImages:
    """FakeOpenAI behind a random delay per request, so variants are drawn and posted over a few seconds
    and some are always in flight."""

    def __init__(self, low: float = 0.5, high: float = 4.0) -> None:
        self.api = FakeOpenAI()
        self.low, self.high = low, high
        self.rng = random.Random(10)
        self.started = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.started += 1
            await asyncio.sleep(self.rng.uniform(self.low, self.high))
        await self.api(scope, receive, send)


@dataclass
class Outcome:
    """What the scenario saw, for the tests to judge."""

    drafts: list[int] = field(default_factory=list)
    # (draft_id, number) of every 1K variant message in the fake Slack, duplicates included
    messages: list[tuple[int, int]] = field(default_factory=list)
    message_ts: set[str] = field(default_factory=set)
    voting_shown: dict[int, bool] = field(default_factory=dict)  # by draft id: the parent says "Voting"
    posted_mid_outage: int = 0  # variant messages that arrived while the database was down
    audit_rows: list[dict[str, Any]] = field(default_factory=list)
    outage_lines: dict[str, list[str]] = field(default_factory=dict)  # by process, while it was down
    after_lines: dict[str, list[str]] = field(default_factory=dict)  # by process, from its start to the end
    exit_codes: dict[str, int | None] = field(default_factory=dict)  # at the end, before the stop
    logs: dict[str, str] = field(default_factory=dict)
    waited: str = ""  # a timeout on the way, if any

    def tails(self, lines: int = 40) -> str:
        return "".join(
            f"\n--- {name} ---\n" + "\n".join(text.splitlines()[-lines:]) for name, text in self.logs.items()
        )


def bot_env(fake: FakeSlack, images: SlowImages, images_url: str, data_dir: Path, url: str) -> dict[str, str]:
    assert fake.base_url is not None
    drop = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in drop and not k.startswith(("SLACK_", "DRAFTBOT_", "OPENAI_", "GEMINI_"))
    }
    return env | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        "SLACK_BOT_TOKEN": fake.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.base_url,
        "DRAFTBOT_DATA_DIR": str(data_dir),
        "DRAFTBOT_DATABASE_URL": url,
        "DRAFTBOT_PROVIDER": "openai",
        "OPENAI_API_KEY": images.api.api_key,
        "OPENAI_BASE_URL": f"{images_url}/v1",
        "DRAFTBOT_JOB_LEASE_SECONDS": str(LEASE),
    }


async def start_processes(tmp_path: Path, env: dict[str, str]) -> list[Proc]:
    procs = [await spawn(name, tmp_path, env) for name in ("serve", "worker-1", "worker-2")]
    await wait_until_up(procs, within=60)
    return procs


def _event(message: Message) -> tuple[str | None, dict[str, Any]]:
    metadata = message.metadata or {}
    return metadata.get("event_type"), dict(metadata.get("event_payload") or {})


def parents(fake: FakeSlack) -> dict[int, Message]:
    found = {}
    for message in fake.messages(CHANNEL):
        kind, payload = _event(message)
        if kind == DRAFT_EVENT:
            found[int(payload["draft_id"])] = message
    return found


def variant_messages(fake: FakeSlack) -> list[tuple[tuple[int, int], str]]:
    """((draft_id, number), ts) of every 1K variant message in every draft's thread, duplicates included."""
    found = []
    for parent in parents(fake).values():
        for message in fake.thread(CHANNEL, parent.ts):
            kind, payload = _event(message)
            if kind == IMAGE_EVENT and payload.get("tier") == "1K":
                found.append(((int(payload["draft_id"]), int(payload["number"])), message.ts))
    return found


def voting_shown(fake: FakeSlack, parent: Message) -> bool:
    return "Voting" in json.dumps(fake.state.get_message(CHANNEL, parent.ts).blocks)


async def scenario(cluster: PostgresCluster, tmp_path: Path) -> Outcome:
    outcome = Outcome()
    url = await create_database(cluster)
    images = SlowImages()
    async with (
        serve_fake_slack(state=Workspace(default_users=USERS)) as fake,
        serve_asgi(images) as images_url,
    ):
        env = bot_env(fake, images, images_url, tmp_path / "data", url)
        procs = await start_processes(tmp_path, env)
        serve = next(p for p in procs if p.port is not None)
        try:
            fake.connect_app(f"http://127.0.0.1:{serve.port}/slack/events", SECRET)
            assert fake.delivery is not None
            for k in range(DRAFTS):
                brief = f"a lighthouse at dusk number {k + 1}, long exposure for feed post --n {N}"
                response = await fake.delivery.send_slash_command(ALICE, CHANNEL, brief)
                assert response.status_code == 200
            await wait_for(lambda: len(parents(fake)) >= DRAFTS, within=20, what="every parent message")
            # Stop the database while variants are being drawn and posted: some are in Slack, most not.
            await wait_for(lambda: len(variant_messages(fake)) >= 2, within=20, what="the first variants")
            before = {p.name: len(p.lines()) for p in procs}
            posted_before = len(variant_messages(fake))
            cluster.stop(STOP_MODE)
            await asyncio.sleep(OUTAGE)
            outcome.posted_mid_outage = len(variant_messages(fake)) - posted_before
            cluster.start(same_port=True)
            restarted = {p.name: len(p.lines()) for p in procs}
            try:
                await wait_for(
                    lambda: (
                        len(variant_messages(fake)) >= DRAFTS * N
                        and all(voting_shown(fake, parent) for parent in parents(fake).values())
                    ),
                    within=60,
                    what="every variant and voting on every draft",
                )
            except AssertionError as err:
                outcome.waited = str(err)
            await asyncio.sleep(SETTLE)  # any job that could still post a duplicate has had its chance
            lines = {p.name: p.lines() for p in procs}
            outcome.outage_lines = {name: lines[name][before[name] : restarted[name]] for name in lines}
            outcome.after_lines = {name: lines[name][restarted[name] :] for name in lines}
            outcome.exit_codes = {p.name: p.proc.returncode for p in procs}
        finally:
            await stop_all(procs)
            outcome.logs = {p.name: p.log.read_text(errors="replace") for p in procs}

        found = variant_messages(fake)
        outcome.messages = [key for key, _ in found]
        outcome.message_ts = {ts for _, ts in found}
        outcome.drafts = sorted(parents(fake))
        outcome.voting_shown = {draft: voting_shown(fake, parent) for draft, parent in parents(fake).items()}

    engine = db.create_engine(url)
    try:
        outcome.audit_rows = [row async for row in audit.events(db.session_factory(engine))]
    finally:
        await engine.dispose()
    return outcome


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    if os.environ.get("DRAFTBOT_SKIP_POSTGRES") == "1":
        pytest.skip("DRAFTBOT_SKIP_POSTGRES=1: PostgreSQL tests skipped")
    tmp_path = tmp_path_factory.mktemp("outage")
    try:
        with running_cluster(DURABLE) as cluster:
            started = time.monotonic()
            result = asyncio.run(scenario(cluster, tmp_path))
            lines = {name: len(down) for name, down in result.outage_lines.items()}
            print(f"database outage scenario: {time.monotonic() - started:.1f} s; lines while down: {lines}")
    except PostgresUnavailable as err:
        pytest.fail(str(err), pytrace=False)
    yield result


def test_a_database_stop_longer_than_the_lease_posts_no_variant_twice(outcome: Outcome) -> None:
    """Two workers on PostgreSQL with a database stop longer than the lease: no variant posted twice, the
    audit equals what Slack shows."""
    everything = sorted((draft, number) for draft in outcome.drafts for number in range(1, N + 1))
    assert len(outcome.drafts) == DRAFTS
    twice = {key: count for key, count in Counter(outcome.messages).items() if count > 1}
    assert not twice, f"posted more than once: {twice}{outcome.tails()}"
    assert not outcome.waited, f"{outcome.waited}; Slack has {sorted(outcome.messages)}{outcome.tails()}"
    assert sorted(outcome.messages) == everything
    # Nobody died on the way: the database going away is waited out.
    assert all(code is None for code in outcome.exit_codes.values()), outcome.exit_codes

    rows = outcome.audit_rows
    posted = [r for r in rows if r["kind"] == "variant_posted"]
    assert sorted((r["draft_id"], int(r["details"]["number"])) for r in posted) == everything
    assert {r["details"]["ts"] for r in posted} == outcome.message_ts  # the very messages in Slack
    assert all(outcome.voting_shown.values()), outcome.voting_shown
    opened = Counter(r["draft_id"] for r in rows if r["kind"] == "voting_opened")
    assert opened == dict.fromkeys(outcome.drafts, 1)


def test_a_20_s_database_outage_logs_under_20_lines_per_process(outcome: Outcome) -> None:
    """A 20 s database outage logs under 20 lines per process, and no traceback per retry."""
    assert OUTAGE >= 20
    down, after = outcome.outage_lines, outcome.after_lines
    shown = "".join(f"\n--- {name} ---\n" + "\n".join(lines) for name, lines in down.items())
    counts = {name: len(lines) for name, lines in down.items()}
    assert len(counts) == 3, counts
    assert all(count < MAX_LINES for count in counts.values()), f"{counts}{shown}"
    # No traceback per retry, neither while it is down nor as the retries meet it coming back.
    tracebacks = {name: sum("Traceback" in line for line in down[name] + after[name]) for name in down}
    assert all(count <= 1 for count in tracebacks.values()), f"{tracebacks}{shown}{outcome.tails()}"
    # It was said, once: every process met the outage and said once that the database went (`draftbot
    # serve` twice: its web app and its worker), and once that it is back when it next reached it. A
    # worker may still be in its backoff at the end (up to 30 s, bot.jobs.outages), the others having
    # finished the work: then it has not said "back" yet, but it said nothing more either.
    backs = 0
    for name in down:
        said = down[name] + after[name]
        went = sum("the database is unreachable" in line for line in said)
        back = sum("the database is back" in line for line in said)
        assert 1 <= went <= 2 and back <= went, f"{name}: {went} gone, {back} back{shown}{outcome.tails()}"
        backs += back
    assert backs >= 1, outcome.tails()
