"""The bot under a burst of drafts and then a storm of votes: nothing may be lost or counted twice.

Run ``python benchmarks/bench_load.py [--latency L] [--seed S]``. Wired like ``benchmarks/bench_slack.py``:
one process serves the fake Slack (:mod:`fakes.slack`) and the bot's HTTP app
(:mod:`bot.web`) on loopback ports, signed deliveries between them, SQLite in a fresh temp dir, and the
local renderer behind a fixed latency of L seconds per image.

(1) Drafts: 50 ``/draft … for mobile cover`` (4 variants each) at once. Each command's HTTP round trip
(what Slack holds to its 3 s ack deadline), and the time until all 200 variants are in their threads,
divided by L, next to the floor that ``provider_concurrency`` allows (ceil(200 / concurrency) × L).

(2) Votes: once every draft is open for voting, 500 reaction events (:+1: added or removed) from 50
simulated people across the drafts' variant messages, from a seeded script. Each person's reactions on
one draft are sent one after another (each delivery awaited), because the bot orders a person's
reactions by Slack's ``event_ts`` and the fake stamps it at delivery; different (person, draft) chains
run concurrently, at most ``--reaction-concurrency`` deliveries in flight. Each delivery's HTTP round
trip is timed. The bot acknowledges an event before handling it (Bolt's process_before_response=False),
so one person's reactions may still be handled out of order; the counts below show what that costs.

The script is evaluated here, independently of the bot, with :mod:`bot.workflow`'s rules: one vote per
person per draft; a new vote moves it; removing your current vote withdraws it; removing any other
reaction (one your vote already moved away from) changes nothing. After the bot settles (every event
recorded as processed and no job left queued), the counts: every variant posted exactly once (by message
metadata), each draft's votes in the database and on its parent's "Votes ·" line equal the script's,
and the vote / unvote audit events equal the reactions the script sent. A wrong count
exits 1 and lists the (person, draft) chains behind it, with the event_ts the fake stamped on each
reaction. Nothing about time is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import platform
import random
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wiring import CHANNEL, PROXY_VARS, percentile, wired_bot  # benchmarks/, beside this script

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from fakes.slack import Change, FakeSlack, Message

REQUESTER = "U0ALICE"
BRIEF = "a matte black water bottle, dramatic side light, empty title area for mobile cover"
VARIANTS = 4  # what the brief above asks for (the default)
VOTE = "+1"
ACK_BUDGET_MS = 3000.0  # Slack's deadline for acknowledging a request
DRAFT_ID_RE = re.compile(r"draft #(\d+)")
TALLY_RE = re.compile(r"\*(\d+)\*: (\d+)")
VOTE_KINDS = ("vote", "unvote")  # bot.audit.AuditKind: one event per counted reaction, added or removed


def _metadata(message: Message) -> tuple[str | None, dict[str, Any]]:
    metadata = message.metadata or {}
    return metadata.get("event_type"), metadata.get("event_payload") or {}


@dataclass
class Watch:
    """When each draft's 1K variant messages were posted, from the workspace's change listener."""

    fake: FakeSlack
    variants: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    # Per draft, every version of its parent's "Votes ·" line, in the order the updates landed.
    parent_tallies: dict[int, list[tuple[float, dict[int, int] | None]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def __call__(self, change: Change) -> None:
        if change.kind not in ("message_posted", "message_updated"):
            return
        now = time.perf_counter()
        message = self.fake.state.get_message(change.data["channel"], change.data["ts"])
        kind, payload = _metadata(message)
        if kind == "draftbot_image" and payload.get("tier") == "1K" and change.kind == "message_posted":
            self.variants[int(payload["draft_id"])].append(now)
        elif kind == "draftbot_draft":
            self.parent_tallies[int(payload["draft_id"])].append((now, _parent_tally(message)))

    def posted(self, draft_ids: list[int]) -> int:
        return sum(len(self.variants.get(d, ())) for d in draft_ids)

    async def wait(self, draft_ids: list[int], within: float) -> bool:
        deadline = time.perf_counter() + within
        while self.posted(draft_ids) < len(draft_ids) * VARIANTS:
            if time.perf_counter() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True


class ErrorLog(logging.Handler):
    """Counts what anything logs at ERROR or above (a failed listener, a job given up)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Bench:
    fake: FakeSlack
    runtime: Runtime
    watch: Watch

    @property
    def team(self) -> str:
        return self.fake.state.team.id

    async def command(self, text: str) -> tuple[float, int | None, int]:
        """Send ``/draft text``; the round trip in seconds, the draft id from the ack, the HTTP status."""
        assert self.fake.delivery is not None
        start = time.perf_counter()
        response = await self.fake.delivery.send_slash_command(REQUESTER, CHANNEL, text)
        elapsed = time.perf_counter() - start
        match = DRAFT_ID_RE.search(response.text)
        return elapsed, int(match.group(1)) if match else None, response.status_code


