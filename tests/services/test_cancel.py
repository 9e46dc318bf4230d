"""Cancel, through the service: committed with its dropped jobs in one transaction, so a worker that died
holding the draft's jobs (SIGKILL right after the cancel) brings nothing back when another takes them over."""

from __future__ import annotations

from bot.config import Settings
from bot.drafts import Done
from bot.publisher import RecordingPublisher
from bot.runtime import build_runtime
from bot.tiers import Tier
from storage import jobqueue, queries
from tests.conftest import FakeClock, drain
from tests.services.test_service_flow import REQ, TEAM, new_draft, status


async def test_a_cancelled_draft_stays_cancelled_when_a_dead_workers_jobs_are_taken_over(
    settings: Settings, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    runtime = await build_runtime(settings, publisher=publisher, clock=clock)
    try:
        draft_id = await new_draft(runtime, "a lighthouse at dusk for feed post --n 4")
        # A worker claims the parent and two variants, then dies (its leases run out; nothing it did lands).
        held = await jobqueue.claim(
            runtime.sessions, worker_id="dead-worker", lease_seconds=5, now=clock(), limit=3
        )
        assert len(held) == 3
        result = await runtime.drafts.decisions.cancel(team_id=TEAM, draft_id=draft_id, user=REQ)
        assert isinstance(result, Done)
        clock.advance(30)
        await drain(runtime, clock)  # another worker takes the dead one's jobs over
        assert await status(runtime, draft_id) == "cancelled"
        assert not [key for key in publisher.images if key[0] == draft_id and key[1] is Tier.EXPLORE]
        async with runtime.sessions() as session:
            variants = await queries.variants_of(session, TEAM, draft_id, Tier.EXPLORE)
        assert all(v.status != "posted" for v in variants)
        again = await runtime.drafts.decisions.cancel(team_id=TEAM, draft_id=draft_id, user=REQ)
        assert not isinstance(again, Done)  # a second press: refused, it is cancelled already
    finally:
        await runtime.aclose()
