"""Draft from this image, over the wire: the message shortcut on a person's image opens the /draft form with
the image shown; the draft's first round is made from it. Files that can't be used are said privately and
nothing is drafted."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot import audit, blocks
from fakes.slack import Message
from storage.models import Draft
from tests.slack_harness import ALICE, BOB, CHANNEL, Wire, drafts_in_db, running_bot, wait_for
from tests.wire.test_slack_files import PDF, bomb_png

MB = 1024 * 1024


def png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (235, 235, 230))
    image.paste(Image.new("RGB", (size[0] // 2, size[1] // 2), colour), (size[0] // 4, size[1] // 4))
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
async def wire(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with running_bot(tmp_path / "data") as wire:
        yield wire


def form_of(wire: Wire, user: str) -> Any:
    views = wire.fake.state.open_views_for(user)
    return views[-1] if views else None


async def shortcut(wire: Wire, user: str, message: Message) -> None:
    answer = await wire.delivery.send_message_shortcut(user, CHANNEL, message.ts, blocks.DRAFT_FROM_IMAGE)
    assert answer.status_code == 200


async def test_a_draft_from_a_persons_image(wire: Wire) -> None:
    image = png((800, 600), (200, 40, 30))
    message = await wire.fake.user_upload_file(ALICE, CHANNEL, "bottle.png", image, text="our bottle")
    await shortcut(wire, BOB, message)
    view = await wait_for(
        lambda: (v := form_of(wire, BOB)) and v.view.get("callback_id") == blocks.DRAFT_MODAL and v,
        what="the form with the image",
    )
    assert view.view["blocks"][0]["slack_file"]["id"] == message.files[0]
    assert "800×600" in json.dumps(view.view["blocks"][1], ensure_ascii=False)
    values = {
        "prompt": {"value": {"type": "plain_text_input", "value": "the bottle on wet slate, moody light"}},
        "destination": {"value": {"type": "static_select", "selected_option": {"value": "story"}}},
        "variants": {"value": {"type": "static_select", "selected_option": {"value": "2"}}},
    }
    assert (await wire.delivery.send_view_submission(BOB, view.id, values)).status_code == 200
    parent = await wait_for(lambda: wire.parents()[-1], what="the parent")
    draft_id = int((parent.metadata or {})["event_payload"]["draft_id"])
    await wait_for(lambda: len(wire.images(draft_id)) == 2, within=60, what="two variants")
    assert "Reference is 4:3, drafting 9:16" in json.dumps(wire.parent(draft_id).blocks)
    async with wire.runtime.sessions() as session:
        draft = await session.get(Draft, draft_id)
    assert draft is not None and draft.reference_key and draft.reference_file == message.files[0]
    assert await wire.runtime.blobs.get(draft.reference_key) == image
    rows = [r async for r in audit.events(wire.runtime.sessions, draft_id=draft_id)]
    command = next(r for r in rows if r["kind"] == "command")
    assert command["details"]["reference"]["file"] == message.files[0]
    made = [r for r in rows if r["kind"] == "generation"]
    assert len(made) == 2 and all("reference" in json.dumps(r["details"]) for r in made)


@pytest.mark.parametrize(
    ("name", "data", "padding", "said"),
    [
        ("brief.pdf", PDF, 0, "not an image"),
        ("huge.png", png((64, 48), (10, 10, 200)), 60 * MB, "MB"),
        ("bomb.png", bomb_png(), 0, "image"),
    ],
    ids=["pdf", "60MB", "bomb"],
)
async def test_a_file_that_cant_be_used_is_said_privately_and_nothing_is_drafted(
    wire: Wire, name: str, data: bytes, padding: int, said: str
) -> None:
    message = await wire.fake.user_upload_file(ALICE, CHANNEL, name, data, padding=padding)
    await shortcut(wire, BOB, message)
    told = await wait_for(lambda: wire.ephemerals(BOB)[-1], what="the private answer")
    assert said.lower() in told.lower()
    view = form_of(wire, BOB)
    assert view is None or view.view.get("callback_id") != blocks.DRAFT_MODAL  # no form to submit
    assert await drafts_in_db(wire) == 0


async def test_a_message_without_an_image_and_a_deleted_file(wire: Wire) -> None:
    plain = await wire.fake.user_post_message(ALICE, CHANNEL, "just words")
    await shortcut(wire, BOB, plain)
    await wait_for(lambda: any("image" in t for t in wire.ephemerals(BOB)), what="no image, said")
    assert not wire.fake.state.open_views_for(BOB)
    gone = await wire.fake.user_upload_file(ALICE, CHANNEL, "old.png", png((64, 48), (0, 200, 0)))
    wire.fake.state.delete_file(gone.files[0])
    await shortcut(wire, BOB, gone)
    await wait_for(lambda: len(wire.ephemerals(BOB)) == 2, what="the deleted file, said")
    assert await drafts_in_db(wire) == 0
