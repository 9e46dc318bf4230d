"""Hostile input against the real bot over the wire: whatever a signed request carries (slash command forms
with missing or doubled fields and 50 KB of text, Events API JSON of any shape, interactivity payloads with
the wrong types), the bot answers 2xx or 4xx, never 5xx, keeps its worker, and never turns typed text into a
live mention. And images we are handed (a provider's output, a stored winner used as the reference of an
upgrade) are decoded with bounded memory, or refused with a clear message.

Hypothesis drives each storm from a worker thread against ONE running bot; each example is a signed POST
made on the test's event loop (``run_coroutine_threadsafe``), where the bot and the fake Slack run.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import re
import resource
import struct
import subprocess
import sys
import textwrap
import time
import tracemalloc
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import select

from bot import blocks, imaging
from bot.config import Settings
from bot.jobs import PermanentFailure
from bot.runtime import Runtime
from bot.tiers import Tier
from storage import queries
from storage.models import Draft, Job, Variant
from tests.slack_harness import ALICE, BOB, CAROL, CHANNEL, Wire, running_bot, shown_tally, wait_for

TEAM = "T0PLAYGRND"  # the fake workspace's team id
FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"

# Live Slack markup a person might type; posted anywhere unescaped, it would ping or link. None of these
# ids is one the bot uses itself: it mentions the people who act (ids from the payload, e.g. <@U0ALICE>,
# or <@U0MALLORY> in these storms), never ids typed in text.
HOSTILE = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S0EVIL|devs>",
    "<@U0EVIL>",
    "<@U0EVIL|evil>",
    "<#C0EVIL|general>",
    "<https://evil.example|click>",
    "<!date^1392734382^{date}|x>",
)
LIVE = ("<!channel", "<!here", "<!everyone", "<!subteam", "<@U0EVIL", "<#C0EVIL", "<https://evil", "<!date")
FLAVOUR = (
    "*bold*",
    "_it_",
    "~gone~",
    "`code`",
    "```pre```",
    "> quote",
    ":+1:",
    ":skin-tone-2:",
    "🔥",
    "👍🏽",
    "👨‍👩‍👧",
    "\u202e",  # right-to-left override
    "\u200f",
    "مرحبا",
    "שלום",
    "\u200b",  # zero-width space
    "\u200d",
    "\ufeff",
    "\u00a0",
    "\x00",
    "\x1b[31m",
    "\ud800",  # lone surrogates: form bodies carry them as CESU bytes, JSON as \\ud800
    "\udfff",
    "&amp;",
    "&lt;",
    "%00",
    "\r\n",
    "\t",
)
GRAMMAR = (
    "for",
    "for story",
    "for poster",
    "story:",
    "--n",
    "--n 1",
    "--n 99",
    "--n=²",
    "--n ١",
    "--ratio 1:1",
    "--ratio 0:0",
    "--ratio 99999999999:1",
    "--seed -1",
    "--seed 99999999999999",
    "--bogus",
    "help",
    ":",
    "payload",
)
# Endings that make some texts valid drafts (one variant each, to keep the storm cheap) and some not.
TAILS = (" for story --n 1", " for poster --n 1", " --ratio 1:1 --n 1", " for nowhere", "", " payload")

# Placeholders, filled in on the event loop when a request is sent (they need the running fake Slack).
RESPONSE_URL, TRIGGER, DRAFT_ID, VARIANT_TS = "@response_url@", "@trigger@", "@draft_id@", "@variant_ts@"
NOW = "@now@"  # a fresh Slack ts


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


word = st.sampled_from(HOSTILE + FLAVOUR + GRAMMAR) | st.text(max_size=12)
huge_text = st.builds(
    lambda unit, n, tail: (unit * (n // len(unit) + 1))[:n] + tail,
    st.sampled_from(["x", "for ", "<!channel> ", "y ", "\u200b", "🔥", "mobile cover "]),
    st.integers(4_000, 50_000),
    st.sampled_from(TAILS),
)
draft_text = st.one_of(
    st.lists(word, max_size=14).map(" ".join),
    st.tuples(st.lists(word, max_size=10).map(" ".join), st.sampled_from(TAILS)).map("".join),
    huge_text,
)


@dataclass
class Shot:
    """One hostile request: a form (pairs, repeated names allowed), a JSON value, or raw bytes."""

    kind: str
    content_type: str
    form: list[tuple[str, str]] | None = None
    payload: Any = None
    raw: bytes | None = None
    interaction: bool = False  # the JSON goes in a `payload=` form field
    headers: dict[str, str] | None = None  # replaces the signature headers: never validly signed

    def expects_answer(self) -> bool:
        """A /draft command Bolt will route to our listener: it must answer with a message."""
        if self.form is None:
            return False
        fields = dict(self.form)
        return fields.get("command") == "/draft" and not ({"payload", "ssl_check"} & fields.keys())


COMMAND_FIELDS = {
    "token": "playground-verification-token",
    "team_id": TEAM,
    "team_domain": "playground",
    "channel_id": CHANNEL,
    "channel_name": "general",
    "user_id": ALICE,
    "user_name": "alice",
    "command": "/draft",
    "api_app_id": "A0DRAFTBOT",
    "is_enterprise_install": "false",
    "response_url": RESPONSE_URL,
    "trigger_id": TRIGGER,
}
odd_field = st.sampled_from(
    ["", "/other", "/Draft", "/draft ", "U0MALLORY", "C0NOWHERE", "<!channel>"]
) | st.text(max_size=30)


@st.composite
def commands(draw: st.DrawFn) -> Shot:
    fields = dict(COMMAND_FIELDS, text=draw(draft_text))
    for name in draw(st.sets(st.sampled_from(sorted(fields)), max_size=4)):  # missing fields
        del fields[name]
    fields.update(draw(st.dictionaries(st.sampled_from(sorted(COMMAND_FIELDS)), odd_field, max_size=2)))
    pairs = list(fields.items())
    # Repeated names (team_id as a list), and fields no slash command has.
    extra_names = [
        "team_id",
        "user_id",
        "channel_id",
        "text",
        "command",
        "trigger_id",
        "x",
        "payload",
        "ssl_check",
    ]
    pairs += draw(st.lists(st.tuples(st.sampled_from(extra_names), odd_field), max_size=2))
    return Shot("command", FORM, form=pairs)


def usually(valid: st.SearchStrategy[Any], *odd: Any) -> st.SearchStrategy[Any]:
    """Mostly ``valid``; else one of ``odd`` or any JSON value at all (the wrong type, most often).

    Left to ``one_of``, hypothesis would mostly draw the junk (it has far more distinct values to try)."""
    junk = st.sampled_from(odd) | json_values if odd else json_values
    return st.sampled_from([True, True, True, True, False]).flatmap(lambda ok: valid if ok else junk)


@st.composite
def mangled(draw: st.DrawFn, parts: dict[str, st.SearchStrategy[Any]], **fixed: Any) -> dict[str, Any]:
    """A payload: ``fixed`` fields, then ``parts`` (each usually valid), one of them perhaps left out."""
    value = {**fixed, **{name: draw(part) for name, part in parts.items()}}
    if not draw(st.sampled_from([True, True, True, False])):
        del value[draw(st.sampled_from(sorted(parts)))]
    return value


user = usually(
    mangled(
        {
            "id": st.sampled_from([ALICE, ALICE, BOB, "U0MALLORY", "", "<@U0EVIL>", "U" * 100]),
            "team_id": st.just(TEAM),
        }
    ),
    "U0ALICE",
)
team = usually(mangled({"id": usually(st.just(TEAM), "T0OTHER", ""), "domain": st.just("playground")}), TEAM)
action_value = usually(
    st.sampled_from([DRAFT_ID, f"{DRAFT_ID}:1", f"{DRAFT_ID}:2"]),
    f"{DRAFT_ID}:²",
    "1:x",
    "-1",
    "0",
    "9" * 13,
    "9" * 30,
    "²",
    "١٢",
    "1:99999",
    ":",
    "",
    " 1",
)
ACTION_IDS = (
    blocks.UPGRADE,
    blocks.CHOOSE_TIED,
    blocks.APPROVE,
    blocks.REJECT,
    blocks.RETRY,
    blocks.MORE_LIKE_THIS,
    blocks.NEW_ROUND,
    blocks.EDIT_PROMPT,
    blocks.CANCEL,
    blocks.REQUEST_CHANGES,
    blocks.ALSO_AS,
)
action = mangled(
    {
        "action_id": usually(st.sampled_from(ACTION_IDS), "other", ""),
        "value": action_value,
        "block_id": st.text(max_size=5),
        "type": st.sampled_from(["button", "static_select"]),
        "selected_option": usually(
            mangled({"value": usually(st.sampled_from(["1:website-hero", "1:nope", "x:y"]) | action_value)})
        ),
    }
)
block_actions = mangled(
    {
        "actions": usually(st.lists(action, min_size=1, max_size=2), []),
        "user": user,
        "team": team,
        "response_url": usually(st.just(RESPONSE_URL), "nonsense", ""),
        "trigger_id": st.just(TRIGGER),
        "container": usually(st.just({"type": "message", "channel_id": CHANNEL})),
        "channel": usually(st.just({"id": CHANNEL, "name": "general"})),
    },
    type="block_actions",
)


def _input(key: str, value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return usually(st.fixed_dictionaries({"value": usually(mangled({key: value, "type": st.just("input")}))}))


form_values = mangled(
    {
        "prompt": _input("value", usually(draft_text)),
        "feedback": _input("value", usually(draft_text)),
        "reason": _input("value", usually(draft_text)),
        "next": _input("selected_option", usually(st.sampled_from([{"value": "end"}, {"value": "vote"}]))),
        "destination": _input("selected_option", usually(st.just({"value": "story"}), {"value": "nope"})),
        "variants": _input(
            "selected_option", usually(st.sampled_from([{"value": "1"}, {"value": "2"}]), {"value": "²"})
        ),
    }
)
view = mangled(
    {
        "callback_id": usually(
            st.sampled_from(
                [blocks.DRAFT_MODAL, blocks.EDIT_MODAL, blocks.CHANGES_MODAL, blocks.REJECT_MODAL]
            ),
            "other",
            "",
        ),
        "type": usually(st.just("modal"), "workflow_step", "home"),
        "state": usually(mangled({"values": usually(form_values)})),
        "private_metadata": usually(st.just(CHANNEL), "", "<#C0EVIL>", "C" * 100, "1:2", "1:", "99999:1"),
        "id": st.text(max_size=5),
    }
)
view_submission = mangled({"view": usually(view), "user": user, "team": team}, type="view_submission")
unknown_interaction = mangled(
    {
        "type": usually(
            st.sampled_from(["shortcut", "message_action", "view_closed", "block_suggestion", "nope", ""])
        ),
        "callback_id": json_values,
        "view": json_values,
        "actions": json_values,
        "user": user,
    }
)


@st.composite
def interactions(draw: st.DrawFn) -> Shot:
    choice = draw(st.sampled_from(["actions"] * 3 + ["view"] * 3 + ["unknown", "not json"]))
    if choice == "not json":
        text = draw(st.text(max_size=40) | st.sampled_from(["", "{", "[1]", '"x"', "null", "1"]))
        return Shot("interaction", FORM, raw=b"payload=" + quote_plus(_utf8(text)).encode())
    strategy = {"actions": block_actions, "view": view_submission, "unknown": unknown_interaction}[choice]
    return Shot("interaction", FORM, payload=draw(strategy), interaction=True)


event_item = usually(
    mangled(
        {
            "type": usually(st.just("message"), "file"),
            "channel": usually(st.just(CHANNEL), "C0NOWHERE", ""),
            "ts": usually(st.just(VARIANT_TS), "1.2", "abc", 1700000000.5),
        }
    )
)
event = mangled(
    {
        "type": usually(
            st.sampled_from(["reaction_added", "reaction_removed"]), "message", "app_mention", "nope"
        ),
        "user": usually(st.sampled_from([BOB, CAROL, "U0MALLORY"]), ""),
        "reaction": usually(st.sampled_from(["+1", "+1::skin-tone-3", "thumbsup", "white_check_mark"]), ""),
        "item": event_item,
        "event_ts": usually(st.just(NOW), "1e999", "nan", "-1", "abc", "", 1e308),
        "text": draft_text,
    }
)
AUTHORIZATIONS = [{"team_id": TEAM, "user_id": "U0DRAFTBOT", "is_bot": True, "is_enterprise_install": False}]
event_callback = mangled(
    {
        "event": usually(event),
        "team_id": usually(st.just(TEAM), ""),
        "event_id": usually(st.text("Ev0123456789ABCDEF", min_size=4, max_size=12)),
        "authorizations": usually(st.just(AUTHORIZATIONS), []),
        "event_time": usually(st.just(1700000000)),
        "api_app_id": usually(st.just("A0DRAFTBOT")),
    },
    type="event_callback",
)
url_verification = mangled(
    {"challenge": usually(st.text(max_size=20)), "token": json_values}, type="url_verification"
)


@st.composite
def events(draw: st.DrawFn) -> Shot:
    payload = draw(
        st.one_of(
            event_callback,
            event_callback,
            event_callback,
            url_verification,
            st.dictionaries(st.text(max_size=6), json_values),
        )
    )
    return Shot("event", draw(st.sampled_from([JSON_TYPE, JSON_TYPE, "text/plain", ""])), payload=payload)


raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [b"", b"{", b"[]", b"[1,2]", b"null", b'"x"', b"\xff\xfe", b"payload", b"payload=", b"a=b"]
    ),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.text(max_size=60).map(_utf8),
)


ascii_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=70).map(str.strip)
bad_signatures = st.fixed_dictionaries(
    {},
    optional={
        "X-Slack-Request-Timestamp": st.sampled_from(["", "abc", "1e9", "-5", "+1", "99" * 20]) | ascii_text,
        "X-Slack-Signature": st.sampled_from(["", "v0=", "v0=" + "0" * 64, "v1=zz"]) | ascii_text,
    },
)


@st.composite
def raws(draw: st.DrawFn) -> Shot:
    content_type = draw(st.sampled_from([JSON_TYPE, FORM, "text/plain", "", "multipart/form-data"]))
    headers = draw(st.none() | st.none() | bad_signatures)
    return Shot("raw", content_type, raw=draw(raw_bodies), headers=headers)


def _form(pairs: list[tuple[str, str]]) -> bytes:
    """urlencode, but lone surrogates go through as the bytes a sloppy client would send."""
    return "&".join(f"{quote_plus(_utf8(k))}={quote_plus(_utf8(v))}" for k, v in pairs).encode()


@dataclass
class Storm:
    wire: Wire
    http: httpx.AsyncClient
    draft_id: int
    variant_ts: list[str]
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    signed: set[tuple[bytes, int]] = field(default_factory=set)  # (sha256 of the body, timestamp)

    def _timestamp(self, body: bytes) -> int:
        """Now, or a second earlier for a body already signed now: hypothesis repeats examples, and the
        very same signature again would be refused as a replay (tested in test_replays_and_content_types)."""
        digest, timestamp = hashlib.sha256(body).digest(), int(time.time())
        while (digest, timestamp) in self.signed:
            timestamp -= 1
        self.signed.add((digest, timestamp))
        return timestamp

    def _fill(self, value: Any) -> Any:
        if isinstance(value, str):
            if value == RESPONSE_URL:
                return self.wire.fake.issue_response_url(ALICE, CHANNEL)
            if value == TRIGGER:
                return self.wire.fake.issue_trigger_id(ALICE)
            if value == NOW:
                return self.wire.fake.state.next_ts()
            return value.replace(DRAFT_ID, str(self.draft_id)).replace(VARIANT_TS, self.variant_ts[0])
        if isinstance(value, list):
            return [self._fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self._fill(v) for k, v in value.items()}
        return value

    def _body(self, shot: Shot) -> bytes:
        if shot.raw is not None:
            return shot.raw
        if shot.form is not None:
            return _form([(k, self._fill(v)) for k, v in shot.form])
        payload = json.dumps(self._fill(shot.payload))
        return b"payload=" + quote_plus(payload).encode() if shot.interaction else payload.encode()

    async def send(self, shot: Shot) -> tuple[int, str, float]:
        body = self._body(shot)
        signature = (
            self.wire.delivery.signature_headers(body, self._timestamp(body))
            if shot.headers is None
            else shot.headers
        )
        headers = {"Content-Type": shot.content_type, **signature}
        started = time.monotonic()
        response = await self.http.post(f"{self.wire.url}/slack/events", content=body, headers=headers)
        return response.status_code, response.text, time.monotonic() - started

    def run(self, loop: asyncio.AbstractEventLoop, strategy: st.SearchStrategy[Shot], examples: int) -> None:
        """Runs in a worker thread: hypothesis draws, the event loop sends."""

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def prop(shot: Shot) -> None:
            status, text, seconds = asyncio.run_coroutine_threadsafe(self.send(shot), loop).result(60)
            self.statuses[shot.kind, status] += 1
            assert status < 500, f"{status} for {shot!r}"
            if shot.headers is not None:
                assert status == 401, f"{status} for an unsigned {shot!r}"
            if shot.expects_answer():
                # Every /draft gets a message, inside Slack's 3 seconds, whatever it says.
                assert status == 200 and text.strip(), f"no answer ({status}) to {shot!r}"
                assert seconds < 3.0, f"answered in {seconds:.1f}s: {shot!r}"

        prop()


async def start_draft(wire: Wire, text: str, n: int) -> int:
    before = {m.ts for m in wire.parents()}
    response = await wire.command(ALICE, text)
    assert response.status_code == 200, response.text
    parent = await wait_for(lambda: next(m for m in wire.parents() if m.ts not in before), what="the parent")
    draft_id = int((parent.metadata or {})["event_payload"]["draft_id"])
    await wait_for(lambda: len(wire.images(draft_id)) == n, what=f"{n} variants")
    return draft_id


CONTENT = ("text", "blocks", "attachments", "view", "alt_text", "title", "initial_comment", "metadata")


def everything_posted(wire: Wire) -> str:
    """Every message, thread reply, ephemeral and view the bot made, and what it sent in each API call
    (a hostile trigger_id passed back to views.open is no message; Slack refuses it)."""
    state = json.dumps(wire.fake.state.snapshot(), default=str, ensure_ascii=False)
    sent = [{k: v for k, v in params.items() if k in CONTENT} for _, params in wire.fake.calls]
    return state + json.dumps(sent, default=str, ensure_ascii=False)


async def test_hostile_requests_never_get_a_5xx_nor_break_the_bot(tmp_path: Path) -> None:
    async with (
        running_bot(tmp_path / "data") as wire,
        httpx.AsyncClient(trust_env=False, timeout=30) as http,
    ):
        # A real draft for hostile votes and presses to aim at, and one whose prompt is all live markup.
        target = await start_draft(wire, "a paper boat on a pond for feed post --n 2", n=2)
        marked = await start_draft(wire, " ".join(HOSTILE) + " a lantern for poster --n 1", n=1)
        storm = Storm(wire, http, target, [m.ts for m in wire.images(target).values()])
        loop = asyncio.get_running_loop()
        for strategy, examples in ((commands(), 150), (events(), 150), (interactions(), 200), (raws(), 60)):
            await asyncio.to_thread(storm.run, loop, strategy, examples)
        assert not [s for _, s in storm.statuses if s >= 500], storm.statuses
        # The storms reached the listeners, not only Bolt's front door.
        for kind in ("command", "event", "interaction"):
            assert storm.statuses[kind, 200] >= 20 and storm.statuses[kind, 404], storm.statuses
        assert storm.statuses["interaction", 400] and storm.statuses["raw", 400], storm.statuses
        assert storm.statuses["raw", 401], storm.statuses
        assert storm.statuses["event", 415] and storm.statuses["raw", 415], storm.statuses  # text/plain...
        huge = await storm.send(
            Shot("raw", JSON_TYPE, raw=b'{"type": "event_callback", "x": "' + b"x" * 5_000_000)
        )
        assert huge[0] == 413  # refused before it is buffered
        assert len(wire.fake.state.ephemerals) >= 10  # button presses answered through their response_url

        # The bot still works end to end: a normal /draft gets its variants, the worker is alive.
        after = await start_draft(wire, "a glass teapot, morning light for story --n 2", n=2)
        assert after > marked
        health = await http.get(f"{wire.url}/healthz")
        assert health.status_code == 200 and health.json() == {"ok": True}

        await wire.fake.drain()
        posted = everything_posted(wire)
        for live in LIVE:
            assert live not in posted, live
        assert "&lt;!channel&gt;" in posted  # the markup was shown, escaped, not dropped
        async with wire.runtime.sessions() as session:
            drafts = list(await session.scalars(select(Draft)))
        for draft in drafts:  # stored only for ids of the shape Slack uses, and with storable text
            ids = (draft.team_id, draft.channel_id, draft.requester_id)
            assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", i) for i in ids), ids
            assert "\x00" not in draft.prompt and not any(0xD800 <= ord(c) <= 0xDFFF for c in draft.prompt)


@pytest.mark.parametrize(
    "text",
    [
        # Bolt reads any form body with "payload" in it as an interaction: this arrived empty, a 404.
        pytest.param("a payload bay for story --n 1", id="payload"),
        pytest.param("the\x00null byte for story --n 1", id="nul"),
        # 50 KB: refused at once, not after seconds of looking for the closest destination name.
        pytest.param("x for " + "mobile cover " * 3800, id="50KB"),
        # The count is the prompt's own, not the destination's and options' too.
        pytest.param("y" * 5000 + " for banner --n 2", id="5000+destination"),
    ],
)
async def test_awkward_commands_get_an_answer(tmp_path: Path, text: str) -> None:
    async with running_bot(tmp_path / "data") as wire:
        started = time.monotonic()
        response = await wire.command(ALICE, text)
        assert response.status_code == 200 and response.text.strip()
        assert time.monotonic() - started < 3.0
        if "--n 1" in text:
            assert "Drafting 1 variant" in response.text
            await wait_for(lambda: len(wire.parents()) == 1, what="the parent")
        else:
            assert "the limit is 4,000" in response.text
            if text.startswith("y"):
                assert "The prompt is 5,000 characters" in response.text


async def test_payloads_missing_their_context_draft_nothing_and_say_so(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "data") as wire, httpx.AsyncClient(trust_env=False) as http:
        storm = Storm(wire, http, 0, ["1.1"])
        no_channel = [(k, v) for k, v in COMMAND_FIELDS.items() if k != "channel_id"]
        status, text, _ = await storm.send(
            Shot("command", FORM, form=[*no_channel, ("text", "a fox for story")])
        )
        assert status == 200 and "which workspace, person or channel" in text
        view_payload = {
            "type": "view_submission",
            "user": {"id": ALICE, "team_id": TEAM},
            "team": {"id": TEAM},
            "view": {
                "type": "modal",
                "callback_id": blocks.DRAFT_MODAL,
                "state": {
                    "values": {
                        "prompt": {"value": {"type": "plain_text_input", "value": "a kite\ud800"}},
                        "destination": {"value": {"selected_option": {"value": "story"}}},
                        "variants": {"value": {"selected_option": {"value": "1"}}},
                    }
                },
            },  # no private_metadata: the channel is unknown, so the form stays open and says so
        }
        status, text, _ = await storm.send(Shot("interaction", FORM, payload=view_payload, interaction=True))
        assert status == 200 and json.loads(text)["response_action"] == "errors"
        assert "which channel" in json.loads(text)["errors"]["prompt"]
        press = {
            "type": "block_actions",
            "user": {"id": ALICE},
            "team": {"id": TEAM},
            "response_url": RESPONSE_URL,
            "actions": [{"action_id": blocks.UPGRADE, "value": "1:²"}],
        }
        status, _, _ = await storm.send(Shot("interaction", FORM, payload=press, interaction=True))
        assert status == 200
        await wait_for(lambda: "doesn't belong to a draft" in " ".join(wire.ephemerals(ALICE)), what="answer")
        async with wire.runtime.sessions() as session:
            assert list(await session.scalars(select(Draft))) == []


# --- images we are handed -------------------------------------------------------------------------------

MAX_PIXELS = int(Settings.model_fields["max_reference_pixels"].default)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A valid PNG header claiming ``width``×``height`` RGB (2.7 GB decoded) in a few hundred bytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + width * 3) * 4, 9)  # a few real rows, then it just ends
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", rows)
        + _png_chunk(b"IEND", b"")
    )


def jpeg_bomb() -> bytes:
    """A JPEG whose frame header (SOF0) claims 65500×65500."""
    img = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 10, 10)).save(img, "JPEG")
    data = img.getvalue()
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", 65500, 65500) + data[sof + 9 :]


def truncated_jpeg() -> bytes:
    img = io.BytesIO()
    Image.effect_noise((512, 512), 60).convert("RGB").save(img, "JPEG", quality=90)
    data = img.getvalue()
    return data[: len(data) // 2]


BAD_IMAGES: dict[str, tuple[Callable[[], bytes], str]] = {
    "not an image": (lambda: b"GIF? no: just some text that is not an image at all" * 20, "isn't an image"),
    "empty": (lambda: b"", "isn't an image"),
    "truncated jpeg": (truncated_jpeg, "truncated or damaged"),
    "png bomb": (png_bomb, "too large"),
    "jpeg bomb": (jpeg_bomb, "too large"),
    "50 MB random": (lambda: os.urandom(50_000_000), "isn't an image"),
}


@pytest.mark.parametrize("name", sorted(BAD_IMAGES))
def test_bad_images_are_refused_clearly_with_bounded_memory(name: str) -> None:
    make, message = BAD_IMAGES[name]
    data = make()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    try:
        with pytest.raises(imaging.BadImage) as err:
            imaging.decode(data, max_pixels=MAX_PIXELS)
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before
    assert message in err.value.message and err.value.message.endswith(".")
    assert python_peak < 2_000_000, python_peak  # the input is read in place, never copied
    assert rss_growth < 200_000_000, rss_growth  # far below what a bomb claims (2.7 GB and 12.8 GB)


CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from PIL import Image
    from bot import imaging
    from tests.wire import test_hostile_input as t

    limit = 1 << 30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))  # 1 GiB of address space, for everything
    results = {}
    try:
        Image.new("RGB", (30_000, 30_000))  # the control: the bomb's claimed size can't be allocated here
        results["control"] = "allocated"
    except MemoryError:
        results["control"] = "MemoryError"
    for name, (make, _) in t.BAD_IMAGES.items():
        try:
            imaging.decode(make(), max_pixels=t.MAX_PIXELS)
            results[name] = "decoded"
        except imaging.BadImage as err:
            results[name] = err.message
        except MemoryError:
            results[name] = "MemoryError"
    print(json.dumps(results))
    """
)


