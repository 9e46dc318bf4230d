"""The workspace saves and loads itself (Workspace.save / Workspace.load), so the playground resumes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from fakes.slack import ManualClock, SlackError, Workspace
from fakes.slack.state import saved

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 16), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


def busy_workspace() -> Workspace:
    """A workspace with something of every family in it."""
    state = Workspace(clock=ManualClock(1_700_000_000))
    bot = state.bot.id
    state.add_channel("C0PRIVATE", "secret", is_private=True, members=[ALICE, bot])
    parent = state.post_message(
        CHANNEL, user=bot, text="parent", metadata={"event_type": "x", "event_payload": {}}
    )
    state.post_message(CHANNEL, user=ALICE, text="reply", thread_ts=parent.ts)
    state.add_reaction(CHANNEL, parent.ts, "+1", ALICE)
    upload = state.create_upload("variant.png", 100, user=bot, alt_txt="a variant")
    state.receive_upload(upload.id, png())
    state.complete_upload(upload.id, "Variant 1")
    state.mark_scanned(upload.id)
    state.share_files([upload.id], CHANNEL, user=bot, thread_ts=parent.ts)
    state.post_ephemeral(CHANNEL, ALICE, text="only you")
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Draft"}, "blocks": []}
    state.open_view(state.issue_trigger(ALICE), view)
    return state


def test_round_trip_keeps_what_the_page_shows(tmp_path: Path) -> None:
    state = busy_workspace()
    path = tmp_path / "playground" / "workspace.json"
    state.save(path)
    loaded = Workspace.load(path, clock=ManualClock(1_700_000_000))
    assert loaded is not None
    assert loaded.snapshot() == state.snapshot()
    assert loaded.snapshot(user_id=ALICE, since=3) == state.snapshot(user_id=ALICE, since=3)
    [record] = loaded.files.values()
    assert record.content == png() and (record.original_w, record.original_h) == (32, 16)
    assert loaded.channels["C0PRIVATE"].members == {ALICE, state.bot.id}
    json.loads(path.read_text())  # the document is plain JSON; file bytes are beside it
    assert [p.name for p in saved.blob_dir(path).iterdir()] == [saved.dump(state)[0]["files"][0]["content"]]


def test_a_loaded_workspace_carries_on_without_collisions(tmp_path: Path) -> None:
    state = busy_workspace()
    path = tmp_path / "workspace.json"
    state.save(path)
    loaded = Workspace.load(path, clock=ManualClock(1_600_000_000))  # even with a clock gone backwards
    assert loaded is not None
    last = max(m.ts for m in state.channel_messages(CHANNEL).values())
    later = loaded.post_message(CHANNEL, user=ALICE, text="after the restart")
    assert later.ts > last
    assert loaded.version == state.version + 1
    assert loaded.new_id("F") == state.new_id("F")  # the counters went on from where they were
    with pytest.raises(SlackError, match="invalid_trigger_id"):  # triggers are not saved: they expire
        loaded.consume_trigger(next(iter(state.triggers)))


def test_a_capture_is_the_workspace_when_captured(tmp_path: Path) -> None:
    """The playground captures on its loop and writes in a thread: later changes are not in the file."""
    state = busy_workspace()
    write = state.capture()
    expected = state.snapshot()
    state.post_message(CHANNEL, user=ALICE, text="after the capture")
    state.add_reaction(CHANNEL, state.history(CHANNEL)[0].ts, "eyes", ALICE)
    write(tmp_path / "workspace.json")
    loaded = Workspace.load(tmp_path / "workspace.json", clock=ManualClock(1_700_000_000))
    assert loaded is not None and loaded.snapshot() == expected


def test_no_file_loads_nothing(tmp_path: Path) -> None:
    assert Workspace.load(tmp_path / "missing.json") is None


@pytest.mark.parametrize(
    "content",
    [b"\x80\x04 not json", b"[1, 2]", json.dumps({"format": 1, "state": {}}).encode(), b'{"format": 2}'],
)
def test_an_unreadable_file_is_set_aside(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "workspace.json"
    path.write_bytes(content)
    assert Workspace.load(path) is None
    assert not path.exists()
    assert (tmp_path / "workspace.json.unreadable").read_bytes() == content


def test_contents_nothing_refers_to_are_removed(tmp_path: Path) -> None:
    path = tmp_path / "workspace.json"
    stale = saved.blob_dir(path) / ("0" * 64)
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    Workspace().save(path)
    assert not stale.exists()
