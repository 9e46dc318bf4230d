"""What a thread message shows is recorded by compare-and-set: of two refreshes that both updated a message,
the one that records second finds the record changed and forgets it, so the next pass draws it again."""

from __future__ import annotations

from bot.config import Settings
from bot.publisher import RecordingPublisher
from bot.runtime import build_runtime
from bot.tiers import Tier
from storage import queries
from tests.services.test_service_flow import TEAM, new_draft


async def test_a_second_record_of_what_a_message_shows_forgets_it(
    settings: Settings, publisher: RecordingPublisher
) -> None:
    runtime = await build_runtime(settings, publisher=publisher)
    try:
        draft_id = await new_draft(runtime, "a lighthouse at dusk for feed post --n 1")
        async with runtime.sessions() as session:
            [variant] = await queries.variants_of(session, TEAM, draft_id, Tier.EXPLORE)
        async with runtime.sessions.begin() as session:  # refresh B saw nothing shown, drew S′
            assert await queries.mark_shown(session, variant.id, notice=False, face="S2", expected=None)
        async with runtime.sessions.begin() as session:  # refresh A, which also saw nothing, drew S
            assert not await queries.mark_shown(session, variant.id, notice=False, face="S1", expected=None)
        async with runtime.sessions() as session:
            [variant] = await queries.variants_of(session, TEAM, draft_id, Tier.EXPLORE)
        assert variant.shown is None  # unknown: the next refresh draws it again
    finally:
        await runtime.aclose()
