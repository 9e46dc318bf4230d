"""Two workspaces on one database: requests from one team can neither see nor change another's drafts,
even when they name its message timestamps and draft ids."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

from bot import audit, blocks
from tests.slack_harness import ALICE, BOB, CHANNEL, Wire, running_bot, shown_tally, wait_for

OTHER_TEAM = "T0OTHERTEAM"


async def signed_post(wire: Wire, body: bytes, content_type: str) -> httpx.Response:
    headers = {"Content-Type": content_type, **wire.delivery.signature_headers(body)}
    async with httpx.AsyncClient(trust_env=False) as client:
        return await client.post(f"{wire.url}/slack/events", content=body, headers=headers)


async def test_another_team_cannot_vote_upgrade_or_read(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "data") as wire:
        await wire.command(ALICE, "a red tram for feed post --n 2")
        parent = await wait_for(lambda: wire.parents()[0], what="the parent")
        draft_id = int((parent.metadata or {})["event_payload"]["draft_id"])
        variants = await wait_for(lambda: (v := wire.images(draft_id)) and len(v) == 2 and v, what="variants")
        await wait_for(lambda: "Voting" in json.dumps(wire.parent(draft_id).blocks), what="voting")

        # A reaction from another workspace on this team's variant message.
        event = {
            "type": "event_callback",
            "team_id": OTHER_TEAM,
            "api_app_id": "A0DRAFTBOT",
            "event_id": "EvOTHER1",
            "event_time": int(time.time()),
            "event": {
                "type": "reaction_added",
                "user": "U0STRANGER",
                "reaction": "+1",
                "item": {"type": "message", "channel": CHANNEL, "ts": variants[1].ts},
                "event_ts": str(time.time()),
            },
        }
        assert (await signed_post(wire, json.dumps(event).encode(), "application/json")).status_code == 200

        # A button press from another workspace naming this team's draft id.
        payload = {
            "type": "block_actions",
            "team": {"id": OTHER_TEAM},
            "user": {"id": "U0STRANGER", "team_id": OTHER_TEAM},
            "api_app_id": "A0DRAFTBOT",
            "trigger_id": "1.2.3",
            "channel": {"id": CHANNEL},
            "container": {"type": "message", "message_ts": parent.ts, "channel_id": CHANNEL},
            "response_url": wire.fake.issue_response_url("U0STRANGER", CHANNEL),
            "actions": [
                {
                    "action_id": blocks.UPGRADE,
                    "block_id": "x",
                    "value": str(draft_id),
                    "type": "button",
                    "action_ts": str(time.time()),
                }
            ],
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        assert (await signed_post(wire, body, "application/x-www-form-urlencoded")).status_code == 200

        # A vote from this team still counts; nothing from the other one did.
        await wire.react(BOB, variants[2])
        await wait_for(lambda: shown_tally(wire.parent(draft_id)) == {2: 1}, what="Bob's vote")
        assert "Voting" in json.dumps(wire.parent(draft_id).blocks)  # no upgrade happened
        assert not wire.images(draft_id, "2K")
        told = [call["text"] for call in wire.fake.calls_for("response_url")]  # the stranger's private answer
        assert told == ["I can't find that draft in this workspace any more."]

        mine = [row async for row in audit.events(wire.runtime.sessions, team_id="T0PLAYGRND")]
        theirs = [row async for row in audit.events(wire.runtime.sessions, team_id=OTHER_TEAM)]
        assert theirs == [] and all(row["actor"] != "U0STRANGER" for row in mine)