def test_bad_images_are_refused_under_a_hard_memory_limit() -> None:
    """In a child process that can't map more than 1 GiB, where allocating a bomb's size fails outright."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=root, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert results.pop("control") == "MemoryError"
    for name, (_, message) in BAD_IMAGES.items():
        assert message in results[name], (name, results[name])


async def test_an_unreadable_reference_is_a_permanent_failure(runtime: Runtime) -> None:
    """An upgrade's reference that isn't an image (and has no checksum to catch it first) fails at once."""
    key = await runtime.blobs.put(b"not a jpeg at all", content_type="image/jpeg")
    source = Variant(tier=Tier.EXPLORE, number=3, blob_key=key, sha256=None)
    with pytest.raises(PermanentFailure, match="1K image 3 this upgrade starts from can't be read"):
        await runtime.generator.making.reference(source)


async def test_a_corrupt_winner_fails_the_upgrade_with_a_clear_message(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "data") as wire:
        draft_id = await start_draft(wire, "a paper lantern at dusk for feed post --n 2", n=2)
        await wait_for(lambda: "Voting" in json.dumps(wire.parent(draft_id).blocks), what="voting to open")
        await wire.react(BOB, wire.images(draft_id)[2])
        await wait_for(lambda: shown_tally(wire.parent(draft_id)) == {2: 1}, what="Bob's vote")

        async with wire.runtime.sessions() as session:
            winner = await queries.get_variant(session, TEAM, draft_id, Tier.EXPLORE, 2)
        assert winner is not None and winner.blob_key
        path = wire.runtime.blobs.local_path(winner.blob_key)
        assert path is not None
        path.write_bytes(path.read_bytes()[:2000])  # the disk lost the rest: a truncated JPEG

        await wire.press(ALICE, wire.parent(draft_id), blocks.UPGRADE, str(draft_id))

        def notice() -> str | None:
            thread = wire.fake.thread(CHANNEL, wire.parent(draft_id).ts)
            return next((m.text for m in thread if "could not be made" in m.text), None)

        told = await wait_for(notice, what="the failure in the thread")
        assert "The 2K review could not be made" in told and "is damaged" in told and "/draft" in told
        await wait_for(lambda: "Failed" in json.dumps(wire.parent(draft_id).blocks), what="the failed parent")
        async with wire.runtime.sessions() as session:
            draft = await session.get(Draft, draft_id)
            jobs = list(await session.scalars(select(Job).where(Job.draft_id == draft_id)))
        assert draft is not None and draft.status == "failed" and "damaged" in (draft.failure_reason or "")
        review_jobs = [j for j in jobs if j.payload.get("tier") == "2K" and j.kind == "generate_image"]
        assert [(j.status, j.attempts) for j in review_jobs] == [("failed", 1)]  # given up at once
        assert wire.images(draft_id, "2K") == {}
