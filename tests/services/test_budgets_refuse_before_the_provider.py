"""Budgets, through the service layer with the OpenAI provider's prices (the loopback OpenAI fake): what
would pass a monthly budget is refused with the figures before any provider call, the refusal is in the
audit trail, and a raised budget lets it through. Spend is the sum of the trail's cost estimates.

gpt-image-2 at medium: a 1:1 1K is $0.053, a 2K $0.212, a 4K (asked at 2880²) about $0.42.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot import audit
from bot.audit import AuditKind
from bot.budgets import Month
from bot.config import Settings
from bot.drafts import Done
from bot.errors import OverBudget
from bot.publisher import RecordingPublisher
from bot.runtime import Runtime, build_runtime
from bot.tiers import Ratio, Tier
from bot.workflow import Refusal, RoundReason
from fakes.asgi import serve_asgi
from fakes.openai import FakeOpenAI
from storage.models import AuditEvent, ChannelSettings, utcnow
from tests.conftest import FakeClock, drain
from tests.services.test_service_flow import CHANNEL, REQ, TEAM, new_draft, request, status, variant_ts, vote

SQUARE = Ratio(1, 1)
APPROVER = "UAPP"


@pytest.fixture
async def openai() -> AsyncIterator[tuple[FakeOpenAI, str]]:
    api = FakeOpenAI()
    async with serve_asgi(api) as url:
        yield api, f"{url}/v1"


@asynccontextmanager
async def drawing(
    settings: Settings,
    openai: tuple[FakeOpenAI, str],
    publisher: RecordingPublisher,
    clock: FakeClock,
    **more: Any,
) -> AsyncIterator[Runtime]:
    api, base = openai
    update = {
        "provider": "openai",
        "openai_api_key": SecretStr(api.api_key),
        "openai_base_url": base,
        "approvers": frozenset({APPROVER}),
        **more,
    }
    rt = await build_runtime(settings.model_copy(update=update), publisher=publisher, clock=clock)
    try:
        yield rt
    finally:
        await rt.aclose()


async def refusals(runtime: Runtime, kind: AuditKind) -> list[dict[str, Any]]:
    async with runtime.sessions() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)
        )
        return [row.details for row in rows.all() if row.details.get("code") == "over_budget"]


async def new_round(runtime: Runtime, draft_id: int, size: int) -> Done | Refusal:
    result = await runtime.drafts.rounds.start(
        team_id=TEAM, draft_id=draft_id, user=REQ, reason=RoundReason.NEW_ROUND, size=size
    )
    assert isinstance(result, Done | Refusal)
    return result


async def set_channel_budget(runtime: Runtime, usd: float, channel: str = CHANNEL) -> None:
    """What the settings form writes (tested by its own engineer's tests)."""
    async with runtime.sessions.begin() as session:
        row = await session.scalar(
            select(ChannelSettings).where(
                ChannelSettings.team_id == TEAM, ChannelSettings.channel_id == channel
            )
        )
        if row is None:
            session.add(ChannelSettings(team_id=TEAM, channel_id=channel, monthly_budget_usd=usd))
        else:
            row.monthly_budget_usd = usd


async def test_a_workspace_budget_refuses_the_round_that_would_pass_it_with_no_provider_call(
    settings: Settings, openai: tuple[FakeOpenAI, str], publisher: RecordingPublisher, clock: FakeClock
) -> None:
    api, _ = openai
    async with drawing(settings, openai, publisher, clock, monthly_budget_usd=0.10) as rt:
        assert rt.budgets.providers.estimate_usd(None, None, SQUARE, Tier.EXPLORE) == pytest.approx(0.053)
        draft_id = await new_draft(rt, "a glass teapot for feed post --n 1")
        await drain(rt, clock)
        assert len(api.requests) == 1 and await status(rt, draft_id) == "voting"

        refused = await new_round(rt, draft_id, 1)
        assert isinstance(refused, Refusal) and refused.code == "over_budget"
        assert refused.reason.startswith(
            "This variant costs about $0.05; $0.05 of the workspace's $0.10 is left this month"
        )
        await drain(rt, clock)
        assert len(api.requests) == 1  # nothing queued, nothing asked of the provider
        assert await status(rt, draft_id) == "voting"
        [audited] = await refusals(rt, AuditKind.ACTION_REFUSED)
        assert audited["action"] == "new_round" and audited["reason"] == refused.reason

        with pytest.raises(OverBudget) as over:  # a /draft too: nothing stored but the refusal
            await new_draft(rt, "a glass teapot for feed post --n 2")
        assert over.value.message.startswith("These 2 variants cost about $0.11; $0.05 of the workspace's")
        assert over.value.channel == CHANNEL
        [rejected] = await refusals(rt, AuditKind.INPUT_REJECTED)
        assert rejected["reason"] == over.value.message and rejected["channel"] == CHANNEL

    async with drawing(settings, openai, publisher, clock, monthly_budget_usd=0.20) as rt:  # raised
        assert isinstance(await new_round(rt, draft_id, 1), Done)
        await drain(rt, clock)
        assert len(api.requests) == 2


async def test_a_channel_budget_refuses_the_round_that_would_pass_it_and_raising_it_lets_it_through(
    settings: Settings, openai: tuple[FakeOpenAI, str], publisher: RecordingPublisher, clock: FakeClock
) -> None:
    api, _ = openai
    async with drawing(settings, openai, publisher, clock) as rt:
        await set_channel_budget(rt, 1.0)
        draft_id = await new_draft(rt, "a glass teapot for feed post --n 4")  # $0.212
        await drain(rt, clock)
        for _ in range(3):  # $0.424, $0.636, $0.848
            assert isinstance(await new_round(rt, draft_id, 4), Done)
            await drain(rt, clock)
        assert len(api.requests) == 16

        refused = await new_round(rt, draft_id, 4)  # $1.06 would pass $1
        assert isinstance(refused, Refusal) and refused.code == "over_budget"
        assert refused.reason.startswith(
            f"These 4 variants cost about $0.21; $0.15 of <#{CHANNEL}>'s $1 is left"
        )
        await drain(rt, clock)
        assert len(api.requests) == 16
        [audited] = await refusals(rt, AuditKind.ACTION_REFUSED)
        assert audited["reason"] == refused.reason

        # Another channel has no budget of its own: drafting there goes on.
        other = await rt.drafts.intake.create_draft(
            team_id=TEAM,
            channel_id="C2",
            requester=REQ,
            request=request("a mug for feed post --n 1"),
            command_text="",
        )
        await drain(rt, clock)
        assert await status(rt, other) == "voting" and len(api.requests) == 17

        await set_channel_budget(rt, 2.0)
        assert isinstance(await new_round(rt, draft_id, 4), Done)
        await drain(rt, clock)
        assert len(api.requests) == 21


async def test_upgrades_and_approvals_are_checked_at_their_own_tiers(
    settings: Settings, openai: tuple[FakeOpenAI, str], publisher: RecordingPublisher, clock: FakeClock
) -> None:
    api, _ = openai
    async with drawing(settings, openai, publisher, clock) as rt:
        decisions = rt.drafts.decisions
        await set_channel_budget(rt, 0.25)
        draft_id = await new_draft(rt, "a glass teapot for feed post --n 1")  # $0.053
        await drain(rt, clock)
        await vote(rt, (await variant_ts(rt, draft_id))[1], "U1")
        refused = await decisions.request_upgrade(team_id=TEAM, draft_id=draft_id, user=REQ)  # 2K: $0.212
        assert isinstance(refused, Refusal) and "The 2K review costs about $0.21" in refused.reason
        assert await status(rt, draft_id) == "voting" and len(api.requests) == 1

        await set_channel_budget(rt, 0.5)
        assert isinstance(await decisions.request_upgrade(team_id=TEAM, draft_id=draft_id, user=REQ), Done)
        await drain(rt, clock)
        assert len(api.requests) == 2
        refused = await decisions.approve(team_id=TEAM, draft_id=draft_id, user=APPROVER)  # 4K: ~$0.42
        assert isinstance(refused, Refusal) and "The 4K final costs about $0.42" in refused.reason
        assert await status(rt, draft_id) == "reviewing" and len(api.requests) == 2
        async with rt.sessions() as session:
            assert not (
                await session.scalars(select(AuditEvent).where(AuditEvent.kind == AuditKind.APPROVED))
            ).all()

        await set_channel_budget(rt, 1.0)
        assert isinstance(await decisions.approve(team_id=TEAM, draft_id=draft_id, user=APPROVER), Done)
        await drain(rt, clock)
        assert await status(rt, draft_id) == "final" and len(api.requests) == 3


async def test_spend_is_the_sum_of_the_audit_trails_cost_estimates(
    settings: Settings, openai: tuple[FakeOpenAI, str], publisher: RecordingPublisher, clock: FakeClock
) -> None:
    async with drawing(settings, openai, publisher, clock, monthly_budget_usd=50.0) as rt:
        await set_channel_budget(rt, 5.0)
        first = await new_draft(rt, "a glass teapot for feed post --n 3")
        second = await rt.drafts.intake.create_draft(
            team_id=TEAM,
            channel_id="C2",
            requester="UANN",
            request=request("a mug for website hero --n 2"),
            command_text="",
        )
        await drain(rt, clock)
        await vote(rt, (await variant_ts(rt, first))[2], "U1")
        assert isinstance(
            await rt.drafts.decisions.request_upgrade(team_id=TEAM, draft_id=first, user=REQ), Done
        )
        await drain(rt, clock)
        assert isinstance(
            await rt.drafts.decisions.approve(team_id=TEAM, draft_id=first, user=APPROVER), Done
        )
        await drain(rt, clock)
        assert await status(rt, second) == "voting" and await status(rt, first) == "final"

        made = [row async for row in audit.events(rt.sessions, team_id=TEAM)]
        costs = [row["details"]["cost_estimate_usd"] for row in made if row["kind"] == "generation"]
        report = await rt.spend.report(TEAM)
        assert report.month == Month.of(utcnow())
        assert report.total.usd == pytest.approx(sum(costs)) and len(costs) == 7
        assert report.total.images == {"1K": 5, "2K": 1, "4K": 1}
        assert set(report.by_channel) == {CHANNEL, "C2"} and set(report.by_person) == {REQ, "UANN"}
        assert report.by_channel["C2"].images == {"1K": 2}
        assert report.by_person[REQ].usd + report.by_person["UANN"].usd == pytest.approx(sum(costs))
        assert report.workspace_usd == 50.0 and report.channel_budgets == {CHANNEL: 5.0}
        empty = await rt.spend.report(TEAM, Month(2026, 1))
        assert empty.total.usd == 0 and not empty.by_channel
        # The App Home's Spend: each channel the person drafts in, all its spend, against its budget.
        [(channel, total, budget)] = await rt.spend.of_person(TEAM, "UANN")
        assert (channel, budget) == ("C2", None) and total == report.by_channel["C2"]
        mine = {c: (t.usd, b) for c, t, b in await rt.spend.of_person(TEAM, REQ)}
        assert mine == {CHANNEL: (pytest.approx(report.by_channel[CHANNEL].usd), 5.0)}


async def test_a_channel_draws_with_its_own_provider_and_quality_chosen_when_it_was_drafted(
    settings: Settings, openai: tuple[FakeOpenAI, str], publisher: RecordingPublisher, clock: FakeClock
) -> None:
    api, _ = openai
    async with drawing(settings, openai, publisher, clock) as rt:
        assert set(rt.providers.by_name) == {"openai", "local"} and rt.providers.default == "openai"
        async with rt.sessions.begin() as session:
            session.add(ChannelSettings(team_id=TEAM, channel_id="CBRAIN", provider="local"))
            session.add(ChannelSettings(team_id=TEAM, channel_id="CCHEAP", quality="low"))
        brainstorm = await rt.drafts.intake.create_draft(
            team_id=TEAM,
            channel_id="CBRAIN",
            requester=REQ,
            request=request("ideas for feed post --n 2"),
            command_text="",
        )
        cheap = await rt.drafts.intake.create_draft(
            team_id=TEAM,
            channel_id="CCHEAP",
            requester=REQ,
            request=request("a mug for feed post --n 1"),
            command_text="",
        )
        async with rt.sessions.begin() as session:  # a later change of the settings is not this draft's
            row = await session.scalar(select(ChannelSettings).where(ChannelSettings.channel_id == "CCHEAP"))
            assert row is not None
            row.quality = "high"
        await drain(rt, clock)
        assert await status(rt, brainstorm) == "voting" and await status(rt, cheap) == "voting"
        assert [r.fields["quality"] for r in api.requests] == ["low"]  # the local renderer drew the others
        made = [row async for row in audit.events(rt.sessions, team_id=TEAM) if row["kind"] == "generation"]
        by_draft = {
            (row["draft_id"], row["details"]["provider"], round(row["details"]["cost_estimate_usd"], 4))
            for row in made
        }
        assert by_draft == {(brainstorm, "local", 0.0), (cheap, "openai", 0.006)}


async def test_what_is_on_its_way_counts_against_the_budget_before_it_is_made(
    settings: Settings, openai: tuple[FakeOpenAI, str], publisher: RecordingPublisher, clock: FakeClock
) -> None:
    api, _ = openai
    async with drawing(settings, openai, publisher, clock, monthly_budget_usd=0.10) as rt:
        await new_draft(rt, "a glass teapot for feed post --n 1")  # $0.053, queued, nothing spent yet
        with pytest.raises(OverBudget, match=r"^This variant costs about \$0.05; \$0.05 of the workspace's"):
            await new_draft(rt, "a glass teapot for feed post --n 1")
        await drain(rt, clock)
        assert len(api.requests) == 1
        assert isinstance(await new_round(rt, 1, 1), Refusal)  # spent $0.053: another $0.053 is too much


async def test_a_cancelled_drafts_queued_images_are_not_counted(
    settings: Settings, openai: tuple[FakeOpenAI, str], publisher: RecordingPublisher, clock: FakeClock
) -> None:
    api, _ = openai
    async with drawing(settings, openai, publisher, clock, monthly_budget_usd=0.10) as rt:
        first = await new_draft(rt, "a glass teapot for feed post --n 1")
        assert isinstance(await rt.drafts.decisions.cancel(team_id=TEAM, draft_id=first, user=REQ), Done)
        second = await new_draft(rt, "a glass teapot for feed post --n 1")
        await drain(rt, clock)
        assert await status(rt, second) == "voting" and len(api.requests) == 1


async def test_a_misconfigured_provider_nobody_chose_does_not_stop_the_bot(settings: Settings) -> None:
    keyed = settings.model_copy(update={"openai_api_key": SecretStr("sk-x"), "openai_model": " "})
    rt = await build_runtime(keyed, publisher=RecordingPublisher())
    try:
        assert set(rt.providers.by_name) == {"local"} and rt.providers.default == "local"
    finally:
        await rt.aclose()


async def test_retry_is_a_generation_too_and_is_checked_against_the_budget(
    settings: Settings, openai: tuple[FakeOpenAI, str], publisher: RecordingPublisher, clock: FakeClock
) -> None:
    api, _ = openai
    async with drawing(settings, openai, publisher, clock, job_max_attempts=1) as rt:
        spent = await new_draft(rt, "a glass teapot for feed post --n 1")
        await drain(rt, clock)
        api.fail_next(503, message="The server is overloaded.")
        failed = await new_draft(rt, "a copper kettle for feed post --n 1")
        await drain(rt, clock)
        assert await status(rt, spent) == "voting" and await status(rt, failed) == "failed"
        await set_channel_budget(rt, 0.08)  # $0.053 spent: the retry's $0.053 would pass it
        refused = await rt.drafts.retries.retry(team_id=TEAM, draft_id=failed, user=REQ)
        assert isinstance(refused, Refusal) and refused.code == "over_budget"
        await drain(rt, clock)
        assert await status(rt, failed) == "failed" and len(api.requests) == 2
        await set_channel_budget(rt, 1.0)
        assert isinstance(await rt.drafts.retries.retry(team_id=TEAM, draft_id=failed, user=REQ), Done)
        await drain(rt, clock)
        assert await status(rt, failed) == "voting"
