"""The App Home over the wire: a signed ``app_home_opened`` publishes the person's Home through
``views.publish``; what waits for them is theirs alone; its buttons act like the thread's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot import blocks
from bot.blocks.home import HOME_PAGE
from fakes.slack.state.records import ViewRecord
from storage.models import AuditEvent
from tests.slack_harness import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    Wire,
    running_bot,
    shown_tally,
    start_draft,
    wait_for,
)
from tests.wire.test_status_and_history import old_drafts


def home_of(wire: Wire, user: str) -> ViewRecord | None:
    return next((v for v in wire.fake.state.views.values() if v.type == "home" and v.user_id == user), None)


def section_texts(view: ViewRecord, title: str) -> list[str]:
    """The texts of the blocks under the section ``title``, up to the next divider."""
    found: list[str] = []
    inside = False
    for block in view.view["blocks"]:
        if block["type"] == "divider":
            inside = False
        elif block["type"] == "section" and block["text"]["text"] == f"*{title}*":
            inside = True
        elif inside:
            found.append(json.dumps(block))
    return found


def shown(view: ViewRecord | None) -> str:
    return json.dumps(view.view if view else {}, ensure_ascii=False)


def buttons(view: ViewRecord) -> list[tuple[str, str]]:
    return [
        (element["action_id"], element.get("value", ""))
        for block in view.view["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


async def open_home(wire: Wire, user: str) -> Any:
    response = await wire.delivery.send_event({"type": "app_home_opened", "user": user, "tab": "home"})
    assert response.status_code == 200
    return response


async def reviewing(wire: Wire) -> int:
    draft_id = await start_draft(wire, "a brass lamp on oak for product board --n 2", n=2)
    await wire.react(BOB, wire.images(draft_id)[2])
    # the vote counted before the upgrade is pressed (else it is a tie of no votes, for the requester)
    await wait_for(lambda: shown_tally(wire.parent(draft_id)) == {2: 1}, what="Bob's vote")
    await wire.press(ALICE, wire.parent(draft_id), blocks.UPGRADE, str(draft_id))
    await wait_for(lambda: wire.images(draft_id, "2K").get(2), what="the 2K review")
    return draft_id


async def test_a_review_waits_on_the_approvers_home_only_and_approving_there_makes_the_4k(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path / "data", home_debounce_seconds=0.2) as wire:
        draft_id = await reviewing(wire)
        approve = (blocks.APPROVE, f"{draft_id}:2.1")

        await open_home(wire, DAVE)
        dave = await wait_for(lambda: home_of(wire, DAVE), what="Dave's Home")
        waiting = section_texts(dave, "Waiting for you")
        assert any(f"#{draft_id}" in text and "brass lamp" in text for text in waiting), waiting
        assert approve in buttons(dave)

        for other in (CAROL, ALICE):  # not an approver; the requester, who may not approve their own
            await open_home(wire, other)
            home = await wait_for(lambda u=other: home_of(wire, u), what=f"the Home of {other}")
            assert approve not in buttons(home)
            assert "Nothing waits for you" in "".join(section_texts(home, "Waiting for you"))
        alice = home_of(wire, ALICE)
        assert alice is not None
        mine = "".join(section_texts(alice, "Your drafts"))
        link = f"https://playground.slack.com/archives/{wire.parent(draft_id).channel}/p"
        assert f"#{draft_id}" in mine and link in mine and "in 2K review" in mine

        response = await wire.delivery.send_view_action(DAVE, dave.id, blocks.APPROVE, approve[1])
        assert response.status_code == 200
        await wait_for(lambda: wire.images(draft_id, "4K").get(2), what="the 4K final")
        async with wire.runtime.sessions() as session:
            approvals = list(
                await session.scalars(
                    select(AuditEvent.actor).where(
                        AuditEvent.draft_id == draft_id, AuditEvent.kind == "approved"
                    )
                )
            )
        assert approvals == [DAVE]  # the thread's listener decided it, and audited it

        # The change reaches the Homes that show it, without opening them again.
        await wait_for(
            lambda: (
                approve not in buttons(home_of(wire, DAVE))  # type: ignore[arg-type]
                and "Nothing waits" in "".join(section_texts(home_of(wire, DAVE), "Waiting for you"))
            ),  # type: ignore[arg-type]
            what="Dave's Home without the review",
        )
        finals = await wait_for(
            lambda: (
                "".join(section_texts(home_of(wire, ALICE), "Recent finals in your channels"))  # type: ignore[arg-type]
                if "approved by" in json.dumps(home_of(wire, ALICE).view)  # type: ignore[union-attr]
                else None
            ),
            what="the final on Alice's Home",
        )
        assert f"#{draft_id}" in finals and f"<@{DAVE}>" in finals and "slack_file" in finals

        # A press on a Home has no response URL: a refused one (an Approve pressed again on a Home not
        # yet refreshed) is answered at the top of the person's Home.
        await wire.delivery.send_view_action(DAVE, dave.id, blocks.APPROVE, approve[1])
        told = await wait_for(
            lambda: next(
                (b for b in home_of(wire, DAVE).view["blocks"] if ":information_source:" in json.dumps(b)),  # type: ignore[union-attr]
                None,
            ),
            what="the answer on Dave's Home",
        )
        assert "final" in json.dumps(told).lower() or "approved" in json.dumps(told).lower(), told


async def test_the_requester_is_asked_to_upgrade_on_their_home_and_can(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "data", home_debounce_seconds=0.2) as wire:
        draft_id = await start_draft(wire, "a paper boat for feed post --n 2", n=2)
        await wire.react(BOB, wire.images(draft_id)[1])
        await open_home(wire, ALICE)
        alice = await wait_for(lambda: home_of(wire, ALICE), what="Alice's Home")
        assert (blocks.UPGRADE, str(draft_id)) in buttons(alice)
        await open_home(wire, BOB)
        bob = await wait_for(lambda: home_of(wire, BOB), what="Bob's Home")
        assert (blocks.UPGRADE, str(draft_id)) not in buttons(bob)

        await wire.delivery.send_view_action(ALICE, alice.id, blocks.UPGRADE, str(draft_id))
        await wait_for(lambda: wire.images(draft_id, "2K").get(1), what="the 2K review")


async def test_older_drafts_page_through_the_home(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "data", home_debounce_seconds=0.2) as wire:
        await old_drafts(wire, 25, requester=ALICE, days_ago=1)
        await open_home(wire, ALICE)
        first = await wait_for(lambda: home_of(wire, ALICE), what="Alice's Home")
        assert "Drafts 1–20 of 25" in shown(first)
        assert (HOME_PAGE, "1") in buttons(first) and (HOME_PAGE, "0") not in buttons(first)

        await wire.delivery.send_view_action(ALICE, first.id, HOME_PAGE, "1")
        older = await wait_for(
            lambda: (h := home_of(wire, ALICE)) and "Drafts 21–25 of 25" in shown(h) and h,
            what="the older page",
        )
        assert (HOME_PAGE, "0") in buttons(older) and (HOME_PAGE, "2") not in buttons(older)
        before = older.hash
        await open_home(wire, ALICE)  # opened again later: published again, at the page she chose
        again = await wait_for(
            lambda: (h := home_of(wire, ALICE)) and h.hash != before and h, what="a new publish"
        )
        assert "Drafts 21–25 of 25" in shown(again)
