"""Many machines: two ``draftbot serve`` and two ``draftbot worker`` processes on one PostgreSQL and one
S3-compatible bucket (moto's server on loopback), each process with a data directory of its own, as on
separate machines. Twenty drafts go to the two servers in turn (a load balancer's round robin); one
worker and one server are SIGKILLed mid-run and started again (the balancer sends to the other server
meanwhile). Then some drafts are voted on, upgraded to 2K on one server and approved on the other.

Every draft has exactly its variants, every 2K and 4K exists exactly once (in Slack and in the database),
every image is in the bucket (none on any machine's disk), and the audit trail says all of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot import audit, blocks
from fakes.asgi import serve_asgi
from fakes.slack import FakeSlack, Message, SlackDelivery, Workspace, serve_fake_slack
from storage import db
from tests.processes import Proc, spawn, stop_all, wait_until_up
from tests.s3 import Bucket
from tests.slack_harness import ALICE, CHANNEL, DAVE, SECRET, USERS, shown_tally, wait_for
from tests.storage.test_database_outage import SlowImages, bot_env, parents

pytestmark = pytest.mark.postgres

DRAFTS, N = 20, 2
UPGRADED = 4  # drafts taken to 2K, and approved to 4K
# Two cores run four bot processes, PostgreSQL, the fake Slack, the fake image API and the S3 server here:
# a lease of a few seconds would expire under that load alone. A SIGKILLed process's jobs are taken back at
# once anyway (its lease owner is gone from this host), so the lease length costs the test nothing.
LEASE = 10.0


@dataclass
class Machines:
    fake: FakeSlack
    procs: dict[str, Proc]
    deliveries: dict[str, SlackDelivery]
    tmp_path: Path
    envs: dict[str, dict[str, str]]

    async def restart(self, name: str) -> None:
        old, logs = self.procs[name], self.tmp_path / "restarted"
        await asyncio.to_thread(logs.mkdir, exist_ok=True)
        self.procs[name] = await spawn(name, logs, self.envs[name], port=old.port)
        await wait_until_up([self.procs[name]], within=60)

    def kill(self, name: str) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.procs[name].proc.send_signal(signal.SIGKILL)


def thread(fake: FakeSlack, parent: Message) -> list[tuple[str, int, int, Message]]:
    """(tier, number, version, message) of every image message in the draft's thread."""
    found = []
    for message in fake.thread(CHANNEL, parent.ts):
        metadata = message.metadata or {}
        if metadata.get("event_type") == blocks.IMAGE_EVENT:
            payload = metadata.get("event_payload") or {}
            found.append(
                (str(payload["tier"]), int(payload["number"]), int(payload.get("version", 1)), message)
            )
    return found


def images(fake: FakeSlack, tier: str) -> Counter[tuple[int, int]]:
    """How many messages show each (draft, number) image of ``tier``."""
    return Counter(
        (draft_id, number)
        for draft_id, parent in parents(fake).items()
        for shown_tier, number, _, _ in thread(fake, parent)
        if shown_tier == tier
    )


async def test_two_servers_and_two_workers_on_one_database_and_bucket(
    tmp_path: Path, postgres_url: str, s3_bucket: Bucket
) -> None:
    images_api = SlowImages(low=0.2, high=1.2)
    async with (
        serve_fake_slack(state=Workspace(default_users=USERS)) as fake,
        serve_asgi(images_api) as images_url,
    ):
        envs = {}
        for name in ("serve-1", "serve-2", "worker-1", "worker-2"):
            env = bot_env(fake, images_api, images_url, tmp_path / f"machine-{name}", postgres_url)
            # bot_env keeps the AWS variables s3_bucket set (the endpoint and credentials of the moto server)
            envs[name] = env | {
                "DRAFTBOT_BLOB_URL": s3_bucket.url,
                "DRAFTBOT_APPROVERS": DAVE,
                "DRAFTBOT_JOB_LEASE_SECONDS": str(LEASE),
            }
        procs = {name: await spawn(name, tmp_path, env) for name, env in envs.items()}
        machines = Machines(fake, procs, {}, tmp_path, envs)
        try:
            await wait_until_up(list(procs.values()), within=90)
            for name in ("serve-1", "serve-2"):
                url = f"http://127.0.0.1:{procs[name].port}/slack/events"
                machines.deliveries[name] = SlackDelivery(fake, url, SECRET)
            fake.connect_app(f"http://127.0.0.1:{procs['serve-1'].port}/slack/events", SECRET)
            await run_drafts(machines)
            await upgrade_and_approve(machines)
        finally:
            await stop_all(list(machines.procs.values()))
            for delivery in machines.deliveries.values():
                await delivery.aclose()
        logs = {name: p.output() for name, p in machines.procs.items()}

        # Exactly the variants, once each; exactly one 2K and one 4K per upgraded draft.
        drafts = sorted(parents(fake))
        assert len(drafts) == DRAFTS, logs
        assert images(fake, "1K") == {(d, n): 1 for d in drafts for n in range(1, N + 1)}
        upgraded = drafts[:UPGRADED]
        assert images(fake, "2K") == {(d, 1): 1 for d in upgraded}
        assert images(fake, "4K") == {(d, 1): 1 for d in upgraded}

    rows = await audit_rows(postgres_url)
    posted = Counter(
        (r["draft_id"], int(r["details"]["number"])) for r in rows if r["kind"] == "variant_posted"
    )
    assert posted == {(d, n): 1 for d in drafts for n in range(1, N + 1)}
    assert Counter(r["draft_id"] for r in rows if r["kind"] == "command") == dict.fromkeys(drafts, 1)
    assert Counter(r["draft_id"] for r in rows if r["kind"] == "review_posted") == dict.fromkeys(upgraded, 1)
    assert Counter(r["draft_id"] for r in rows if r["kind"] == "final_posted") == dict.fromkeys(upgraded, 1)
    made = Counter(r["details"].get("tier") for r in rows if r["kind"] == "generation")
    assert made["1K"] >= DRAFTS * N and made["2K"] >= UPGRADED and made["4K"] >= UPGRADED
    # Every image in the bucket; none on any machine's own disk.
    digests = {str(r["details"]["sha256"]) for r in rows if r["kind"] == "generation"}
    keys = {f"sha256/{digest[:2]}/{digest}" for digest in digests}
    stored = {key.removeprefix(f"{s3_bucket.prefix}/") for key in s3_bucket.objects()}
    assert keys and keys <= stored
    for name in envs:
        assert not list((tmp_path / f"machine-{name}").rglob("sha256")), name


