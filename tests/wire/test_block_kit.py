"""Valid Block Kit everywhere: every payload the bot sends, over a realistic set of drafts, passes slack_sdk's
own models (:mod:`tests.block_kit`), and every kind of message the bot sends today is among them.

What is checked is everything the fake Slack received from the bot (``fake.calls``: every Web API call and
response_url post, faulted ones too) and every answer the bot gave to a delivery (a slash command's ack
becomes a message). A message kind added later is therefore validated without changing this test; add it
to ``KINDS`` so that the test also fails when it stops being sent.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import blocks
from bot.publisher import DraftCard
from bot.workflow import DraftStatus
from fakes.asgi import serve_asgi
from fakes.openai import FakeOpenAI
from tests.block_kit import message_problems, view_problems
from tests.slack_harness import ALICE, BOB, CAROL, CHANNEL, DAVE, Wire, running_bot, shown_tally, wait_for

# Quoted copy (more than six words) and "small text" bring both prompt hints onto the parent.
HOSTILE = (
    "<!channel> <!here> <@U999> <#C123|general> launch art :tada: 🎉👩🏽‍🎨 *bold* _italic_ ~strike~ `code` "
    '```fence``` > quote & "the quick brown fox jumps over the lazy dog" with small text '
)
LONG_PROMPT = (HOSTILE * 40)[:3900]  # under MAX_PROMPT_CHARS with " for mobile cover --n 8" after it
TOO_LONG = (HOSTILE * 40)[:5000]

MESSAGE_METHODS = frozenset(
    {"chat.postMessage", "chat.update", "chat.postEphemeral", "chat.scheduleMessage", "response_url"}
)
DECODED = ("blocks", "view", "metadata", "attachments")

# Every kind of payload the bot sends today. Not reachable over the wire today: a cancelled parent (no
# action cancels a draft); tests/core/test_blocks_valid.py covers its blocks.
KINDS = frozenset(
    {
        *(f"parent: {status}" for status in DraftStatus if status is not DraftStatus.CANCELLED),
        "parent with Upgrade",
        "parent with Retry",
        "image 1K",
        "image 2K",
        "image 4K",
        "2K review with Approve, Request changes and Reject",
        "2K review v2 with a side-by-side",
        "4K final with Also as…",
        "4K final in another shape",
        "request changes form (views.open)",
        "reject form (views.open)",
        "tie-break question",
        "thread notice",
        "notice of a lost image",
        "notice of a lost image with Retry",
        "thread message brought up to date (chat.update)",
        "ephemeral (chat.postEphemeral)",
        "answer to a button (response_url)",
        "slash command answer",
        "slash command answer with blocks",
        "draft modal (views.open)",
    }
)


@dataclass
class Sent:
    method: str  # a Web API method, "response_url", or "ack:<delivery kind>"
    payload: dict[str, Any]

    def action_ids(self) -> set[str]:
        return set(_values(self.payload.get("blocks"), "action_id"))


def _values(tree: Any, key: str) -> Iterator[Any]:
    if isinstance(tree, dict):
        for k, v in tree.items():
            if k == key:
                yield v
            yield from _values(v, key)
    elif isinstance(tree, list):
        for item in tree:
            yield from _values(item, key)


def _decoded(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def sent_by_the_bot(wire: Wire) -> list[Sent]:
    sent = [
        Sent(method, {k: _decoded(v) if k in DECODED else v for k, v in params.items()})
        for method, params in wire.fake.calls
    ]
    for record in wire.delivery.records:
        if record.status != 200 or not record.response_body.strip():
            continue
        try:
            answer = json.loads(record.response_body)
        except ValueError:
            answer = {"text": record.response_body.decode()}
        if isinstance(answer, dict):
            sent.append(Sent(f"ack:{record.kind}", answer))
    return sent


def problems(sent: Sent) -> list[str]:
    payload = sent.payload
    found: list[str] = []
    if "view" in payload:
        found += view_problems(payload["view"])
    is_message = sent.method in MESSAGE_METHODS or (
        sent.method.startswith("ack:") and any(k in payload for k in ("text", "blocks"))
    )
    if is_message:
        found += message_problems(payload)
    elif "blocks" in payload:  # a method not listed above that carries blocks (files.completeUploadExternal)
        found += message_problems({"text": "(none needed)", **payload})
    return found


def _status_labels() -> dict[DraftStatus, str]:
    """The end of the parent's fallback text for each status, as bot.blocks writes it."""
    dummy = DraftCard(1, "T", "C", "U", "p", "d", "1:1", DraftStatus.GENERATING, 1, 0, 0)
    texts = {s: blocks.parent_text(dataclasses.replace(dummy, status=s)) for s in DraftStatus}
    prefix = os.path.commonprefix(list(texts.values()))  # noqa: RUF071 (characters are what we want)
    return {s: text[len(prefix) :] for s, text in texts.items()}


