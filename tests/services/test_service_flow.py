"""The whole loop through the service layer (no Slack): draft -> 1K variants -> votes -> 2K -> approve -> 4K.

Real SQLite file, real local renderer and imaging, real blob store; only the publisher records instead
of posting.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

import pytest

from bot import audit, imaging
from bot.command import DraftRequest, parse
from bot.config import Settings
from bot.drafts import Done, ReactionEvent
from bot.providers.base import GeneratedImage, GenerationRequest, Refused, Unavailable
from bot.providers.local import LocalProvider
from bot.publisher import RecordingPublisher
from bot.runtime import Runtime, build_runtime
from bot.tiers import Size, Tier
from bot.workflow import Refusal
from storage import queries
from tests.conftest import FakeClock, drain, provided

TEAM, CHANNEL, REQ = "T1", "C1", "UREQ"


def request(text: str) -> DraftRequest:
    parsed = parse(text)
    assert isinstance(parsed, DraftRequest)
    return parsed


async def new_draft(runtime: Runtime, text: str) -> int:
    return await runtime.drafts.intake.create_draft(
        team_id=TEAM, channel_id=CHANNEL, requester=REQ, request=request(text), command_text=text
    )


async def variant_ts(runtime: Runtime, draft_id: int, tier: Tier = Tier.EXPLORE) -> dict[int, str]:
    async with runtime.sessions() as session:
        return {v.number: str(v.slack_ts) for v in await queries.variants_of(session, TEAM, draft_id, tier)}


async def vote(runtime: Runtime, ts: str, user: str, *, remove: bool = False, emoji: str = "+1") -> object:
    event = ReactionEvent(team_id=TEAM, channel=CHANNEL, ts=ts, user=user, emoji=emoji)
    if remove:
        return await runtime.drafts.reactions.reaction_removed(event, bot_user="UBOT")
    return await runtime.drafts.reactions.reaction_added(event, bot_user="UBOT")


async def status(runtime: Runtime, draft_id: int) -> str:
    async with runtime.sessions() as session:
        draft = await queries.get_draft(session, TEAM, draft_id)
        assert draft is not None
        return draft.status


async def test_full_loop_through_the_service(
    runtime: Runtime, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    draft_id = await new_draft(runtime, "a matte black water bottle, dramatic side light for mobile cover")
    await drain(runtime, clock)

    # Four 1K variants, 9:16, measured from the stored bytes.
    images = [publisher.images[(draft_id, Tier.EXPLORE, n)] for n in range(1, 5)]
    for card, data in images:
        size, fmt = imaging.measure(data)
        assert size == card.size == Size(576, 1024) and fmt == "JPEG"
        assert len(data) <= Tier.EXPLORE.jpeg_ceiling_bytes
    assert len({data for _, data in images}) == 4  # four different seeds, four different images
    assert await status(runtime, draft_id) == "voting"
    assert publisher.of_kind("parent")[0].draft_id == draft_id
    assert publisher.of_kind("parent_update")[-1].detail["progress"] == "4/4 ready"

    ts = await variant_ts(runtime, draft_id)
    await vote(runtime, ts[1], "U1")
    await vote(runtime, ts[3], "U2")
    await vote(runtime, ts[2], "U3")
    await vote(runtime, ts[3], "U3")  # U3 moves their vote to 3
    await vote(runtime, ts[1], "UBOT")  # the bot's own reaction never counts
    await vote(runtime, ts[1], "U4", emoji="heart")  # not the vote emoji
    await vote(runtime, ts[1], "U5", emoji="+1::skin-tone-4")
    await vote(runtime, ts[1], "U5", remove=True)  # and U5 takes it back
    await drain(runtime, clock)
    assert publisher.of_kind("parent_update")[-1].detail["tally"] == {1: 1, 2: 0, 3: 2, 4: 0}

    outcome = await runtime.drafts.decisions.request_upgrade(team_id=TEAM, draft_id=draft_id, user=REQ)
    assert isinstance(outcome, Done) and "Variant 3" in outcome.message
    await drain(runtime, clock)
    review, review_bytes = publisher.images[(draft_id, Tier.REVIEW, 3)]
    assert imaging.measure(review_bytes)[0] == review.size == Size(1152, 2048)
    assert await status(runtime, draft_id) == "reviewing"

    # Votes are closed once the upgrade starts.
    late = await vote(runtime, ts[1], "U6")
    assert getattr(late, "change", None) == "ignored"

    outcome = await runtime.drafts.decisions.approve(team_id=TEAM, draft_id=draft_id, user="UAPPROVER")
    assert isinstance(outcome, Done)
    await drain(runtime, clock)
    final, final_bytes = publisher.images[(draft_id, Tier.FINAL, 3)]
    assert imaging.measure(final_bytes)[0] == final.size == Size(2304, 4096)
    assert len(final_bytes) <= Tier.FINAL.jpeg_ceiling_bytes
    assert await status(runtime, draft_id) == "final"
    assert publisher.of_kind("parent_update")[-1].detail["status"] == "final"

    # The 4K is the same composition as the chosen 1K: downscaled, it barely differs.
    small = imaging.decode(final_bytes, max_pixels=20_000_000).resize((576, 1024))
    explore = imaging.decode(images[2][1], max_pixels=20_000_000)
    assert _mean_difference(small, explore) < 8

    rows = [row async for row in audit.events(runtime.sessions, team_id=TEAM, draft_id=draft_id)]
    kinds = [row["kind"] for row in rows]
    assert kinds[0] == "command" and rows[0]["actor"] == REQ
    assert kinds.count("generation") == 6  # 4 variants, the 2K and the 4K
    for expected in (
        "draft_announced",
        "variant_posted",
        "voting_opened",
        "vote",
        "unvote",
        "upgrade_requested",
        "review_posted",
        "approved",
        "final_posted",
    ):
        assert expected in kinds, expected
    assert {row["actor"] for row in rows if row["kind"] == "vote"} == {"U1", "U2", "U3", "U5"}
    generation = next(row for row in rows if row["kind"] == "generation" and row["details"]["tier"] == "4K")
    assert generation["details"]["provider"] == "local" and generation["details"]["width"] == 2304
    assert generation["details"]["seed"] == rows[0]["details"]["seed"] + 2  # variant 3's seed, kept
    assert generation["details"]["bytes"] == len(final_bytes)
    assert "latency_ms" in generation["details"] and "cost_estimate_usd" in generation["details"]
    sources = {
        (row["details"]["tier"], row["details"]["number"]): row["details"].get("source")
        for row in rows
        if row["kind"] == "generation"
    }  # the image each started from, as people number them: no database ids
    assert sources == {**{("1K", n): None for n in range(1, 5)}, ("2K", 3): "1K #3", ("4K", 3): "2K #3"}
    assert not any("variant_id" in key for row in rows for key in row["details"])
    upgrade = next(row for row in rows if row["kind"] == "upgrade_requested")
    assert upgrade["details"]["winner"] == 3 and upgrade["actor"] == REQ
    assert next(row for row in rows if row["kind"] == "approved")["actor"] == "UAPPROVER"

    lines = audit.to_jsonl(rows).splitlines()
    assert [json.loads(line)["kind"] for line in lines] == kinds
    parsed = list(csv.DictReader(io.StringIO(audit.to_csv(rows))))
    assert [row["kind"] for row in parsed] == kinds and parsed[0]["actor"] == REQ


def _mean_difference(a: object, b: object) -> float:
    from PIL import Image, ImageChops, ImageStat

    assert isinstance(a, Image.Image) and isinstance(b, Image.Image)
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    return sum(ImageStat.Stat(diff).mean) / 3


async def test_tie_asks_the_requester_and_waits(
    runtime: Runtime, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    draft_id = await new_draft(runtime, "a kite over dunes for feed post --n 3")
    await drain(runtime, clock)
    ts = await variant_ts(runtime, draft_id)
    await vote(runtime, ts[1], "U1")
    await vote(runtime, ts[2], "U2")

    outcome = await runtime.drafts.decisions.request_upgrade(team_id=TEAM, draft_id=draft_id, user=REQ)
    assert isinstance(outcome, Done) and "tied" in outcome.message
    assert publisher.of_kind("tie_break")[-1].detail == {"tied": (1, 2), "votes": 1}
    await drain(runtime, clock)
    assert (draft_id, Tier.REVIEW, 1) not in publisher.images and (
        draft_id,
        Tier.REVIEW,
        2,
    ) not in publisher.images
    assert await status(runtime, draft_id) == "voting"

    refused = await runtime.drafts.decisions.choose_tied(team_id=TEAM, draft_id=draft_id, user="U1", number=1)
    assert isinstance(refused, Refusal)
    not_tied = await runtime.drafts.decisions.choose_tied(team_id=TEAM, draft_id=draft_id, user=REQ, number=3)
    assert isinstance(not_tied, Refusal) and not_tied.code == "not_a_leader"

    chosen = await runtime.drafts.decisions.choose_tied(team_id=TEAM, draft_id=draft_id, user=REQ, number=2)
    assert isinstance(chosen, Done)
    await drain(runtime, clock)
    assert (draft_id, Tier.REVIEW, 2) in publisher.images
    rows = [row async for row in audit.events(runtime.sessions, draft_id=draft_id)]
    upgrade = next(row for row in rows if row["kind"] == "upgrade_requested")
    assert upgrade["details"]["chosen_by_requester"] is True
    assert any(row["kind"] == "tie_break_needed" for row in rows)


async def test_refusals_are_audited_and_change_nothing(
    settings: Settings, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    strict = settings.model_copy(update={"approvers": frozenset({"UAPP"}), "allow_self_approval": False})
    runtime = await build_runtime(strict, publisher=publisher, clock=clock)
    try:
        draft_id = await new_draft(runtime, "a lamp for product board --n 2")
        await drain(runtime, clock)
        ts = await variant_ts(runtime, draft_id)
        await vote(runtime, ts[2], "U1")

        intruder = await runtime.drafts.decisions.request_upgrade(team_id=TEAM, draft_id=draft_id, user="U1")
        assert isinstance(intruder, Refusal)
        early = await runtime.drafts.decisions.approve(team_id=TEAM, draft_id=draft_id, user="UAPP")
        assert isinstance(early, Refusal) and early.code == "wrong_status"
        assert await status(runtime, draft_id) == "voting"

        assert isinstance(
            await runtime.drafts.decisions.request_upgrade(team_id=TEAM, draft_id=draft_id, user=REQ), Done
        )
        again = await runtime.drafts.decisions.request_upgrade(
            team_id=TEAM, draft_id=draft_id, user=REQ
        )  # double click
        assert isinstance(again, Refusal) and again.code == "wrong_status"
        await drain(runtime, clock)

        for user, code in (("U1", "not_approver"), (REQ, "not_approver")):
            refusal = await runtime.drafts.decisions.approve(team_id=TEAM, draft_id=draft_id, user=user)
            assert isinstance(refusal, Refusal) and refusal.code == code
        assert await status(runtime, draft_id) == "reviewing"

        # The approver's ✅ reaction on the 2K review approves.
        review_ts = (await variant_ts(runtime, draft_id, Tier.REVIEW))[2]
        result = await vote(runtime, review_ts, "UAPP", emoji="white_check_mark")
        assert isinstance(result, Done)
        await drain(runtime, clock)
        assert await status(runtime, draft_id) == "final"

        rows = [row async for row in audit.events(runtime.sessions, draft_id=draft_id)]
        refused = [(row["actor"], row["details"]["code"]) for row in rows if row["kind"] == "action_refused"]
        assert ("U1", "not_requester_or_approver") in refused and (REQ, "not_approver") in refused
        assert ("UAPP", "wrong_status") in refused
        assert sum(row["kind"] == "upgrade_requested" for row in rows) == 1
    finally:
        await runtime.aclose()


class FlakyProvider(LocalProvider):
    """The local renderer, except for the seeds told to refuse or to be unavailable."""

    def __init__(self, *, refuse_seeds: set[int] = frozenset(), down: bool = False) -> None:  # type: ignore[assignment]
        super().__init__()
        self.refuse_seeds = refuse_seeds
        self.down = down
        self.calls = 0

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        self.calls += 1
        if self.down:
            raise Unavailable("503 the model is overloaded", provider="flaky", retry_after=2)
        if request.seed in self.refuse_seeds:
            raise Refused(
                "Your request was rejected by the safety system.",
                provider="flaky",
                category="violence",
                stage="output",
            )
        return replace(await super().generate(request), provider="flaky")


async def test_refused_variant_is_reported_and_the_rest_arrive(
    settings: Settings, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    provider = FlakyProvider()
    runtime = await build_runtime(settings, publisher=publisher, provider=provided(provider), clock=clock)
    try:
        req = replace(request("a storm at sea for story --seed 100"))
        provider.refuse_seeds = {101}  # variant 2
        draft_id = await runtime.drafts.intake.create_draft(
            team_id=TEAM, channel_id=CHANNEL, requester=REQ, request=req, command_text="…"
        )
        await drain(runtime, clock)
        posted = sorted(n for (d, tier, n) in publisher.images if d == draft_id and tier is Tier.EXPLORE)
        assert posted == [1, 3, 4]
        notice = publisher.of_kind("notice")[-1].detail["text"]
        assert "Variant 2" in str(notice) and "violence" in str(notice)
        assert await status(runtime, draft_id) == "voting"
        assert publisher.of_kind("parent_update")[-1].detail["progress"] == "3/4 ready · 1 refused"
        assert provider.calls == 4  # a refusal is never retried
        rows = [row async for row in audit.events(runtime.sessions, draft_id=draft_id)]
        refusal = next(row for row in rows if row["kind"] == "generation_refused")
        assert refusal["details"]["category"] == "violence" and refusal["details"]["number"] == 2
    finally:
        await runtime.aclose()


async def test_provider_down_retries_then_fails_the_draft_with_a_reason(
    settings: Settings, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    provider = FlakyProvider(down=True)
    limited = settings.model_copy(update={"job_max_attempts": 3})
    runtime = await build_runtime(limited, publisher=publisher, provider=provided(provider), clock=clock)
    try:
        draft_id = await new_draft(runtime, "a fox for avatar --n 2")
        await drain(runtime, clock)
        assert provider.calls == 2 * 3  # each variant tried max_attempts times
        assert await status(runtime, draft_id) == "failed"
        rows = [row async for row in audit.events(runtime.sessions, draft_id=draft_id)]
        failures = [row for row in rows if row["kind"] == "generation_failed"]
        assert len(failures) == 2 and all("overloaded" in row["details"]["reason"] for row in failures)
        assert any(row["kind"] == "draft_failed" for row in rows)
        assert any("could not be made" in str(r.detail["text"]) for r in publisher.of_kind("notice"))
    finally:
        await runtime.aclose()


@pytest.mark.parametrize("text", ["a chair for sticker", "a chair, transparent background for feed post"])
async def test_transparent_drafts_are_png(
    runtime: Runtime, publisher: RecordingPublisher, clock: FakeClock, text: str
) -> None:
    draft_id = await new_draft(runtime, text + " --n 1")
    await drain(runtime, clock)
    card, data = publisher.images[(draft_id, Tier.EXPLORE, 1)]
    assert card.content_type == "image/png" and imaging.measure(data)[1] == "PNG"
    assert imaging.decode(data, max_pixels=10_000_000).mode == "RGBA"


async def test_teams_never_see_each_other(runtime: Runtime, clock: FakeClock) -> None:
    draft_id = await new_draft(runtime, "a boat for banner --n 1")
    await drain(runtime, clock)
    ts = (await variant_ts(runtime, draft_id))[1]
    other = await runtime.drafts.reactions.reaction_added(
        ReactionEvent(team_id="T2", channel=CHANNEL, ts=ts, user="U1", emoji="+1"), bot_user=None
    )
    assert other is None
    from bot.errors import UnknownDraft

    with pytest.raises(UnknownDraft):
        await runtime.drafts.decisions.request_upgrade(team_id="T2", draft_id=draft_id, user=REQ)
    assert [row async for row in audit.events(runtime.sessions, team_id="T2")] == []


async def test_out_of_order_reactions_keep_the_latest_intent(runtime: Runtime, clock: FakeClock) -> None:
    draft_id = await new_draft(runtime, "a bell for feed post --n 3")
    await drain(runtime, clock)
    ts = await variant_ts(runtime, draft_id)

    async def react(user: str, number: int, at: str, *, remove: bool = False) -> None:
        handle = (
            runtime.drafts.reactions.reaction_removed if remove else runtime.drafts.reactions.reaction_added
        )
        await handle(
            ReactionEvent(team_id=TEAM, channel=CHANNEL, ts=ts[number], user=user, emoji="+1", event_ts=at),
            bot_user=None,
        )

    # U1 voted 1 then 2, but the deliveries arrive the other way round.
    await react("U1", 2, "100.2")
    await react("U1", 1, "100.1")
    # U2 added then removed a vote on 3; the removal arrives first.
    await react("U2", 3, "100.4", remove=True)
    await react("U2", 3, "100.3")
    async with runtime.sessions() as session:
        assert await queries.votes_of(session, TEAM, draft_id) == {"U1": 2}


async def test_a_redelivered_event_changes_nothing(runtime: Runtime, clock: FakeClock) -> None:
    draft_id = await new_draft(runtime, "a kettle for feed post --n 2")
    await drain(runtime, clock)
    ts = await variant_ts(runtime, draft_id)
    first = ReactionEvent(
        team_id=TEAM, channel=CHANNEL, ts=ts[1], user="U1", emoji="+1", dedupe_key="event:Ev1"
    )
    second = replace(first, ts=ts[2], dedupe_key="event:Ev2")
    await runtime.drafts.reactions.reaction_added(first, bot_user=None)
    await runtime.drafts.reactions.reaction_added(second, bot_user=None)
    again = await runtime.drafts.reactions.reaction_added(first, bot_user=None)
    assert getattr(again, "why_ignored", "") == "already processed"
    async with runtime.sessions() as session:
        assert await queries.votes_of(session, TEAM, draft_id) == {"U1": 2}


async def test_a_failed_draft_can_be_retried_once_the_provider_is_back(
    settings: Settings, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    provider = FlakyProvider(down=True)
    limited = settings.model_copy(update={"job_max_attempts": 2})
    runtime = await build_runtime(limited, publisher=publisher, provider=provided(provider), clock=clock)
    try:
        draft_id = await new_draft(runtime, "a lantern for avatar --n 2")
        await drain(runtime, clock)
        assert await status(runtime, draft_id) == "failed"

        refused = await runtime.drafts.retries.retry(team_id=TEAM, draft_id=draft_id, user="U1")
        assert isinstance(refused, Refusal) and refused.code == "not_requester_or_approver"
        provider.down = False
        assert isinstance(await runtime.drafts.retries.retry(team_id=TEAM, draft_id=draft_id, user=REQ), Done)
        await drain(runtime, clock)
        assert await status(runtime, draft_id) == "voting"
        assert sorted(n for (d, t, n) in publisher.images if d == draft_id and t is Tier.EXPLORE) == [1, 2]
        again = await runtime.drafts.retries.retry(team_id=TEAM, draft_id=draft_id, user=REQ)
        assert isinstance(again, Refusal) and again.code == "wrong_status"
        kinds = [row["kind"] async for row in audit.events(runtime.sessions, draft_id=draft_id)]
        assert kinds.count("retried") == 1 and kinds.count("voting_opened") == 1
    finally:
        await runtime.aclose()


async def test_a_failed_review_is_retried_at_2k(
    settings: Settings, publisher: RecordingPublisher, clock: FakeClock
) -> None:
    provider = FlakyProvider()
    limited = settings.model_copy(update={"job_max_attempts": 2})
    runtime = await build_runtime(limited, publisher=publisher, provider=provided(provider), clock=clock)
    try:
        draft_id = await new_draft(runtime, "a comet for banner --n 1")
        await drain(runtime, clock)
        provider.down = True
        assert isinstance(
            await runtime.drafts.decisions.request_upgrade(team_id=TEAM, draft_id=draft_id, user=REQ), Done
        )
        await drain(runtime, clock)
        assert await status(runtime, draft_id) == "failed"
        provider.down = False
        assert isinstance(await runtime.drafts.retries.retry(team_id=TEAM, draft_id=draft_id, user=REQ), Done)
        await drain(runtime, clock)
        assert await status(runtime, draft_id) == "reviewing"
        assert (draft_id, Tier.REVIEW, 1) in publisher.images
    finally:
        await runtime.aclose()


async def test_every_status_change_goes_through_the_state_machine(runtime: Runtime, clock: FakeClock) -> None:
    from bot.drafts import move_draft
    from bot.errors import IllegalTransition
    from bot.workflow import DraftStatus

    draft_id = await new_draft(runtime, "a bell for feed post --n 1")
    await drain(runtime, clock)
    async with runtime.sessions.begin() as session:
        draft = await queries.get_draft(session, TEAM, draft_id)
        assert draft is not None
        with pytest.raises(IllegalTransition):  # voting cannot jump to final
            await move_draft(session, draft, DraftStatus.VOTING, DraftStatus.FINAL)
        assert not await move_draft(
            session, draft, DraftStatus.REVIEWING, DraftStatus.APPROVED
        )  # not reviewing
    assert await status(runtime, draft_id) == "voting"
