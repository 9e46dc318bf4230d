"""Channel settings over Slack's wire: `/draft settings` opens the form for a workspace admin and refuses
anyone else privately (audited); invalid values come back beside their fields; a user group as approvers
lets its members approve and refuses the rest, and a change of its members applies once the cache time
has passed; brand notes reach the provider's prompt (the loopback OpenAI fake) in their channel only, and
show on the parent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot import blocks
from bot.slack_directory import GROUP_TTL_SECONDS
from storage import queries
from storage.models import AuditEvent
from tests.conftest import FakeClock
from tests.slack_harness import ALICE, BOB, CAROL, CHANNEL, DAVE, Wire, running_bot, start_draft, wait_for
from tests.wire.test_status_and_history import ask
from tests.wire.test_studio_review import TEAM, bot_drawing_with, reviewed, text_of

OTHER = "C0OTHER"
NOTES = "matte, warm orange accents, no text, no people"


async def settings_form(wire: Wire, user: str) -> Any:
    response = await wire.command(user, "settings")
    assert response.status_code == 200
    return await wait_for(lambda: wire.fake.state.open_views_for(user)[-1], what="the settings form")


async def submit(wire: Wire, user: str, view: Any, fields: dict[str, Any]) -> Any:
    """Fill in ``fields`` (block id -> text, a chosen option's value, or a list of users) and submit."""
    values: dict[str, Any] = {}
    for block in view.view["blocks"]:
        if block.get("type") != "input" or block["block_id"] not in fields:
            continue
        kind, value = block["element"]["type"], fields[block["block_id"]]
        state: dict[str, Any] = {"type": kind}
        if kind in ("static_select", "radio_buttons"):
            state["selected_option"] = {"value": value}
        elif kind == "multi_users_select":
            state["selected_users"] = value
        else:
            state["value"] = value
        values[block["block_id"]] = {block["element"]["action_id"]: state}
    return await wire.delivery.send_view_submission(user, view.id, values)


async def audit(wire: Wire, kind: str) -> list[AuditEvent]:
    async with wire.runtime.sessions() as session:
        return list(await session.scalars(select(AuditEvent).where(AuditEvent.kind == kind)))


async def test_the_form_refuses_non_admins_and_shows_invalid_values_beside_their_fields(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path / "data") as wire:
        refused = await wire.command(BOB, "settings")
        assert (
            "Only a workspace admin" in refused.text and "Only a workspace admin" in wire.ephemerals(BOB)[-1]
        )
        assert not wire.fake.state.open_views_for(BOB)
        assert [(e.actor, e.details["action"]) for e in await audit(wire, "action_refused")] == [
            (BOB, "settings")
        ]

        wire.fake.state.set_admin(DAVE)
        form = await settings_form(wire, DAVE)
        bad = await submit(
            wire,
            DAVE,
            form,
            {
                "default_variants": "12",
                "monthly_budget_usd": "-3",
                "brand_notes": "x" * 600,
                "vote_window": "2x",
            },
        )
        answer = bad.json()
        assert answer["response_action"] == "errors"
        assert set(answer["errors"]) == {
            "default_variants",
            "monthly_budget_usd",
            "brand_notes",
            "vote_window",
        }
        assert form.id in {v.id for v in wire.fake.state.open_views_for(DAVE)}  # it stays open
        assert await audit(wire, "settings_changed") == []

        good = await submit(
            wire,
            DAVE,
            form,
            {
                "owners": [BOB],
                "default_variants": "2",
                "self_approval": "yes",
                "default_destination": "feed-post",
            },
        )
        assert good.status_code == 200 and not good.content.strip(b" {}")  # closes the form
        async with wire.runtime.sessions() as session:
            stored = await queries.channel_settings(session, TEAM, CHANNEL)
        assert stored is not None and stored.owners == [BOB] and stored.default_variants == 2
        assert stored.allow_self_approval is True and stored.default_destination == "feed-post"
        (changed,) = await audit(wire, "settings_changed")
        assert changed.actor == DAVE and changed.details["after"]["owners"] == [BOB]

        # Bob is an owner of the channel now: he may open the form, filled with what it sets.
        mine = await settings_form(wire, BOB)
        fields = {b["block_id"]: b["element"] for b in mine.view["blocks"] if b["type"] == "input"}
        assert fields["owners"]["initial_users"] == [BOB]
        assert fields["default_variants"]["initial_value"] == "2"

        # The channel's defaults: a prompt without "for …" goes to its destination, with its number.
        draft_id = await start_draft(wire, "a matte black water bottle", n=2)
        async with wire.runtime.sessions() as session:
            draft = await queries.get_draft(session, TEAM, draft_id)
        assert draft is not None and draft.destination_key == "feed-post" and draft.n_variants == 2
        assert "Drafting 2 variants for *feed post*" in wire.ephemerals(ALICE)[-1]


async def test_a_user_group_approves_and_a_change_of_its_members_applies_after_the_cache_time(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    async with running_bot(tmp_path / "data", clock=clock) as wire:
        group = wire.fake.state.add_usergroup("design-leads", [BOB])
        wire.fake.state.set_admin(ALICE)
        form = await settings_form(wire, ALICE)
        saved = await submit(
            wire, ALICE, form, {"approver_groups": "@design-leads", "required_approvals": "2"}
        )
        assert saved.status_code == 200 and "errors" not in saved.text
        async with wire.runtime.sessions() as session:
            stored = await queries.channel_settings(session, TEAM, CHANNEL)
        assert stored is not None and stored.approver_groups == [group.id]

        draft_id, review = await reviewed(wire, "a matte black water bottle for feed post")
        # /draft status says the review waits on this channel's approvers (the group), not the workspace's.
        status = await ask(wire, CAROL, f"status #{draft_id}")
        assert f"*Waits on:* <@{BOB}> (2 more approvals; 0 of 2 approvals)" in status, status
        await wire.press(CAROL, review, blocks.APPROVE)  # not in the group
        await wire.press(DAVE, review, blocks.APPROVE)  # the workspace's approver, not this channel's
        await wait_for(lambda: len(wire.ephemerals(DAVE)) and wire.ephemerals(CAROL), what="the refusals")
        assert "approver" in wire.ephemerals(CAROL)[-1].lower()
        await wire.press(BOB, review, blocks.APPROVE)  # a member
        await wait_for(
            lambda: "1 of 2 so far: <@U0BOB>" in text_of(wire.versions(draft_id)[(1, 1)]), what="1/2"
        )

        wire.fake.state.set_usergroup_members(group.id, [BOB, CAROL])
        clock.advance(GROUP_TTL_SECONDS / 2)  # within the cache time: Carol is not a member yet
        before = len(wire.ephemerals(CAROL))
        await wire.press(CAROL, review, blocks.APPROVE)
        await wait_for(lambda: len(wire.ephemerals(CAROL)) > before, what="Carol's second refusal")
        assert not wire.images(draft_id, "4K")

        clock.advance(GROUP_TTL_SECONDS)
        await wire.press(CAROL, review, blocks.APPROVE)
        await wait_for(lambda: wire.images(draft_id, "4K").get(1), within=60, what="the 4K final")
        approved = [e.actor for e in await audit(wire, "approved")]
        assert approved == [BOB, CAROL]


async def test_brand_notes_reach_the_prompt_in_their_channel_only(tmp_path: Path) -> None:
    async with bot_drawing_with("openai", tmp_path / "data") as (wire, api):
        wire.fake.state.set_admin(DAVE)
        wire.fake.state.add_channel(OTHER, "campaigns")
        form = await settings_form(wire, DAVE)
        fields = {b["block_id"]: b["element"] for b in form.view["blocks"] if b["type"] == "input"}
        assert [o["value"] for o in fields["provider"]["options"]] == ["workspace", "local", "openai"]
        assert (await submit(wire, DAVE, form, {"brand_notes": NOTES})).status_code == 200

        draft_id = await start_draft(wire, "a matte black water bottle for feed post --n 1", n=1)
        prompt = str(api.requests[-1].fields["prompt"])
        assert (
            prompt.startswith("a matte black water bottle")
            and f"Brand notes for this channel: {NOTES}" in prompt
        )
        assert f"Brand notes: {NOTES}" in json.dumps(wire.parent(draft_id).blocks)
        made = [e for e in await audit(wire, "generation") if e.draft_id == draft_id]
        assert made and all(e.details["brand_notes"] == NOTES for e in made)

        sent = len(api.requests)
        await wire.delivery.send_slash_command(ALICE, OTHER, "a matte black water bottle for feed post --n 1")
        await wait_for(lambda: len(api.requests) > sent, within=60, what="the other channel's variant")
        assert "Brand notes" not in str(api.requests[-1].fields["prompt"])


async def test_the_settings_button_opens_the_form_only_for_those_allowed(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "data") as wire:
        button = {"type": "button", "text": {"type": "plain_text", "text": "Settings"}}
        message = wire.fake.state.post_message(
            CHANNEL,
            user=wire.bot_user,
            text="over budget",
            blocks=[
                {
                    "type": "actions",
                    "elements": [{**button, "action_id": blocks.SETTINGS_OPEN, "value": CHANNEL}],
                }
            ],
        )
        await wire.press(CAROL, message, blocks.SETTINGS_OPEN)
        await wait_for(lambda: wire.ephemerals(CAROL), what="Carol's refusal")
        assert "Only a workspace admin" in wire.ephemerals(CAROL)[-1]
        assert not wire.fake.state.open_views_for(CAROL)
        assert [e.actor for e in await audit(wire, "action_refused")] == [CAROL]

        wire.fake.state.set_admin(CAROL)
        await wire.press(CAROL, message, blocks.SETTINGS_OPEN)
        form = await wait_for(lambda: wire.fake.state.open_views_for(CAROL)[-1], what="the settings form")
        assert form.view["callback_id"] == blocks.SETTINGS_MODAL and form.view["private_metadata"] == CHANNEL
