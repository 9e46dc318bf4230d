"""Review like a studio, through the service layer: Request changes makes review versions, Reject says why
and may go back to voting, several approvals, and the approved final in other shapes.

Real SQLite, the real local renderer and imaging; the publisher records what would be posted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot import imaging
from bot.audit import AuditKind
from bot.cards import draft_card
from bot.config import Settings
from bot.drafts import Done
from bot.faces import Offer, face_of
from bot.providers.base import GeneratedImage, GenerationRequest, Unavailable
from bot.providers.local import LocalProvider
from bot.publisher import RecordingPublisher
from bot.runtime import Runtime, build_runtime
from bot.tiers import Size, Tier
from bot.workflow import Refusal
from storage import queries
from storage.models import AuditEvent
from tests.conftest import FakeClock, drain, provided
from tests.services.test_service_flow import CHANNEL, REQ, TEAM, new_draft, status, variant_ts, vote

APPROVER, OTHER = "UAPP", "UAPP2"
# Offers that are controls someone could still press.
PRESSABLE = {Offer.VOTE, Offer.VOTE_ONLY, Offer.REVIEW, Offer.RETRY_IMAGE, Offer.RETRY_DRAFT}


@pytest.fixture
async def studio(
    settings: Settings, publisher: RecordingPublisher, clock: FakeClock
) -> AsyncIterator[Runtime]:
    strict = settings.model_copy(
        update={"approvers": frozenset({APPROVER, OTHER}), "required_approvals": 2, "max_review_versions": 3}
    )
    rt = await build_runtime(strict, publisher=publisher, clock=clock)
    yield rt
    await rt.aclose()


async def in_review(runtime: Runtime, clock: FakeClock, text: str, votes: dict[str, int]) -> int:
    """A draft whose variants were voted on as ``votes`` says, upgraded to 2K and reviewed."""
    draft_id = await new_draft(runtime, text)
    await drain(runtime, clock)
    ts = await variant_ts(runtime, draft_id)
    for user, number in votes.items():
        await vote(runtime, ts[number], user)
    result = await runtime.drafts.decisions.request_upgrade(team_id=TEAM, draft_id=draft_id, user=REQ)
    assert isinstance(result, Done), result
    await drain(runtime, clock)
    assert await status(runtime, draft_id) == "reviewing"
    return draft_id


async def events(runtime: Runtime, draft_id: int, kind: AuditKind) -> list[dict[str, object]]:
    async with runtime.sessions() as session:
        rows = await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.draft_id == draft_id, AuditEvent.kind == kind)
            .order_by(AuditEvent.id)
        )
        return [dict(row.details, actor=row.actor) for row in rows.all()]


async def offers(runtime: Runtime, draft_id: int) -> dict[tuple[str, int, int], Offer]:
    """What every posted message of the draft offers now."""
    async with runtime.sessions() as session:
        draft = await queries.get_draft(session, TEAM, draft_id)
        assert draft is not None
        card = await draft_card(session, draft)
    return {(m.tier, m.number, m.version): face_of(card, m).offer for m in card.messages}


async def test_request_changes_makes_v2_from_v1_with_the_feedback_then_approve_makes_the_4k_from_v2(
    studio: Runtime, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    decisions = studio.drafts.decisions
    draft_id = await in_review(studio, clock, "a glass teapot for feed post --n 2", {"U1": 2, "U2": 2})
    assert (await offers(studio, draft_id))[("2K", 2, 1)] is Offer.REVIEW

    refused = await decisions.request_changes(team_id=TEAM, draft_id=draft_id, user="U9", feedback="x")
    assert isinstance(refused, Refusal) and refused.code == "not_approver"
    asked = await decisions.request_changes(
        team_id=TEAM,
        draft_id=draft_id,
        user=REQ,
        feedback="warmer background, teapot a little larger",
        pressed=(2, 1),
    )
    assert isinstance(asked, Done) and "v2" in asked.message
    too_early = await decisions.approve(team_id=TEAM, draft_id=draft_id, user=APPROVER, pressed=(2, 1))
    assert isinstance(too_early, Refusal) and too_early.code == "superseded"
    await drain(studio, clock)

    async with studio.sessions() as session:
        v1, v2 = sorted(
            await queries.variants_of(session, TEAM, draft_id, Tier.REVIEW), key=lambda v: v.version
        )
    assert (v1.version, v2.version) == (1, 2) and v2.source_variant_id == v1.id
    assert v1.outcome == "changes_requested" and v1.outcome_by == REQ
    assert v2.feedback == "warmer background, teapot a little larger" and v2.status == "posted"
    assert v2.sha256 != v1.sha256  # the local renderer shows the change
    made = [e for e in await events(studio, draft_id, AuditKind.GENERATION) if e["tier"] == "2K"]
    assert [e["version"] for e in made] == [1, 2] and made[1]["reference_use"] == "revise"
    assert made[1]["feedback"] == "warmer background, teapot a little larger"
    [changes] = await events(studio, draft_id, AuditKind.CHANGES_REQUESTED)
    assert changes["actor"] == REQ and changes["version"] == 1 and changes["new_version"] == 2
    # v2's message shows v1 beside it; v1 says what happened and offers nothing.
    side_by_side = publisher.compares[(draft_id, Tier.REVIEW, 2, 2)]
    assert imaging.measure(side_by_side)[0].width <= 1100
    shown = await offers(studio, draft_id)
    assert shown[("2K", 2, 1)] is Offer.CHANGES_REQUESTED and shown[("2K", 2, 2)] is Offer.REVIEW

    # Two approvals needed: one is not enough, the same person twice counts once.
    first = await decisions.approve(team_id=TEAM, draft_id=draft_id, user=APPROVER, pressed=(2, 2))
    assert isinstance(first, Done) and "1 of 2" in first.message
    again = await decisions.approve(team_id=TEAM, draft_id=draft_id, user=APPROVER, pressed=(2, 2))
    assert isinstance(again, Done) and "already" in again.message
    await drain(studio, clock)
    assert await status(studio, draft_id) == "reviewing"
    second = await decisions.approve(team_id=TEAM, draft_id=draft_id, user=OTHER, pressed=(2, 2))
    assert isinstance(second, Done) and "4K" in second.message
    await drain(studio, clock)
    assert await status(studio, draft_id) == "final"
    async with studio.sessions() as session:
        [final] = await queries.variants_of(session, TEAM, draft_id, Tier.FINAL)
        assert await queries.approvers_of(session, v2.id) == (APPROVER, OTHER)
    assert final.source_variant_id == v2.id
    assert len(await events(studio, draft_id, AuditKind.APPROVED)) == 2
    # After the final nothing in the thread can be pressed but Also as… on the final.
    assert not PRESSABLE & set((await offers(studio, draft_id)).values())


async def test_the_version_limit_is_said_clearly(studio: Runtime, clock: FakeClock) -> None:
    decisions = studio.drafts.decisions
    draft_id = await in_review(studio, clock, "a copper kettle for feed post --n 1", {})
    for n in (1, 2):
        done = await decisions.request_changes(
            team_id=TEAM, draft_id=draft_id, user=APPROVER, feedback=f"change {n}"
        )
        assert isinstance(done, Done)
        await drain(studio, clock)
    refused = await decisions.request_changes(team_id=TEAM, draft_id=draft_id, user=APPROVER, feedback="more")
    assert isinstance(refused, Refusal) and refused.code == "version_limit"
    assert "3 review versions" in refused.reason


async def test_reject_back_to_voting_keeps_the_votes_and_the_runner_up_goes_to_2k(
    studio: Runtime, clock: FakeClock
) -> None:
    decisions = studio.drafts.decisions
    draft_id = await in_review(
        studio, clock, "a red umbrella for feed post --n 3", {"U1": 1, "U2": 1, "U3": 3}
    )
    blank = await decisions.reject(team_id=TEAM, draft_id=draft_id, user="U9", reason="no")
    assert isinstance(blank, Refusal)
    back = await decisions.reject(
        team_id=TEAM, draft_id=draft_id, user=APPROVER, reason="the handle looks plastic", back_to_voting=True
    )
    assert isinstance(back, Done) and "back to voting" in back.message
    await drain(studio, clock)
    assert await status(studio, draft_id) == "voting"
    async with studio.sessions() as session:
        assert await queries.votes_of(session, TEAM, draft_id) == {"U1": 1, "U2": 1, "U3": 3}
        draft = await queries.get_draft(session, TEAM, draft_id)
        assert draft is not None
        card = await draft_card(session, draft)
    assert card.rejected == {1: (APPROVER, "the handle looks plastic")}
    assert (await offers(studio, draft_id))[("1K", 1, 1)] is Offer.REJECTED_AT_REVIEW
    assert (await offers(studio, draft_id))[("2K", 1, 1)] is Offer.REJECTED_BACK
    [rejected] = await events(studio, draft_id, AuditKind.REJECTED)
    assert rejected["back_to_voting"] is True and rejected["reason"] == "the handle looks plastic"

    ts = await variant_ts(studio, draft_id)
    for user in ("U1", "U2"):  # they move to the runner-up
        await vote(studio, ts[3], user)
    upgrade = await decisions.request_upgrade(team_id=TEAM, draft_id=draft_id, user=REQ)
    assert isinstance(upgrade, Done) and "Variant 3" in upgrade.message
    await drain(studio, clock)
    async with studio.sessions() as session:
        reviews = await queries.variants_of(session, TEAM, draft_id, Tier.REVIEW)
    assert sorted((v.number, v.version, v.status) for v in reviews) == [(1, 1, "posted"), (3, 1, "posted")]
    assert (await offers(studio, draft_id))[("2K", 3, 1)] is Offer.REVIEW


async def test_a_rejection_that_ends_the_draft_says_why(studio: Runtime, clock: FakeClock) -> None:
    draft_id = await in_review(studio, clock, "a lantern for feed post --n 1", {})
    done = await studio.drafts.decisions.reject(
        team_id=TEAM, draft_id=draft_id, user=REQ, reason="off brief", back_to_voting=False
    )
    assert isinstance(done, Done)
    await drain(studio, clock)
    assert await status(studio, draft_id) == "rejected"
    async with studio.sessions() as session:
        draft = await queries.get_draft(session, TEAM, draft_id)
        assert draft is not None and draft.decision_reason == "off brief"
    assert (await offers(studio, draft_id))[("2K", 1, 1)] is Offer.REJECTED


async def test_also_as_makes_the_approved_final_in_another_shape_at_4k(
    runtime: Runtime, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    decisions = runtime.drafts.decisions
    draft_id = await in_review(runtime, clock, "a matte black bottle for mobile cover --n 1", {})
    early = await decisions.also_as(team_id=TEAM, draft_id=draft_id, user=REQ, destination_key="website-hero")
    assert isinstance(early, Refusal) and early.code == "wrong_status"
    assert isinstance(await decisions.approve(team_id=TEAM, draft_id=draft_id, user="U1"), Done)
    await drain(runtime, clock)
    same = await decisions.also_as(team_id=TEAM, draft_id=draft_id, user=REQ, destination_key="mobile-cover")
    assert isinstance(same, Refusal) and same.code == "shape_made"
    wide = await decisions.also_as(team_id=TEAM, draft_id=draft_id, user=REQ, destination_key="website-hero")
    assert isinstance(wide, Done) and "16:9" in wide.message
    twice = await decisions.also_as(team_id=TEAM, draft_id=draft_id, user=REQ, destination_key="banner")
    assert isinstance(twice, Refusal) and "on its way" in twice.reason
    await drain(runtime, clock)
    card, data = publisher.versions[(draft_id, Tier.FINAL, 1, 2)]
    assert card.size == Size(4096, 2304) and imaging.measure(data)[0] == Size(4096, 2304)
    [asked] = await events(runtime, draft_id, AuditKind.SHAPE_REQUESTED)
    assert asked["ratio"] == "16:9" and asked["actor"] == REQ
    made = [e for e in await events(runtime, draft_id, AuditKind.GENERATION) if e["tier"] == "4K"]
    assert [e.get("ratio") for e in made] == [None, "16:9"] and made[1]["reference_use"] == "reshape"
    assert all("cost_estimate_usd" in e for e in made)
    assert await status(runtime, draft_id) == "final"
    assert CHANNEL and not PRESSABLE & set((await offers(runtime, draft_id)).values())


async def test_an_old_review_cannot_decide_the_new_winners_review(studio: Runtime, clock: FakeClock) -> None:
    """Versions are numbered per variant: #1's v1 and #3's v1 are told apart (a late press or reaction)."""
    decisions = studio.drafts.decisions
    draft_id = await in_review(studio, clock, "a blue kite for feed post --n 3", {"U1": 1, "U2": 1, "U3": 3})
    back = await decisions.reject(
        team_id=TEAM, draft_id=draft_id, user=APPROVER, reason="no", back_to_voting=True
    )
    assert isinstance(back, Done)
    await drain(studio, clock)
    upgrade = await decisions.request_upgrade(team_id=TEAM, draft_id=draft_id, user=REQ)
    assert isinstance(upgrade, Done) and "Variant 3" in upgrade.message  # #1 was rejected: not eligible
    await drain(studio, clock)
    old = await decisions.approve(team_id=TEAM, draft_id=draft_id, user=APPROVER, pressed=(1, 1))
    assert isinstance(old, Refusal) and old.code == "superseded"
    assert "v1 of variant 3" in old.reason
    late = await decisions.reject(team_id=TEAM, draft_id=draft_id, user=APPROVER, reason="x", pressed=(1, 1))
    assert isinstance(late, Refusal) and late.code == "superseded"
    assert await status(studio, draft_id) == "reviewing"


