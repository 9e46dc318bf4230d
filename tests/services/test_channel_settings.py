"""Channel settings through the services (no Slack): stored per team and channel with a `settings_changed`
audit (before and after), refused and audited for anyone but admins and owners, and acted on: the next
draft in the channel takes its defaults and brand notes (another channel does not), and its approvals
follow the channel's approvers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.channel_settings import FormInput
from bot.drafts import Done
from bot.drafts.settings import ChannelSettingsService, Invalid, Saved
from bot.runtime import Runtime
from bot.slack_directory import SlackDirectory
from bot.workflow import Refusal
from storage import queries
from storage.models import AuditEvent
from tests.conftest import FakeClock, drain
from tests.services.test_service_flow import request

TEAM, CHANNEL, OTHER = "T1", "C1", "C2"
ADMIN, OWNER, REQ = "UADMIN", "UOWNER", "UREQ"


class Admins(SlackDirectory):
    """Slack's answer to "is this person an admin", for a runtime that has no Slack."""

    async def is_admin(self, team: str, user: str) -> bool:
        return user == ADMIN


def service(runtime: Runtime) -> ChannelSettingsService:
    return ChannelSettingsService(runtime.sessions, Admins(None), providers=("local",))


async def events(runtime: Runtime, kind: str) -> list[AuditEvent]:
    async with runtime.sessions() as session:
        found = await session.scalars(
            select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)
        )
        return list(found)


async def draft_in(runtime: Runtime, channel: str, text: str) -> int:
    return await runtime.drafts.intake.create_draft(
        team_id=TEAM, channel_id=channel, requester=REQ, request=request(text), command_text=text
    )


async def test_settings_are_stored_and_audited_before_and_after(runtime: Runtime) -> None:
    settings = service(runtime)
    first = await settings.save(TEAM, CHANNEL, ADMIN, FormInput(owners=(OWNER,), default_variants="2"))
    assert isinstance(first, Saved)
    second = await settings.save(TEAM, CHANNEL, OWNER, FormInput(owners=(OWNER,), brand_notes="matte"))
    assert isinstance(second, Saved)
    stored = await settings.values(TEAM, CHANNEL)
    assert stored is not None and stored.brand_notes == "matte" and stored.default_variants is None
    assert await settings.values(TEAM, OTHER) is None  # per channel
    changed = await events(runtime, "settings_changed")
    assert [e.actor for e in changed] == [ADMIN, OWNER]
    assert changed[0].details["before"] is None and changed[0].details["after"]["default_variants"] == 2
    assert changed[1].details["before"]["default_variants"] == 2
    assert changed[1].details["after"]["brand_notes"] == "matte"
    assert changed[1].details["channel"] == CHANNEL


async def test_invalid_values_change_nothing_and_name_their_fields(runtime: Runtime) -> None:
    outcome = await service(runtime).save(
        TEAM, CHANNEL, ADMIN, FormInput(default_variants="12", vote_window="soon", monthly_budget_usd="-1")
    )
    assert isinstance(outcome, Invalid)
    assert set(outcome.errors) == {"default_variants", "vote_window", "monthly_budget_usd"}
    assert await service(runtime).values(TEAM, CHANNEL) is None
    assert await events(runtime, "settings_changed") == []


async def test_anyone_else_is_refused_and_the_refusal_is_audited(runtime: Runtime) -> None:
    settings = service(runtime)
    assert isinstance(await settings.save(TEAM, CHANNEL, "UNOBODY", FormInput(brand_notes="x")), Refusal)
    refusal = await settings.may_change(TEAM, CHANNEL, "UNOBODY")
    assert refusal is not None and refusal.code == "not_settings_owner"
    assert await settings.may_change(TEAM, CHANNEL, ADMIN) is None
    refused = await events(runtime, "action_refused")
    assert [(e.actor, e.details["action"], e.details["channel"]) for e in refused] == [
        ("UNOBODY", "settings", CHANNEL),
        ("UNOBODY", "settings", CHANNEL),
    ]
    assert await settings.values(TEAM, CHANNEL) is None


async def test_the_next_draft_takes_the_channels_defaults_and_brand_notes(
    runtime: Runtime, clock: FakeClock
) -> None:
    form = FormInput(default_variants="2", vote_window="2h", brand_notes="matte, warm orange accents")
    assert isinstance(await service(runtime).save(TEAM, CHANNEL, ADMIN, form), Saved)
    here = await draft_in(runtime, CHANNEL, "a fox for feed post")
    typed = await draft_in(runtime, CHANNEL, "a fox for feed post --n 3 --vote off")
    elsewhere = await draft_in(runtime, OTHER, "a fox for feed post")
    async with runtime.sessions() as session:
        drafts = {d: await queries.get_draft(session, TEAM, d) for d in (here, typed, elsewhere)}
    assert drafts[here] and drafts[typed] and drafts[elsewhere]
    assert drafts[here].n_variants == 2 and drafts[here].vote_deadline == clock() + timedelta(hours=2)
    assert drafts[typed].n_variants == 3 and drafts[typed].vote_deadline is None  # typed options win
    assert drafts[here].brand_notes == "matte, warm orange accents"
    assert drafts[elsewhere].n_variants == 4 and drafts[elsewhere].brand_notes is None
    await drain(runtime, clock)
    made = [(e.draft_id, e.details.get("brand_notes")) for e in await events(runtime, "generation")]
    assert (here, "matte, warm orange accents") in made and (elsewhere, None) in made
    assert all(notes is None for draft_id, notes in made if draft_id == elsewhere)


async def test_approvals_follow_the_channels_approvers(runtime: Runtime, clock: FakeClock) -> None:
    form = FormInput(approvers=("UCHANNEL",), self_approval="no")
    assert isinstance(await service(runtime).save(TEAM, CHANNEL, ADMIN, form), Saved)
    here = await draft_in(runtime, CHANNEL, "a fox for feed post --n 1")
    elsewhere = await draft_in(runtime, OTHER, "a fox for feed post --n 1")
    await drain(runtime, clock)
    decisions = runtime.drafts.decisions
    for draft_id in (here, elsewhere):
        assert isinstance(await decisions.request_upgrade(team_id=TEAM, draft_id=draft_id, user=REQ), Done)
    await drain(runtime, clock)
    stranger = await decisions.approve(team_id=TEAM, draft_id=here, user="USTRANGER")
    assert isinstance(stranger, Refusal)
    assert isinstance(await decisions.approve(team_id=TEAM, draft_id=here, user=REQ), Refusal)  # no self
    assert isinstance(await decisions.approve(team_id=TEAM, draft_id=here, user="UCHANNEL"), Done)
    # The workspace's policy (no approvers named: anyone) still holds in the other channel.
    assert isinstance(await decisions.approve(team_id=TEAM, draft_id=elsewhere, user="USTRANGER"), Done)


async def test_a_group_without_slack_resolves_to_nobody(runtime: Runtime, clock: FakeClock) -> None:
    form = FormInput(approver_groups="S0LEADS")
    assert isinstance(await service(runtime).save(TEAM, CHANNEL, ADMIN, form), Saved)
    draft_id = await draft_in(runtime, CHANNEL, "a fox for feed post --n 1")
    await drain(runtime, clock)
    await runtime.drafts.decisions.request_upgrade(team_id=TEAM, draft_id=draft_id, user=REQ)
    await drain(runtime, clock)
    for user in (REQ, "UANYONE"):
        assert isinstance(
            await runtime.drafts.decisions.approve(team_id=TEAM, draft_id=draft_id, user=user), Refusal
        )