@contextlib.asynccontextmanager
async def running(data_dir: Path, latency: float, users: list[str], **overrides: Any) -> AsyncIterator[Bench]:
    """The bot and the fake Slack (see wiring.py) with ``users`` in its workspace, and a watch on messages."""
    from fakes.slack import Workspace

    workspace = Workspace(default_users=[(REQUESTER, "alice"), *((u, u.lower()) for u in users)])
    async with wired_bot(data_dir, latency, workspace=workspace, **overrides) as (fake, runtime):
        watch = Watch(fake)
        stop_watching = fake.state.add_listener(watch)
        try:
            yield Bench(fake, runtime, watch)
        finally:
            stop_watching()


def ack_line(label: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    p50, p99, worst = percentile(ms, 50), percentile(ms, 99), max(ms)
    return (
        f"{label}: p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {worst:.0f} ms (min {min(ms):.0f} ms; "
        f"max is {worst / ACK_BUDGET_MS:.0%} of Slack's {ACK_BUDGET_MS:.0f} ms)"
    )


# --- the vote script, and what it must come to ------------------------------------------------------


@dataclass(frozen=True)
class Reaction:
    user: str
    draft_id: int
    number: int  # the variant reacted on
    add: bool  # reaction_added, or reaction_removed

    def __str__(self) -> str:
        return f"{'+' if self.add else '-'}{self.number}"


Pair = tuple[str, int]  # (person, draft): one chain of reactions, sent in order


def apply(current: int | None, reaction: Reaction) -> tuple[int | None, str]:
    """One reaction, in Slack's order: the person's vote after it, and its audit kind.

    The vote is the variant of the latest add unless that reaction was taken back (bot/workflow.py's
    current_vote); every counted reaction is audited, whatever it changed."""
    if reaction.add:
        return reaction.number, "vote"
    return (None if current == reaction.number else current), "unvote"


def make_script(
    rng: random.Random, users: list[str], draft_ids: list[int], events: int, drafts_per_user: int
) -> dict[Pair, list[Reaction]]:
    """Valid Slack actions only (add what you haven't added, remove what you have), in chains per pair."""
    pairs = [(u, d) for u in users for d in sorted(rng.sample(draft_ids, drafts_per_user))]
    lengths = Counter(pairs)  # at least one event per pair, the rest spread at random
    for pair in rng.choices(pairs, k=events - len(pairs)):
        lengths[pair] += 1
    script: dict[Pair, list[Reaction]] = {}
    for (user, draft_id), length in lengths.items():
        reacted: set[int] = set()
        vote: int | None = None
        chain: list[Reaction] = []
        for _ in range(length):
            free = [n for n in range(1, VARIANTS + 1) if n not in reacted]
            if free and (not reacted or rng.random() < 0.6):
                reaction = Reaction(user, draft_id, rng.choice(free), add=True)
                reacted.add(reaction.number)
            else:
                # Half the time take back the current vote (if its reaction is still there), else any.
                pick = vote if vote in reacted and rng.random() < 0.5 else rng.choice(sorted(reacted))
                assert pick is not None
                reaction = Reaction(user, draft_id, pick, add=False)
                reacted.discard(pick)
            vote, _ = apply(vote, reaction)
            chain.append(reaction)
        script[(user, draft_id)] = chain
    return script


@dataclass
class Expected:
    votes: dict[int, dict[str, int]]  # draft -> person -> variant
    changes: Counter[str]  # audit kind -> count
    per_pair: dict[Pair, list[str]]  # the audit kinds each chain should leave, in order

    def tally(self, draft_id: int) -> dict[int, int]:
        counts = Counter(self.votes.get(draft_id, {}).values())
        return {n: counts.get(n, 0) for n in range(1, VARIANTS + 1)}


def evaluate(script: dict[Pair, list[Reaction]], draft_ids: list[int]) -> Expected:
    votes: dict[int, dict[str, int]] = {d: {} for d in draft_ids}
    changes: Counter[str] = Counter()
    per_pair: dict[Pair, list[str]] = {}
    for (user, draft_id), chain in script.items():
        current: int | None = None
        kinds: list[str] = []
        for reaction in chain:
            current, kind = apply(current, reaction)
            kinds.append(kind)
        changes.update(kinds)
        per_pair[(user, draft_id)] = kinds
        if current is not None:
            votes[draft_id][user] = current
    return Expected(votes, changes, per_pair)


# --- phases -----------------------------------------------------------------------------------------


async def draft_burst(bench: Bench, latency: float, n: int, within: float) -> tuple[list[int], bool]:
    settings = bench.runtime.settings
    print(f"(1) {n} /draft commands at once, {VARIANTS} variants each")
    start = time.perf_counter()
    results = await asyncio.gather(*(bench.command(f"load {i}: {BRIEF}") for i in range(n)))
    answered = time.perf_counter() - start
    draft_ids = [r[1] for r in results if r[1] is not None]
    print(
        f"    {ack_line('/draft ack', [r[0] for r in results])}; all {n} answered in "
        f"{answered * 1000:.0f} ms; HTTP {dict(Counter(r[2] for r in results))}"
    )
    ok = len(draft_ids) == n and len(set(draft_ids)) == n
    if not ok:
        print(f"    WRONG: only {len(set(draft_ids))} of {n} commands were acknowledged with a draft id")
    finished = await bench.watch.wait(draft_ids, within)
    last = max((t for d in draft_ids for t in bench.watch.variants.get(d, ())), default=math.nan)
    total = n * VARIANTS
    floor = math.ceil(total / settings.provider_concurrency)
    if finished:
        took = last - start
        print(
            f"    all {total} variants posted {took:.1f} s after the burst began = {took / latency:.1f} × L "
            f"(floor at provider_concurrency={settings.provider_concurrency}: "
            f"ceil({total}/{settings.provider_concurrency}) = {floor} × L)"
        )
    else:
        print(f"    TIMED OUT after {within:g} s: {bench.watch.posted(draft_ids)} of {total} variants posted")
    return draft_ids, ok and finished


async def wait_for_voting(bench: Bench, draft_ids: list[int], within: float) -> bool:
    """Votes only count once a draft's variants have all settled and its status moved to voting."""
    from sqlalchemy import select

    from storage.models import Draft

    deadline = time.perf_counter() + within
    while True:
        async with bench.runtime.sessions() as session:
            rows = (
                await session.execute(select(Draft.id, Draft.status).where(Draft.id.in_(draft_ids)))
            ).all()
        statuses = Counter(str(status) for _, status in rows)
        if statuses.get("voting", 0) == len(draft_ids):
            return True
        if time.perf_counter() > deadline:
            print(f"    TIMED OUT waiting for voting to open: draft statuses {dict(statuses)}")
            return False
        await asyncio.sleep(0.05)


def variant_messages(bench: Bench) -> dict[tuple[int, int], list[Message]]:
    """Every 1K variant message in the channel (threads included), by (draft, number)."""
    found: dict[tuple[int, int], list[Message]] = defaultdict(list)
    for message in bench.fake.state.channel_messages(CHANNEL).values():
        kind, payload = _metadata(message)
        if kind == "draftbot_image" and payload.get("tier") == "1K":
            found[(int(payload["draft_id"]), int(payload["number"]))].append(message)
    return found


def parent_messages(bench: Bench) -> dict[int, Message]:
    found: dict[int, Message] = {}
    for message in bench.fake.state.history(CHANNEL):
        kind, payload = _metadata(message)
        if kind == "draftbot_draft":
            found[int(payload["draft_id"])] = message
    return found


async def vote_storm(
    bench: Bench, script: dict[Pair, list[Reaction]], concurrency: int
) -> tuple[list[float], Counter[str], float]:
    """Send every chain concurrently, each chain in order; the round trip of each delivery."""
    messages = variant_messages(bench)
    slots = asyncio.Semaphore(concurrency)
    acks: list[float] = []
    outcomes: Counter[str] = Counter()

    async def chain(reactions: list[Reaction]) -> None:
        for reaction in reactions:
            ts = messages[(reaction.draft_id, reaction.number)][0].ts
            react = bench.fake.user_add_reaction if reaction.add else bench.fake.user_remove_reaction
            async with slots:
                start = time.perf_counter()
                try:
                    response = await react(reaction.user, CHANNEL, ts, VOTE)
                except Exception as exc:  # a Slack-side refusal (the script is wrong) or the app is down
                    outcomes[type(exc).__name__] += 1
                    continue
                acks.append(time.perf_counter() - start)
            outcomes["not delivered" if response is None else f"HTTP {response.status_code}"] += 1

    start = time.perf_counter()
    await asyncio.gather(*(chain(reactions) for reactions in script.values()))
    return acks, outcomes, time.perf_counter() - start


async def settle(bench: Bench, events: int, within: float) -> tuple[bool, int, float]:
    """Until every reaction event is recorded as processed and no job is left unfinished (bounded).

    A delivery's ack comes before the bot handles it (Bolt's process_before_response=False), so "no
    queued job" alone could be true while a vote is still being handled."""
    from sqlalchemy import func, select

    from storage import jobqueue
    from storage.models import ProcessedRequest

    start = time.perf_counter()
    processed = 0
    while True:
        async with bench.runtime.sessions() as session:
            processed = int(
                await session.scalar(
                    select(func.count(ProcessedRequest.id)).where(ProcessedRequest.key.like("event:%"))
                )
                or 0
            )
        if processed >= events and await jobqueue.next_due(bench.runtime.sessions) is None:
            with contextlib.suppress(TimeoutError):
                await bench.fake.drain(max_wait=5)  # the bot's own :+1: deliveries, if any still run
            return True, processed, time.perf_counter() - start
        if time.perf_counter() - start > within:
            return False, processed, time.perf_counter() - start
        await asyncio.sleep(0.05)


# --- the counts -------------------------------------------------------------------------------------


async def check(
    bench: Bench,
    draft_ids: list[int],
    script: dict[Pair, list[Reaction]],
    expected: Expected,
) -> bool:
    from sqlalchemy import func, select

    from storage import queries
    from storage.models import AuditEvent, Job

    ok = True
    print("(3) counts")

    # Variants: exactly one message per (draft, number), and nothing else.
    messages = variant_messages(bench)
    parents = parent_messages(bench)
    wanted = {(d, n) for d in draft_ids for n in range(1, VARIANTS + 1)}
    missing = sorted(wanted - messages.keys())
    twice = sorted(k for k, v in messages.items() if len(v) > 1)
    stray = sorted(messages.keys() - wanted)
    misplaced = sorted(
        k for k, v in messages.items() if k[0] in parents and any(m.thread_ts != parents[k[0]].ts for m in v)
    )
    posted = sum(len(v) for v in messages.values())
    if missing or twice or stray or misplaced or len(parents) != len(draft_ids):
        ok = False
        print(
            f"    WRONG variants: {posted} messages for {len(wanted)} variants; missing {missing}, "
            f"posted more than once {twice}, unknown {stray}, outside their draft's thread {misplaced}; "
            f"{len(parents)} parent messages for {len(draft_ids)} drafts"
        )
    else:
        print(
            f"    variants: {posted} messages = {len(draft_ids)} drafts × {VARIANTS}, each (draft, number) "
            f"exactly once, each in its draft's thread"
        )

    # Votes: per person in the database, per variant on the parent message.
    db_votes: dict[int, dict[str, int]] = {}
    async with bench.runtime.sessions() as session:
        for draft_id in draft_ids:
            db_votes[draft_id] = await queries.votes_of(session, bench.team, draft_id)
        rows = (
            await session.execute(
                select(AuditEvent.draft_id, AuditEvent.actor, AuditEvent.kind, AuditEvent.details)
                .where(AuditEvent.kind.in_(VOTE_KINDS), AuditEvent.draft_id.in_(draft_ids))
                .order_by(AuditEvent.id)
            )
        ).all()
        failed_jobs = (
            await session.execute(
                select(Job.kind, func.count()).where(Job.status == "failed").group_by(Job.kind)
            )
        ).all()
    tally_wrong = [d for d in draft_ids if _tally(db_votes[d]) != expected.tally(d)]
    voter_wrong = [d for d in draft_ids if db_votes[d] != expected.votes[d]]
    parent_wrong = [
        d for d in draft_ids if d not in parents or _parent_tally(parents[d]) != expected.tally(d)
    ]
    total_votes = sum(len(v) for v in expected.votes.values())
    if tally_wrong or voter_wrong:
        ok = False
        print(
            f"    WRONG votes in the database: {len(tally_wrong)} drafts' tallies and {len(voter_wrong)} "
            f"drafts' per-person votes differ from the script's"
        )
        for draft_id in sorted(set(tally_wrong) | set(voter_wrong))[:5]:
            print(
                f"      draft #{draft_id}: database {_tally(db_votes[draft_id])}, "
                f"expected {expected.tally(draft_id)}"
            )
    else:
        print(
            f"    votes in the database: all {len(draft_ids)} drafts' tallies equal the script's "
            f"({total_votes} standing votes; each person's vote per draft matches too)"
        )
    if parent_wrong:
        ok = False
        print(f'    WRONG "Votes ·" line on {len(parent_wrong)} parent messages')
        for draft_id in parent_wrong[:5]:
            shown = _parent_tally(parents[draft_id]) if draft_id in parents else None
            print(f"      draft #{draft_id}: parent shows {shown}, expected {expected.tally(draft_id)}")
            history = bench.watch.parent_tallies.get(draft_id, [])[-4:]
            print(
                "        its last parent updates, as they landed: "
                + "; ".join(f"{_compact(t)} at +{(at - history[0][0]) * 1000:.0f} ms" for at, t in history)
            )
            async with bench.runtime.sessions() as session:
                jobs = (
                    await session.execute(
                        select(Job.id, Job.created_at, Job.finished_at)
                        .where(Job.draft_id == draft_id, Job.kind == "refresh_parent")
                        .order_by(Job.id)
                    )
                ).all()
            print(
                "        its last refresh_parent jobs (id: queued -> done): "
                + "; ".join(
                    f"#{i}: {c:%H:%M:%S.%f} -> {f:%H:%M:%S.%f}" if f else f"#{i}: {c:%H:%M:%S.%f} -> ?"
                    for i, c, f in jobs[-3:]
                )
            )
    else:
        print(f'    "Votes ·" line: all {len(draft_ids)} parent messages show the script\'s tally')

    # Audit: one event per counted reaction, per kind and per chain (in any order: arrival order varies).
    audited = Counter(str(kind) for _, _, kind, _ in rows)
    per_pair: dict[Pair, list[tuple[str, Any]]] = defaultdict(list)
    for draft_id, actor, kind, details in rows:
        per_pair[(str(actor), int(draft_id))].append((str(kind), details))
    if any(audited[k] != expected.changes[k] for k in VOTE_KINDS):
        ok = False
        print(
            "    WRONG audit events: "
            + ", ".join(f"{k} {audited[k]} (expected {expected.changes[k]})" for k in VOTE_KINDS)
        )
    else:
        print(
            f"    audit events: {sum(audited.values())} = the script's reactions ("
            + ", ".join(f"{k} {audited[k]}" for k in VOTE_KINDS)
            + ")"
        )

    def final(pair: Pair, votes: dict[int, dict[str, int]]) -> int | None:
        return votes[pair[1]].get(pair[0])

    # Chains whose final vote is wrong first (all of them), then a few whose trail differs.
    lost = [p for p in script if final(p, db_votes) != final(p, expected.votes)]
    trail = [
        p
        for p in script
        if p not in lost and sorted(k for k, _ in per_pair.get(p, [])) != sorted(expected.per_pair[p])
    ]
    if lost or trail:
        ok = False
        print(
            f"    WRONG: {len(lost)} (person, draft) chains end with another vote than the script's, "
            f"{len(trail)} more end right but left other audit events (sent: reaction@event_ts):"
        )
        stamps = _event_stamps(bench)
        for pair in [*lost, *trail[:5]]:
            user, draft_id = pair
            steps = " ".join(f"{r}@{ts}" for r, ts in zip(script[pair], stamps.get(pair, []), strict=False))
            audited_steps = [(k, d.get("variant"), d.get("previous")) for k, d in per_pair.get(pair, [])]
            print(
                f"      {'LOST ' if pair in lost else 'trail'} {user} on draft #{draft_id}: sent {steps}; "
                f"expected {expected.per_pair[pair]} -> {final(pair, expected.votes)}; "
                f"audited (kind, variant, previous) {audited_steps} -> {final(pair, db_votes)}"
            )
    if failed_jobs:
        ok = False
        print(f"    WRONG: jobs given up: {dict((str(k), int(c)) for k, c in failed_jobs)}")
    return ok


def _tally(votes: dict[str, int]) -> dict[int, int]:
    counts = Counter(votes.values())
    return {n: counts.get(n, 0) for n in range(1, VARIANTS + 1)}


def _compact(tally: dict[int, int] | None) -> str:
    return "-" if tally is None else "/".join(str(tally[n]) for n in sorted(tally))


def _parent_tally(message: Message) -> dict[int, int] | None:
    for block in message.blocks or []:
        for element in block.get("elements", []) if block.get("type") == "context" else []:
            text = str(element.get("text", ""))
            if text.startswith("Votes ·"):
                return {int(n): int(c) for n, c in TALLY_RE.findall(text)}
    return None


def _event_stamps(bench: Bench) -> dict[Pair, list[str]]:
    """Per chain, the event_ts the fake stamped on each of its deliveries, in sending order."""
    assert bench.fake.delivery is not None
    draft_of = {m.ts: d for (d, _), ms in variant_messages(bench).items() for m in ms}
    stamps: dict[Pair, list[str]] = defaultdict(list)
    for record in bench.fake.delivery.records_for("event"):
        event = record.payload.get("event", {})
        draft_id = draft_of.get(event.get("item", {}).get("ts"))
        if draft_id is not None and event.get("user") != bench.fake.state.bot.id:
            stamps[(str(event.get("user")), draft_id)].append(str(event.get("event_ts")))
    return stamps


# --- main -------------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> bool:
    for var in PROXY_VARS:  # slack_sdk reads these and knows no NO_PROXY; everything here is loopback
        os.environ.pop(var, None)
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    overrides = {
        "provider_concurrency": args.provider_concurrency,
        "job_concurrency": args.job_concurrency,
    }
    cpus = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    print(
        f"bench_load: L = {args.latency:.2f} s per image, {cpus} CPUs ({usable} usable), "
        f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, Python {platform.python_version()} on "
        f"{platform.system()} {platform.machine()}"
    )
    print(
        f"    {args.drafts} drafts × {VARIANTS} variants; {args.events} reaction events from {args.users} "
        f"people, {args.drafts_per_user} drafts each, seed {args.seed}, at most {args.reaction_concurrency} "
        f"in flight; provider_concurrency={args.provider_concurrency}, job_concurrency={args.job_concurrency}"
    )
    print()
    users = [f"U1VOTER{i:03d}" for i in range(1, args.users + 1)]
    started = time.perf_counter()
    ok = False
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        async with running(Path(tmp), args.latency, users, **overrides) as bench:
            draft_ids, ok = await draft_burst(bench, args.latency, args.drafts, args.drain_within)
            if ok and await wait_for_voting(bench, draft_ids, within=30):
                script = make_script(
                    random.Random(args.seed), users, sorted(draft_ids), args.events, args.drafts_per_user
                )
                expected = evaluate(script, draft_ids)
                sent = sum(len(chain) for chain in script.values())
                lengths = Counter(len(chain) for chain in script.values())
                print()
                print(
                    f"(2) {sent} reaction events in {len(script)} (person, draft) chains "
                    f"(chain lengths {dict(sorted(lengths.items()))}); the script predicts "
                    f"{sum(expected.changes.values())} audited reactions "
                    f"({', '.join(f'{k} {expected.changes[k]}' for k in VOTE_KINDS)}) and "
                    f"{sum(len(v) for v in expected.votes.values())} standing votes"
                )
                acks, outcomes, took = await vote_storm(bench, script, args.reaction_concurrency)
                print(f"    {ack_line('reaction delivery', acks)}")
                print(f"    all {sent} sent in {took:.1f} s; {dict(outcomes)}")
                settled, processed, waited = await settle(bench, sent, args.settle_within)
                state = "settled" if settled else f"NOT SETTLED after {args.settle_within:g} s"
                print(
                    f"    bot {state} {waited:.1f} s after the last ack: "
                    f"{processed} of {sent} events recorded as processed"
                )
                ok = outcomes == Counter({"HTTP 200": sent}) and settled
                print()
                ok &= await check(bench, draft_ids, script, expected)
            else:
                ok = False
    logging.getLogger().removeHandler(errors)
    if errors.records:
        ok = False
        print(
            f"    WRONG: {len(errors.records)} errors logged, first: {errors.records[0].getMessage()[:300]}"
        )
    print()
    print(f"total {time.perf_counter() - started:.1f} s; {'counts OK' if ok else 'COUNTS WRONG'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--latency", type=float, default=1.0, help="provider round trip in seconds (L)")
    parser.add_argument("--drafts", type=int, default=50, help="concurrent /draft commands")
    parser.add_argument("--events", type=int, default=500, help="reaction events in the vote script")
    parser.add_argument("--users", type=int, default=50, help="simulated people who react")
    parser.add_argument("--drafts-per-user", type=int, default=3, help="drafts each person reacts on")
    parser.add_argument("--seed", type=int, default=20240501, help="seed of the vote script")
    parser.add_argument("--reaction-concurrency", type=int, default=50, help="deliveries in flight, at most")
    parser.add_argument("--drain-within", type=float, default=120.0, help="longest wait for the variants")
    parser.add_argument("--settle-within", type=float, default=60.0, help="longest wait for the votes")
    # As in bench_slack.py: above the production defaults (4 and 8) so the 200 images drain in about
    # 13 × L instead of 50 × L. Pass 4 and 8 to measure the shipped settings.
    parser.add_argument("--provider-concurrency", type=int, default=16)
    parser.add_argument("--job-concurrency", type=int, default=20)
    args = parser.parse_args()
    if args.events < args.users * args.drafts_per_user or args.drafts_per_user > args.drafts:
        parser.error("need at least one event per (person, draft) pair, and drafts-per-user <= drafts")
    logging.basicConfig(level=logging.WARNING)
    sys.exit(0 if asyncio.run(run(args)) else 1)


if __name__ == "__main__":
    main()