async def test_a_lost_review_version_is_retried_as_itself(
    settings: Settings, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    """A v2 that could not be made fails the draft; Retry makes v2 again (not v1) and review goes on."""
    provider = FlakyRevisions()
    runtime = await build_runtime(
        settings.model_copy(update={"job_max_attempts": 1}),
        publisher=publisher,
        clock=clock,
        provider=provided(provider),
    )
    try:
        decisions = runtime.drafts.decisions
        draft_id = await in_review(runtime, clock, "a brass lamp for feed post --n 1", {})
        asked = await decisions.request_changes(team_id=TEAM, draft_id=draft_id, user=REQ, feedback="warmer")
        assert isinstance(asked, Done)
        await drain(runtime, clock)
        assert await status(runtime, draft_id) == "failed"
        shown = await offers(runtime, draft_id)
        assert shown[("2K", 1, 1)] is Offer.CHANGES_REQUESTED
        async with runtime.sessions() as session:
            draft = await queries.get_draft(session, TEAM, draft_id)
            assert draft is not None
            card = await draft_card(session, draft)
        [v1] = [m for m in card.messages if m.version == 1 and m.image is not None and m.tier is Tier.REVIEW]
        assert face_of(card, v1).detail == "v2:failed"  # "v2 could not be made (below)"
        provider.broken = False
        assert isinstance(await runtime.drafts.retries.retry(team_id=TEAM, draft_id=draft_id, user=REQ), Done)
        await drain(runtime, clock)
        async with runtime.sessions() as session:
            reviews = await queries.variants_of(session, TEAM, draft_id, Tier.REVIEW)
        assert [(v.version, v.status) for v in reviews] == [(1, "posted"), (2, "posted")]
        assert await status(runtime, draft_id) == "reviewing"
        done = await decisions.approve(team_id=TEAM, draft_id=draft_id, user="U1", pressed=(1, 2))
        assert isinstance(done, Done)
    finally:
        await runtime.aclose()


class FlakyRevisions(LocalProvider):
    """The local renderer, whose revisions fail while ``broken``."""

    broken = True

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        if self.broken and request.reference_use == "revise":
            raise Unavailable("the provider is overloaded", provider=self.name)
        return await super().generate(request)