STATUS_LABELS = _status_labels()


def kinds(sent: Sent) -> set[str]:
    p, found = sent.payload, set()
    metadata = p.get("metadata") if isinstance(p.get("metadata"), dict) else {}
    actions = sent.action_ids()
    text = p.get("text") if isinstance(p.get("text"), str) else ""
    if sent.method in ("chat.postMessage", "chat.update") and not p.get("thread_ts"):
        found |= {f"parent: {s}" for s, label in STATUS_LABELS.items() if text.endswith(label)}
        if blocks.UPGRADE in actions:
            found.add("parent with Upgrade")
        if blocks.RETRY in actions:
            found.add("parent with Retry")
    if metadata.get("event_type") == blocks.IMAGE_EVENT:
        found.add(f"image {metadata['event_payload']['tier']}")
    if {blocks.APPROVE, blocks.REQUEST_CHANGES, blocks.REJECT} <= actions:
        found.add("2K review with Approve, Request changes and Reject")
    if metadata.get("event_type") == blocks.IMAGE_EVENT:
        shown = metadata["event_payload"]
        images = [b for b in p.get("blocks") or [] if b.get("type") == "image"]
        if shown["tier"] == "2K" and shown.get("version", 1) > 1 and len(images) == 2:
            found.add("2K review v2 with a side-by-side")
        if shown["tier"] == "4K" and shown.get("version", 1) > 1:
            found.add("4K final in another shape")
    if blocks.ALSO_AS in actions:
        found.add("4K final with Also as…")
    if blocks.CHOOSE_TIED in actions:
        found.add("tie-break question")
    if metadata.get("event_type") == blocks.LOSS_EVENT:
        found.add("notice of a lost image")
        if blocks.RETRY in actions:
            found.add("notice of a lost image with Retry")
    if sent.method == "chat.update" and not any(text.endswith(label) for label in STATUS_LABELS.values()):
        found.add("thread message brought up to date (chat.update)")
    if sent.method == "chat.postMessage" and p.get("thread_ts") and not p.get("blocks") and not metadata:
        found.add("thread notice")
    if sent.method == "chat.postEphemeral":
        found.add("ephemeral (chat.postEphemeral)")
    if sent.method == "response_url":
        found.add("answer to a button (response_url)")
    if sent.method == "ack:slash_command":
        found.add("slash command answer with blocks" if p.get("blocks") else "slash command answer")
    form = (p.get("view") or {}).get("callback_id") if sent.method == "views.open" else None
    if form == blocks.DRAFT_MODAL:
        found.add("draft modal (views.open)")
    if form == blocks.CHANGES_MODAL:
        found.add("request changes form (views.open)")
    if form == blocks.REJECT_MODAL:
        found.add("reject form (views.open)")
    return found


async def settled(wire: Wire, draft_id: int, status: DraftStatus) -> None:
    await wait_for(
        lambda: wire.parent(draft_id).text.endswith(STATUS_LABELS[status]),
        within=60,
        what=f"draft {draft_id} {status}",
    )


async def new_draft(wire: Wire, text: str, status: DraftStatus = DraftStatus.VOTING) -> int:
    before = len(wire.parents())
    await wire.command(ALICE, text)
    parent = await wait_for(lambda: wire.parents()[before], what="the parent message")
    draft_id = int((parent.metadata or {})["event_payload"]["draft_id"])
    await settled(wire, draft_id, status)
    return draft_id