async def run_drafts(machines: Machines) -> None:
    """Twenty drafts, to each server in turn; worker-1 and serve-2 are SIGKILLed halfway and restarted."""
    down: set[str] = set()
    for k in range(DRAFTS):
        target = "serve-1" if k % 2 == 0 or "serve-2" in down else "serve-2"
        brief = f"a lighthouse at dusk number {k + 1}, long exposure for feed post --n {N}"
        answer = await machines.deliveries[target].send_slash_command(ALICE, CHANNEL, brief)
        assert answer.status_code == 200, answer.text
        if k == DRAFTS // 2:
            # Mid-run: a worker (with jobs in hand) and a server die without a word.
            await wait_for(lambda: images(machines.fake, "1K") or None, within=30, what="some variants")
            machines.kill("worker-1")
            machines.kill("serve-2")
            down.add("serve-2")
            await asyncio.gather(
                machines.procs["worker-1"].proc.wait(), machines.procs["serve-2"].proc.wait()
            )
        if k == DRAFTS // 2 + 4:
            await asyncio.gather(machines.restart("worker-1"), machines.restart("serve-2"))
            down.discard("serve-2")
    await wait_for(
        lambda: sum(images(machines.fake, "1K").values()) >= DRAFTS * N or None,
        within=120,
        what="every variant of every draft",
    )


async def upgrade_and_approve(machines: Machines) -> None:
    """Vote for #1, upgrade on one server, approve on the other."""
    fake = machines.fake
    drafts = sorted(parents(fake))[:UPGRADED]
    for draft_id in drafts:
        first = next(m for tier, n, _, m in thread(fake, parents(fake)[draft_id]) if tier == "1K" and n == 1)
        await fake.user_add_reaction(ALICE, CHANNEL, first.ts, "+1")
    for draft_id in drafts:
        await wait_for(
            lambda d=draft_id: (
                shown_tally(fake.state.get_message(CHANNEL, parents(fake)[d].ts)) == {1: 1} or None
            ),
            within=30,
            what=f"the vote on draft {draft_id}",
        )
        await machines.deliveries["serve-1"].send_block_action(
            ALICE, CHANNEL, parents(fake)[draft_id].ts, blocks.UPGRADE
        )
    for draft_id in drafts:
        review = await wait_for(
            lambda d=draft_id: next((m for t, _, _, m in thread(fake, parents(fake)[d]) if t == "2K"), None),
            within=60,
            what=f"the 2K of draft {draft_id}",
        )
        answer = await machines.deliveries["serve-2"].send_block_action(
            DAVE, CHANNEL, review.ts, blocks.APPROVE
        )
        assert answer.status_code == 200, answer.text
    try:
        await wait_for(
            lambda: sum(images(fake, "4K").values()) >= UPGRADED or None, within=240, what="every 4K final"
        )
    except AssertionError as exc:
        raise AssertionError(await without_final(machines, drafts)) from exc
    await asyncio.sleep(3)  # time for a late duplicate to show, if anything could post one


async def without_final(machines: Machines, drafts: list[int]) -> str:
    """What each upgraded draft that has no 4K shows: its thread, DAVE's private answers, its audit trail."""
    fake, lines = machines.fake, ["timed out waiting for every 4K final"]
    rows = await audit_rows(machines.envs["serve-1"]["DRAFTBOT_DATABASE_URL"])
    for draft_id in drafts:
        shown = thread(fake, parents(fake)[draft_id])
        if any(tier == "4K" for tier, _, _, _ in shown):
            continue
        lines.append(f"draft {draft_id}: thread {[(t, n, v) for t, n, v, _ in shown]}")
        lines.append(f"  audit {[r['kind'] for r in rows if r['draft_id'] == draft_id]}")
    lines.append(f"DAVE was told {[e.text for e in fake.state.ephemerals_for(DAVE)]}")
    for name, proc in machines.procs.items():
        lines.append(f"--- {name} ---\n{proc.output()[-3000:]}")
    return "\n".join(lines)


async def audit_rows(url: str) -> list[dict[str, Any]]:
    engine = db.create_engine(url)
    try:
        return [row async for row in audit.events(db.session_factory(engine))]
    finally:
        await engine.dispose()