async def drive_every_kind(wire: Wire, api: FakeOpenAI) -> None:
    # Answers without a draft: the form, help, a prompt too long, an unknown destination.
    await wire.command(ALICE, "")
    await wait_for(lambda: wire.fake.calls_for("views.open"), what="the form")
    await wire.command(ALICE, "help")
    await wire.command(ALICE, f"{TOO_LONG} for mobile cover")
    await wire.command(ALICE, "<!everyone> :tada: *now* for nowhere")

    # The most variants, a hostile prompt, one refused by the provider: a notice and "1 refused".
    api.fail_next(400, code="moderation_blocked", message="<!channel> rejected by the *safety* system.")
    big = await new_draft(wire, f"{LONG_PROMPT} for mobile cover --n 8")
    variants = wire.images(big)
    assert len(variants) == 7
    first, second = sorted(variants)[:2]
    await wire.react(BOB, variants[first])
    await wire.react(CAROL, variants[second])
    await wait_for(lambda: shown_tally(wire.parent(big)) == {first: 1, second: 1}, what="two votes")
    await wire.press(ALICE, wire.parent(big), blocks.UPGRADE, str(big))  # a tie: the requester picks
    thread = lambda: wire.fake.thread(CHANNEL, wire.parent(big).ts)  # noqa: E731
    await wait_for(lambda: next(m for m in thread() if "tied" in m.text), what="the tie notice")
    tie = await wait_for(
        lambda: blocks.CHOOSE_TIED in json.dumps(wire.parent(big).blocks) and wire.parent(big),
        what="the tie question",
    )
    await wire.press(BOB, tie, blocks.CHOOSE_TIED, f"{big}:{first}")  # refused, answered on response_url
    await wire.press(ALICE, tie, blocks.CHOOSE_TIED, f"{big}:{second}")
    review = await wait_for(lambda: wire.images(big, "2K").get(second), within=60, what="the 2K review")
    await wire.react(BOB, review, "white_check_mark")  # not an approver: told privately (postEphemeral)
    await wait_for(lambda: wire.fake.calls_for("chat.postEphemeral"), what="Bob's private refusal")
    await wire.press(DAVE, review, blocks.APPROVE)
    final = await wait_for(lambda: wire.images(big, "4K").get(second), within=60, what="the 4K final")
    await settled(wire, big, DraftStatus.FINAL)
    final = await wait_for(
        lambda: next(m for m in [wire.images(big, "4K")[second]] if blocks.ALSO_AS in json.dumps(m.blocks)),
        what="Also as… on the final",
    )
    shapes = next(b for b in final.blocks or [] if b.get("block_id", "").endswith("also-as"))
    await wire.press(ALICE, final, blocks.ALSO_AS, shapes["elements"][0]["options"][0]["value"])
    await wait_for(lambda: wire.versions(big, "4K").get((second, 2)), within=60, what="another shape")

    # A review with changes requested, then rejected.
    small = await new_draft(wire, "a paper crane on slate for feed post --n 1")
    await wire.press(ALICE, wire.parent(small), blocks.UPGRADE, str(small))
    review = await wait_for(lambda: wire.images(small, "2K").get(1), within=60, what="the second review")
    await wire.submit_form(DAVE, review, blocks.REQUEST_CHANGES, {"feedback": "a warmer background"})
    v2 = await wait_for(lambda: wire.versions(small, "2K").get((1, 2)), within=60, what="review v2")
    await wire.submit_form(DAVE, v2, blocks.REJECT, {"reason": "the crane reads as plastic", "next": "end"})
    await settled(wire, small, DraftStatus.REJECTED)

    # One variant of two lost for good: its notice offers Retry for it alone; the retry recovers it.
    for _ in range(3):  # both first attempts, and one of the two second ones
        api.fail_next(503, message="The server is overloaded.")
    partial = await new_draft(wire, "a sailing regatta for feed post --n 2")
    notice = await wait_for(
        lambda: next(m for m in thread_of(wire, partial) if blocks.RETRY in json.dumps(m.blocks)),
        what="the notice with Retry",
    )
    number = int((notice.metadata or {})["event_payload"]["number"])
    await wire.press(ALICE, notice, blocks.RETRY, f"{partial}:{number}")
    await wait_for(lambda: number in wire.images(partial), within=60, what="the lost variant, made again")

    # An outage past the retry budget: failed, with Retry; the retry recovers.
    for _ in range(2):
        api.fail_next(503, message="The server is overloaded.")
    failed = await new_draft(wire, "a kite festival for feed post --n 1", DraftStatus.FAILED)
    await wire.press(ALICE, wire.parent(failed), blocks.RETRY, str(failed))
    await settled(wire, failed, DraftStatus.VOTING)
    await wire.fake.drain()


def thread_of(wire: Wire, draft_id: int) -> list[Any]:
    return list(wire.fake.thread(CHANNEL, wire.parent(draft_id).ts))


@asynccontextmanager
async def bot_with_openai(data_dir: Path) -> AsyncIterator[tuple[Wire, FakeOpenAI]]:
    """The bot drawing with the OpenAI fake, whose faults give the refused variant and the failed draft."""
    api = FakeOpenAI()
    async with serve_asgi(api) as url:
        settings = {"provider": "openai", "openai_api_key": api.api_key, "openai_base_url": f"{url}/v1"}
        async with running_bot(data_dir, job_max_attempts=2, **settings) as wire:
            yield wire, api


async def test_every_payload_the_bot_sends_is_valid_block_kit(tmp_path: Path) -> None:
    async with bot_with_openai(tmp_path / "data") as (wire, api):
        try:
            await drive_every_kind(wire, api)
        finally:
            sent = sent_by_the_bot(wire)
            report = [f"{s.method} {sorted(kinds(s))}: {p}" for s in sent for p in problems(s)]
            seen = set().union(*(kinds(s) for s in sent))
            print("\n".join(report) or "every payload valid", f"\nkinds seen: {sorted(seen)}")
    assert report == []
    assert KINDS - seen == set(), f"kinds never sent: {sorted(KINDS - seen)}"
    assert len(sent) > 50
