"""The bot as deployed, in processes of its own: fan-out, upgrade, acks, votes, workers and memory.

Run ``python benchmarks/bench_processes.py [--quick]`` (``make bench-processes``). Three kinds of process,
as issue 16 asks, so that a figure is the bot's and not the harness's:

- the bot: ``python -m bot.cli serve`` (which runs a job worker too) and, on PostgreSQL, ``python -m
  bot.cli worker`` processes, with the environment a deployment gives them;
- the fake Slack (``benchmarks/fake_slack_server.py slack``), which also signs and delivers the slash
  commands, reactions and button presses the load generator asks for over its ``/bench/`` control API,
  timing each HTTP round trip to the bot (what Slack holds to its 3 s deadline), and records when every
  Web API call started and ended and when every message was posted;
- the provider: the fake OpenAI Images API answering each request L after it arrived (it draws
  meanwhile), unlimited concurrency (``fake_slack_server.py openai``, a fourth process, so that drawing
  a 4K does not stall the fake Slack);
- and this script, the load generator, which only sends control requests and reads the records.

Phases (1) and (2) each start with one warm-up draft, printed and not counted: a deployed bot is warm,
and the first draft after a start pays once for first imports, statement compilations and connections.
(1) SQLite, shipped settings (provider concurrency 4): fan-out of 4 variants at L = 2 s and
L = 6 s, then vote → upgrade (2K) → approve (4K) at L = 2 s, with the serve process's peak RSS
(``VmHWM``) after the 4K. (2) SQLite, ``DRAFTBOT_PROVIDER_CONCURRENCY=8``: fan-out of 8 variants, then a
burst of 50 ``/draft`` at once (acks; peak RSS of the process once all 200 variants are made) and 200
reaction events at once on those drafts (acks; every draft's "Votes ·" line must equal the script's).
(3) PostgreSQL (a throwaway server, ``tests/postgres.py``): 1, 2 and 4 job-running processes (``serve``
plus 0, 1, 3 ``worker``), a batch of drafts at a fixed L, images per minute, and each process's peak RSS.
(4) SQLite, ``DRAFTBOT_IMAGES_PER_MINUTE`` far below what the provider would take (L = 0.5 s, 4 at once):
more than two minutes' worth of drafts at once, the provider's requests counted in each of the two minutes
from the first (each should be the limit, within 5%) and in the busiest 60 s (never over the limit).

Where a variant's time goes is read from the records of the other processes: the provider's request
times, the bot's audit trail (the ``generation`` event lands as the made variant is committed) and the
fake Slack's Web API calls (files.getUploadURLExternal, the upload, files.completeUploadExternal, each
files.info poll, chat.postMessage). Times are wall clock (``time.time()``) on one machine.

``--quick`` (about 4 minutes): 2, 1 and 1 fan-out drafts, 20 commands, 80 reactions, 4 drafts per worker
count, the burst drained at L = 0.5 s, a limit of 30 images per minute. The full run (about 7 minutes): 4, 3
and 3 drafts, 50 commands, 200 reactions, 24 drafts per worker count, 60 images per minute.

Nothing is asserted about time. A lost variant or a wrong tally prints WRONG and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.processes import Proc, spawn, stop_all, wait_until_up  # noqa: E402

SECRET = "bench-signing-secret-0123456789abcdef"
CHANNEL = "C0GENERAL"
REQUESTER = "U0ALICE"
BRIEF = "a matte black water bottle, dramatic side light, empty title area for mobile cover"
DRAFT_ID_RE = re.compile(r"draft #(\d+)")
# Call parameters are recorded as Python reprs: either quote.
FILE_ID_RE = re.compile(r"""["']slack_file["']: \{["']id["']: ["'](F[A-Z0-9]+)""")
NUMBER_RE = re.compile(r"""["']number["']: (\d+)""")
DRAFT_RE = re.compile(r"""["']draft_id["']: (\d+)""")
SCALE_LATENCY = 3.0
PACE_LATENCY = 0.5
PACE_TRAVEL = 0.5  # seconds: see pacing()


def voter(k: int) -> str:
    return f"U{k:05d}"


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100): an observed value, so p99 of 50 samples is the worst."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else math.nan


def med(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


# --------------------------------------------------------------------------------------------- processes


@dataclass
class Fakes:
    """The fake Slack and the fixed-latency provider, each in its own process."""

    slack_url: str
    slack_api: str
    token: str
    images_url: str
    images_key: str
    procs: list[asyncio.subprocess.Process]
    http: httpx.AsyncClient

    async def control(self, path: str, body: dict[str, Any] | None = None, base: str | None = None) -> Any:
        url = f"{base or self.slack_url}/bench/{path}"
        response = await (self.http.post(url, json=body) if body is not None else self.http.get(url))
        response.raise_for_status()
        return response.json()

    async def set_latency(self, seconds: float) -> None:
        await self.control("latency", {"seconds": seconds}, base=self.images_url)

    async def messages(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.control(f"messages?channel={CHANNEL}")
        return result

    async def commands(self, texts: list[str]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = await self.control(
            "commands", {"user": REQUESTER, "channel": CHANNEL, "texts": texts}
        )
        for r in results:
            match = DRAFT_ID_RE.search(r.get("text") or "")
            r["draft_id"] = int(match.group(1)) if match else None
        return results


async def _start_fake(role: str, *extra: str) -> tuple[asyncio.subprocess.Process, dict[str, Any]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "benchmarks" / "fake_slack_server.py"),
        role,
        *extra,
        stdout=asyncio.subprocess.PIPE,
        env=clean_env(),
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
    return proc, json.loads(line)


@contextlib.asynccontextmanager
async def running_fakes(users: int) -> AsyncIterator[Fakes]:
    slack, slack_info = await _start_fake("slack", "--users", str(users))
    images, images_info = await _start_fake("openai")
    async with httpx.AsyncClient(trust_env=False, timeout=120) as http:
        try:
            yield Fakes(
                slack_info["url"],
                slack_info["api"],
                slack_info["token"],
                images_info["url"],
                images_info["key"],
                [slack, images],
                http,
            )
        finally:
            for proc in (slack, images):
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
                await proc.wait()


def clean_env() -> dict[str, str]:
    drop = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in drop and not k.startswith(("SLACK_", "DRAFTBOT_", "OPENAI_", "GEMINI_"))
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def bot_env(fakes: Fakes, data_dir: Path, url: str, **extra: str) -> dict[str, str]:
    return clean_env() | {
        "SLACK_BOT_TOKEN": fakes.token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fakes.slack_api,
        "DRAFTBOT_DATA_DIR": str(data_dir),
        "DRAFTBOT_DATABASE_URL": url,
        "DRAFTBOT_PROVIDER": "openai",
        "OPENAI_API_KEY": fakes.images_key,
        "OPENAI_BASE_URL": f"{fakes.images_url}/v1",
        **extra,
    }


@contextlib.asynccontextmanager
async def running_bot(
    fakes: Fakes, workdir: Path, env: dict[str, str], workers: int = 0
) -> AsyncIterator[list[Proc]]:
    workdir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, before anything runs)
    procs = [await spawn("serve", workdir, env)]
    await wait_until_up(procs, within=60)  # serve migrates the database first; the workers then start
    more = [await spawn(f"worker-{k + 1}", workdir, env) for k in range(workers)]
    try:
        await wait_until_up(more, within=60)
        serve = procs[0]
        await fakes.control(
            "connect", {"url": f"http://127.0.0.1:{serve.port}/slack/events", "secret": SECRET}
        )
        yield procs + more
    finally:
        await stop_all(procs + more)


def vm_hwm_mb(proc: Proc) -> float:
    """Peak resident set size of the process so far (VmHWM), in MB."""
    with open(f"/proc/{proc.proc.pid}/status") as status:
        lines = status.read().splitlines()
    for line in lines:
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


# ----------------------------------------------------------------------------------------------- reading


def images_of(messages: list[dict[str, Any]], draft_id: int, tier: str = "1K") -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for m in messages:
        payload = m["payload"]
        if (
            m["event_type"] == "draftbot_image"
            and payload.get("tier") == tier
            and payload["draft_id"] == draft_id
        ):
            found.setdefault(int(payload["number"]), m)
    return found


def parent_of(messages: list[dict[str, Any]], draft_id: int) -> dict[str, Any] | None:
    for m in messages:
        if m["event_type"] == "draftbot_draft" and int(m["payload"]["draft_id"]) == draft_id:
            return m
    return None


def count_images(messages: list[dict[str, Any]], draft_ids: set[int], tier: str = "1K") -> Counter[int]:
    """Variant messages per draft, duplicates included."""
    found: Counter[int] = Counter()
    for m in messages:
        payload = m["payload"]
        if (
            m["event_type"] == "draftbot_image"
            and payload.get("tier") == tier
            and payload["draft_id"] in draft_ids
        ):
            found[int(payload["draft_id"])] += 1
    return found


async def wait_messages(
    fakes: Fakes, done: Callable[[list[dict[str, Any]]], bool], within: float, every: float = 0.2
) -> tuple[bool, list[dict[str, Any]]]:
    deadline = time.time() + within
    while True:
        messages = await fakes.messages()
        if done(messages):
            return True, messages
        if time.time() > deadline:
            return False, messages
        await asyncio.sleep(every)


async def audit_rows(url: str) -> list[dict[str, Any]]:
    from bot import audit
    from storage import db

    engine = db.create_engine(url)
    try:
        return [row async for row in audit.events(db.session_factory(engine))]
    finally:
        await engine.dispose()


def epoch(iso: str) -> float:
    from datetime import datetime

    at = datetime.fromisoformat(iso)
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


# ------------------------------------------------------------------------------------------------ spans


@dataclass
class Spans:
    """Per-stage durations (seconds) of the variants measured, pooled over rounds."""

    stages: dict[str, list[float]] = field(default_factory=dict)
    polls: list[int] = field(default_factory=list)
    refreshes: list[int] = field(default_factory=list)

    def add(self, stage: str, value: float) -> None:
        self.stages.setdefault(stage, []).append(value)

    def lines(self, latency: float) -> list[str]:
        out = []
        for stage, values in self.stages.items():
            out.append(
                f"    {stage:<44} median {med(values) * 1000:>7.0f} ms   max {max(values) * 1000:>7.0f} ms"
            )
        if self.polls:
            out.append(
                f"    files.info polls per variant: median {med([float(p) for p in self.polls]):.0f}, "
                f"max {max(self.polls)}; parent chat.update per draft: "
                f"median {med([float(r) for r in self.refreshes]):.0f}"
            )
        return out


STAGES = (
    "ack → provider request arrives (claim, hop)",
    "provider beyond L (the fake drawing longer than L)",
    "provider answer → generate() returns (read, parse)",
    "generate() returns → committed (fit, encode, blob)",
    "generation committed → getUploadURL (hop)",
    "upload: getUploadURL → completeUpload done",
    "file-ready wait (files.info polls)",
    "ready → chat.postMessage posted",
    "total beyond L (command sent → posted − L)",
)


def variant_spans(
    spans: Spans,
    draft_id: int,
    sent: float,
    ack: float,
    latency: float,
    provider: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    calls: list[dict[str, Any]],
    posted: dict[int, float],
    tier: str = "1K",
) -> None:
    """One draft's variants, stage by stage (see STAGES), from the three records."""
    generations = sorted(
        (epoch(r["at"]), int(r["details"]["number"]), float(r["details"].get("latency_ms") or 0) / 1000)
        for r in rows
        if r["draft_id"] == draft_id and r["kind"] == "generation" and r["details"].get("tier") == tier
    )
    requests = sorted((r for r in provider if "t1" in r), key=lambda r: r["t1"])[: len(generations)]
    made: dict[int, float] = {number: at for at, number, _ in generations}
    # The k-th answer is paired with the k-th commit (the provider's requests carry no variant number).
    # The bot's own provider time (the audit's latency_ms, from sending the request) places the moment
    # generate() returned: the request's arrival + latency_ms (loopback sends take a millisecond).
    for request, (at, _number, took) in zip(requests, generations, strict=False):
        returned = request["t0"] + took
        spans.add(STAGES[0], request["t0"] - (sent + ack))
        spans.add(STAGES[1], request["t1"] - request["t0"] - latency)
        spans.add(STAGES[2], returned - request["t1"])
        spans.add(STAGES[3], at - returned)
    # From the fake Slack's calls, exact per file: postMessage names the file, completeUpload and files.info
    # name it too, getUploadURL answers with it.
    by_file: dict[str, dict[str, Any]] = {}
    for call in calls:
        file_id = call.get("answer_file_id") or call.get("file")
        if call["method"] == "files.completeUploadExternal":
            found = re.search(r"F[A-Z0-9]{6,}", call.get("files", ""))
            file_id = found.group(0) if found else None
        if file_id:
            by_file.setdefault(str(file_id), {}).setdefault(call["method"], []).append(call)
    refreshes = 0
    for call in calls:
        if call["method"] == "chat.postMessage":
            found = FILE_ID_RE.search(call.get("blocks", ""))
            meta = call.get("metadata", "")
            if not found:
                continue
            number_match = NUMBER_RE.search(meta)
            draft_match = DRAFT_RE.search(meta)
            if not number_match or not draft_match or int(draft_match.group(1)) != draft_id:
                continue
            number = int(number_match.group(1))
            steps = by_file.get(found.group(1), {})
            start = steps.get("files.getUploadURLExternal", [{}])[0].get("t0")
            done = steps.get("files.completeUploadExternal", [{}])[-1].get("t1")
            infos = steps.get("files.info", [])
            if start is None or done is None or number not in made:
                continue
            ready = infos[-1]["t1"] if infos else done
            spans.add(STAGES[4], start - made[number])
            spans.add(STAGES[5], done - start)
            spans.add(STAGES[6], ready - done)
            spans.add(STAGES[7], posted.get(number, call["t1"]) - ready)
            spans.polls.append(len(infos))
        elif call["method"] == "chat.update":
            refreshes += 1
    spans.refreshes.append(refreshes)
    for number, at in posted.items():
        del number
        spans.add(STAGES[8], at - sent - latency)


# ---------------------------------------------------------------------------------------------- phases


@dataclass
class Results:
    fanout: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # label → (4th/L, first−L)
    upgrade: float = math.nan
    approve: float = math.nan
    ack: list[float] = field(default_factory=list)
    events: list[float] = field(default_factory=list)
    scale: dict[int, float] = field(default_factory=dict)
    ok: bool = True
    notes: list[str] = field(default_factory=list)


def brief_for(variants: int) -> str:
    """The benchmark's brief, asking for ``variants`` (4, the default, is not typed)."""
    return f"{BRIEF} --n {variants}" if variants != 4 else BRIEF


async def warm_up(fakes: Fakes, results: Results, variants: int) -> None:
    """One draft before anything is measured: a deployed bot is warm, and the first draft after a start
    pays once for first imports, first statement compilations and first connections (printed, not counted)."""
    await fakes.set_latency(2.0)
    brief = brief_for(variants)
    [sent] = await fakes.commands([brief])
    draft_id = sent["draft_id"]
    ok, messages = await wait_messages(
        fakes, lambda ms: draft_id is not None and len(images_of(ms, draft_id)) >= variants, within=60
    )
    if not ok:
        print(f"  WRONG: the warm-up draft was not made: {sent}")
        results.ok = False
        return
    last = max(m["posted"] for m in images_of(messages, draft_id).values()) - sent["sent"]
    print(
        f"  warm-up: draft #{draft_id}, the first after the start, last variant at {last:.2f} s "
        f"(L = 2 s; ack {sent['ms']:.0f} ms); not counted"
    )
    await asyncio.sleep(1.0)  # its contact sheet and last refreshes, before anything is timed


async def fan_out(
    fakes: Fakes,
    db_url: str,
    results: Results,
    latency: float,
    rounds: int,
    variants: int,
    label: str,
) -> int | None:
    """``rounds`` drafts one after another; the last draft's id."""
    await fakes.set_latency(latency)
    print(
        f"  fan-out {label}: /draft … --n {variants} at L = {latency:g} s, {rounds} drafts one after another"
    )
    print(f"  {'draft':>5} {'ack':>7} {'parent':>7} {'first':>7} {'last':>7} {'last/L':>7} {'first−L':>8}")
    spans = Spans()
    last: int | None = None
    for _ in range(rounds):
        brief = brief_for(variants)
        [sent] = await fakes.commands([brief])
        draft_id = sent["draft_id"]
        if draft_id is None:
            print(f"  WRONG: not accepted: {sent}")
            results.ok = False
            return None
        ok, messages = await wait_messages(
            fakes,
            lambda ms, d=draft_id: len(images_of(ms, d)) >= variants,
            within=30 + 4 * latency,
            every=0.1,
        )
        if not ok:
            print(f"  WRONG: draft #{draft_id} timed out with {len(images_of(messages, draft_id))} variants")
            results.ok = False
            return None
        await asyncio.sleep(0.3)  # the parent's last refresh
        images = images_of(await fakes.messages(), draft_id)
        posted = {n: m["posted"] for n, m in images.items()}
        times = sorted(t - sent["sent"] for t in posted.values())
        parent = parent_of(messages, draft_id)
        parent_at = (parent["posted"] - sent["sent"]) if parent else math.nan
        first, fourth = times[0], times[variants - 1]
        results.fanout.setdefault(label, []).append((fourth / latency, first - latency))
        print(
            f"  {draft_id:>5} {sent['ms']:>5.0f}ms {parent_at:>6.2f}s {first:>6.2f}s {fourth:>6.2f}s "
            f"{fourth / latency:>7.2f} {(first - latency) * 1000:>6.0f}ms"
        )
        provider = await fakes.control(f"requests?since={sent['sent']}", base=fakes.images_url)
        calls = await fakes.control(f"calls?since={sent['sent']}")
        rows = await audit_rows(db_url)
        variant_spans(
            spans, draft_id, sent["sent"], sent["ms"] / 1000, latency, provider, rows, calls, posted
        )
        counts = count_images(await fakes.messages(), {draft_id})
        if counts[draft_id] != variants:
            print(f"  WRONG: draft #{draft_id} has {counts[draft_id]} variant messages")
            results.ok = False
        last = draft_id
    ratios = [r for r, _ in results.fanout[label]]
    firsts = [f for _, f in results.fanout[label]]
    print(
        f"  median last/L {med(ratios):.2f} (target ≤ 1.05), median first − L {med(firsts) * 1000:.0f} ms "
        f"(target ≤ 150 ms)"
    )
    print("  where the time beyond L goes, per variant (server-side records):")
    for line in spans.lines(latency):
        print(line)
    return last


async def upgrade_and_approve(
    fakes: Fakes, db_url: str, results: Results, draft_id: int, latency: float
) -> None:
    await fakes.set_latency(latency)
    messages = await fakes.messages()
    images = images_of(messages, draft_id)
    parent = parent_of(messages, draft_id)
    assert parent is not None
    print(
        f"  upgrade and approve of draft #{draft_id} at L₂ₖ = L₄ₖ = {latency:g} s (fixed latency per request)"
    )
    [vote] = await fakes.control(
        "reactions",
        {"channel": CHANNEL, "items": [{"user": voter(0), "ts": images[1]["ts"], "name": "+1", "add": True}]},
    )
    ok, messages = await wait_messages(
        fakes, lambda ms: ((parent_of(ms, draft_id) or {}).get("tally") or {}).get("1") == 1, within=20
    )
    if not ok:
        print("  WRONG: the vote never showed on the parent")
        results.ok = False
        return
    upgrade = {"user": REQUESTER, "channel": CHANNEL, "ts": parent["ts"], "action_id": "draft_upgrade"}
    review = await press_until_posted(
        fakes, db_url, results, draft_id, latency, upgrade | {"value": str(draft_id)}, "2K"
    )
    if review is None:
        return
    approve = {"user": REQUESTER, "channel": CHANNEL, "ts": review["ts"], "action_id": "draft_approve"}
    await press_until_posted(fakes, db_url, results, draft_id, latency, approve, "4K")
    del vote


# What each press is for, in the printed line: the target beyond L, and how long to wait for the image.
_PRESSED = {"2K": ("press", "L₂ₖ", 200, 60), "4K": ("approve", "L₄ₖ", 400, 90)}


async def press_until_posted(
    fakes: Fakes,
    db_url: str,
    results: Results,
    draft_id: int,
    latency: float,
    button: dict[str, Any],
    tier: str,
) -> dict[str, Any] | None:
    """Press ``button`` and time it until the draft's ``tier`` image is posted; print where the time went.
    The posted image message, or None (said, and the run marked wrong) when it never came."""
    what, label, target_ms, within = _PRESSED[tier]
    press = await fakes.control("press", button)
    ok, messages = await wait_messages(
        fakes, lambda ms: bool(images_of(ms, draft_id, tier)), within=within, every=0.1
    )
    if not ok:
        print(f"  WRONG: no {tier} after the {what} ({press})")
        results.ok = False
        return None
    posted = next(iter(images_of(messages, draft_id, tier).values()))
    beyond = posted["posted"] - press["sent"] - latency
    if tier == "2K":
        results.upgrade = beyond
    else:
        results.approve = beyond
    provider = await fakes.control(f"requests?since={press['sent']}", base=fakes.images_url)
    late = [max(0.0, r["t1"] - r["t0"] - latency) for r in provider if "t1" in r]
    print(
        f"    {what} → {tier} posted {posted['posted'] - press['sent']:.2f} s = {label} + "
        f"{beyond * 1000:.0f} ms (target + {target_ms} ms; press ack {press['ms']:.0f} ms; "
        f"the fake's answer late by {med(late) * 1000:.0f} ms of it)"
    )
    spans = Spans()
    rows = await audit_rows(db_url)
    calls = await fakes.control(f"calls?since={press['sent']}")
    variant_spans(
        spans,
        draft_id,
        press["sent"],
        press["ms"] / 1000,
        latency,
        provider,
        rows,
        calls,
        {1: posted["posted"]},
        tier,
    )
    for line in spans.lines(latency):
        print(line)
    return posted


async def ack_burst(
    fakes: Fakes, db_url: str, results: Results, serve: Proc, n: int, latency: float, drain_latency: float
) -> list[int]:
    await fakes.set_latency(latency)
    print(f"  ack: {n} /draft commands at once (L = {latency:g} s)")
    before = vm_hwm_mb(serve)
    started = time.time()
    sent = await fakes.commands([f"burst {i}: {BRIEF}" for i in range(n)])
    acks = [r["ms"] for r in sent]
    results.ack = acks
    statuses = Counter(r["status"] for r in sent)
    print(
        f"    ack p50 {percentile(acks, 50):.0f} ms, p99 {percentile(acks, 99):.0f} ms (target ≤ 150 ms), "
        f"max {max(acks):.0f} ms; HTTP {dict(statuses)}"
    )
    draft_ids = [r["draft_id"] for r in sent if r["draft_id"] is not None]
    # The draft's `command` audit event commits with the draft: before it, the request queued (signature
    # record, Bolt, the writer); after it, the answer's way back.
    rows = await audit_rows(db_url)
    burst = set(draft_ids)
    committed = {
        r["draft_id"]: epoch(r["at"]) for r in rows if r["kind"] == "command" and r["draft_id"] in burst
    }
    before_commit = [committed[r["draft_id"]] - r["sent"] for r in sent if r["draft_id"] in committed]
    after_commit = [
        r["sent"] + r["ms"] / 1000 - committed[r["draft_id"]] for r in sent if r["draft_id"] in committed
    ]
    if before_commit:
        order = sorted(committed.values())
        spread = order[-1] - order[0]
        print(
            f"    sent → draft committed: median {med(before_commit) * 1000:.0f} ms, "
            f"max {max(before_commit) * 1000:.0f} ms; committed → ack received: median "
            f"{med(after_commit) * 1000:.0f} ms; the {len(order)} commits spread over "
            f"{spread * 1000:.0f} ms ({spread / len(order) * 1000:.1f} ms each)"
        )
    if len(set(draft_ids)) != n:
        print(f"    WRONG: {len(set(draft_ids))} of {n} acknowledged with a draft id")
        results.ok = False
    if drain_latency != latency:
        await fakes.set_latency(drain_latency)
    wanted = set(draft_ids)
    ok, messages = await wait_messages(
        fakes, lambda ms: sum(count_images(ms, wanted).values()) >= 4 * len(wanted), within=300, every=1.0
    )
    counts = count_images(messages, wanted)
    wrong = {d: c for d, c in counts.items() if c != 4}
    missing = wanted - set(counts)
    print(
        f"    {n} × 4 variants {'all posted' if ok else 'TIMED OUT'} in {time.time() - started:.1f} s "
        f"(L = {drain_latency:g} s while draining); serve peak RSS {before:.0f} MB before the burst, "
        f"{vm_hwm_mb(serve):.0f} MB after (target ≤ 400 MB)"
    )
    if wrong or missing or not ok:
        print(f"    WRONG: drafts without exactly 4 variants: {wrong}, none: {sorted(missing)}")
        results.ok = False
    results.notes.append(f"burst_rss_mb={vm_hwm_mb(serve):.0f}")
    return draft_ids


async def vote_storm(fakes: Fakes, results: Results, draft_ids: list[int], events: int, seed: int) -> None:
    """``events`` reaction_added at once: voter k votes once on each of a few drafts."""
    messages = await fakes.messages()
    rng = random.Random(seed)
    per_voter = max(1, min(len(draft_ids), math.ceil(events / 50)))
    voters = math.ceil(events / per_voter)
    items, expected = [], {d: Counter[int]() for d in draft_ids}
    for k in range(voters):
        for d in rng.sample(draft_ids, per_voter):
            if len(items) == events:
                break
            number = rng.randint(1, 4)
            items.append(
                {"user": voter(k), "ts": images_of(messages, d)[number]["ts"], "name": "+1", "add": True}
            )
            expected[d][number] += 1
    print(f"  events: {len(items)} reaction_added at once ({voters} people × {per_voter} drafts)")
    sent = await fakes.control("reactions", {"channel": CHANNEL, "items": items})
    acks = [r["ms"] for r in sent]
    results.events = acks
    statuses = Counter(r["status"] for r in sent)
    print(
        f"    ack p50 {percentile(acks, 50):.0f} ms, p99 {percentile(acks, 99):.0f} ms (target ≤ 100 ms), "
        f"max {max(acks):.0f} ms; HTTP {dict(statuses)}"
    )

    def tallied(ms: list[dict[str, Any]]) -> bool:
        for d in draft_ids:
            tally = (parent_of(ms, d) or {}).get("tally") or {}
            if {int(n): c for n, c in tally.items() if c} != {n: c for n, c in expected[d].items() if c}:
                return False
        return True

    started = time.time()
    ok, messages = await wait_messages(fakes, tallied, within=60, every=0.5)
    if ok:
        print(
            f"    every draft's Votes line equals the script's ({len(items)} votes) "
            f"{time.time() - started:.1f} s after the last ack; nothing lost"
        )
    else:
        wrong = {
            d: ((parent_of(messages, d) or {}).get("tally"), dict(expected[d]))
            for d in draft_ids
            if not tallied([m for m in messages if m["payload"].get("draft_id") == d])
        }
        print(f"    WRONG: tallies differ (shown, expected): {wrong}")
        results.ok = False


async def scale(tmp: Path, results: Results, drafts: int, counts: list[int]) -> None:
    try:
        from tests.postgres import PostgresUnavailable, create_database, running_cluster
    except ImportError as err:  # pytest missing: not a dev install
        print(f"  scale: skipped ({err})")
        return
    try:
        with running_cluster() as cluster:
            for n in counts:
                url = await create_database(cluster)
                async with contextlib.AsyncExitStack() as stack:
                    fakes = await stack.enter_async_context(running_fakes(users=4))
                    await fakes.set_latency(SCALE_LATENCY)
                    env = bot_env(fakes, tmp / f"pg-{n}" / "data", url)
                    procs = await stack.enter_async_context(
                        running_bot(fakes, tmp / f"pg-{n}", env, workers=n - 1)
                    )
                    sent = await fakes.commands([f"scale {k}: {BRIEF}" for k in range(drafts)])
                    wanted = {r["draft_id"] for r in sent if r["draft_id"] is not None}
                    start = min(r["sent"] for r in sent)
                    ok, messages = await wait_messages(
                        fakes,
                        lambda ms, w=wanted: sum(count_images(ms, w).values()) >= 4 * len(w),
                        within=600,
                        every=0.5,
                    )
                    posted = sorted(
                        m["posted"]
                        for m in messages
                        if m["event_type"] == "draftbot_image" and int(m["payload"]["draft_id"]) in wanted
                    )
                    elapsed = posted[-1] - start if posted else math.nan
                    rate = len(posted) / elapsed * 60
                    results.scale[n] = rate
                    ideal = 4 * 60 / SCALE_LATENCY * n
                    rss = ", ".join(f"{p.name} {vm_hwm_mb(p):.0f}" for p in procs)
                    counts_ = count_images(messages, wanted)
                    if not ok or any(c != 4 for c in counts_.values()):
                        print(
                            f"    WRONG: {n} processes: {sum(counts_.values())} of {4 * len(wanted)} posted"
                        )
                        results.ok = False
                    print(
                        f"    {n} job-running process(es): {len(posted)} images in {elapsed:.1f} s = "
                        f"{rate:.0f}/min "
                        f"(provider-limited ideal {ideal:.0f}/min, {rate / ideal:.0%}); "
                        f"×{rate / results.scale[counts[0]]:.2f} of 1; peak RSS MB: {rss}"
                    )
    except PostgresUnavailable as err:
        print(f"  scale: skipped, no PostgreSQL ({err})")


async def pacing(tmp: Path, results: Results, per_minute: int) -> None:
    """``DRAFTBOT_IMAGES_PER_MINUTE`` below what the provider could take: more drafts than two minutes of
    the limit, at once, and the provider's request starts counted in the two minutes that follow."""
    url = f"sqlite+aiosqlite:///{tmp / 'pace' / 'data' / 'draftbot.db'}"
    async with running_fakes(users=4) as fakes:
        await fakes.set_latency(PACE_LATENCY)
        env = bot_env(fakes, tmp / "pace" / "data", url, DRAFTBOT_IMAGES_PER_MINUTE=str(per_minute))
        async with running_bot(fakes, tmp / "pace", env):
            drafts = (2 * per_minute) // 4 + 4  # more than two windows' worth
            sent = await fakes.commands([f"pace {k}: {BRIEF}" for k in range(drafts)])
            start = min(r["sent"] for r in sent)
            await asyncio.sleep(2 * 60 + 5)
            provider = await fakes.control(f"requests?since={start}", base=fakes.images_url)
    starts = sorted(r["t0"] for r in provider)
    if not starts:
        print("    WRONG: the provider saw no request")
        results.ok = False
        return
    first = starts[0]
    windows = [sum(1 for t in starts if first + 60 * k <= t < first + 60 * (k + 1)) for k in (0, 1)]
    # Counted where the requests arrive: one that set off a whole 60 s after another can arrive a little
    # sooner after it (the first ones also opened their connections), so the busiest window is 60 s less
    # that travel allowance.
    window = 60 - PACE_TRAVEL
    most = max(sum(1 for t in starts[i:] if t < begin + window) for i, begin in enumerate(starts))
    unpaced = 4 * 60 / PACE_LATENCY
    print(
        f"    limit {per_minute}/min (unpaced, the provider would take {unpaced:.0f}/min): "
        f"{windows[0]} and {windows[1]} requests in the first two minutes from the first "
        f"({windows[0] / per_minute:.0%}, {windows[1] / per_minute:.0%} of the limit; target within 5%), "
        f"at most {most} in any {window:g} s"
    )
    if most > per_minute:
        print(f"    WRONG: {most} requests within {window:g} s, over the limit of {per_minute}")
        results.ok = False
    results.notes.append(f"pace={windows[1] / per_minute:.2f}")


async def run(args: argparse.Namespace) -> bool:
    results = Results()
    cpus = os.cpu_count()
    print(
        f"bench_processes{' --quick' if args.quick else ''}: {cpus} CPUs, load {os.getloadavg()[0]:.1f}, "
        f"Python {platform.python_version()}; the bot, the fake Slack, the provider and this script in "
        "separate processes"
    )
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="bench-processes-") as name:
        tmp = Path(name)
        print()
        print("(1) SQLite, shipped settings (provider concurrency 4); `serve` runs the worker")
        url1 = f"sqlite+aiosqlite:///{tmp / 'one' / 'data' / 'draftbot.db'}"
        async with running_fakes(users=4) as fakes:
            env = bot_env(fakes, tmp / "one" / "data", url1)
            async with running_bot(fakes, tmp / "one", env) as procs:
                await warm_up(fakes, results, 4)
                last = await fan_out(fakes, url1, results, 2.0, args.rounds, 4, "L=2s")
                await fan_out(fakes, url1, results, 6.0, args.rounds6, 4, "L=6s")
                if last is not None:
                    before = vm_hwm_mb(procs[0])
                    await upgrade_and_approve(fakes, url1, results, last, 2.0)
                    peak = vm_hwm_mb(procs[0])
                    print(
                        f"    serve peak RSS {before:.0f} MB before the upgrade, {peak:.0f} MB after the 4K "
                        "(target ≤ 250 MB per worker)"
                    )
                    results.notes.append(f"rss_4k_mb={peak:.0f}")
        print()
        print("(2) SQLite, DRAFTBOT_PROVIDER_CONCURRENCY=8")
        url2 = f"sqlite+aiosqlite:///{tmp / 'two' / 'data' / 'draftbot.db'}"
        async with running_fakes(users=max(60, args.events)) as fakes:
            env = bot_env(fakes, tmp / "two" / "data", url2, DRAFTBOT_PROVIDER_CONCURRENCY="8")
            async with running_bot(fakes, tmp / "two", env) as procs:
                await warm_up(fakes, results, 8)
                await fan_out(fakes, url2, results, 2.0, args.rounds8, 8, "8 variants")
                draft_ids = await ack_burst(
                    fakes, url2, results, procs[0], args.burst, 2.0, args.drain_latency
                )
                if draft_ids:
                    await vote_storm(fakes, results, draft_ids, args.events, args.seed)
        print()
        print(
            f"(3) PostgreSQL: images per minute at a fixed L = {SCALE_LATENCY:g} s, "
            f"{args.scale_drafts} drafts × 4"
        )
        await scale(tmp, results, args.scale_drafts, [1, 2, 4])
        print()
        print(
            f"(4) SQLite, DRAFTBOT_IMAGES_PER_MINUTE={args.per_minute}: pacing past the limit, "
            f"L = {PACE_LATENCY:g} s"
        )
        await pacing(tmp, results, args.per_minute)
    fan2 = results.fanout.get("L=2s", [])
    fanout4 = med([r for r, _ in fan2])
    first = med([f for _, f in fan2])
    scale4 = results.scale.get(4, math.nan) / results.scale.get(1, math.nan) if results.scale else math.nan
    print()
    print(
        f"total {time.time() - started:.0f} s; {'counts OK' if results.ok else 'COUNTS WRONG'}; "
        + " ".join(results.notes)
    )
    print(
        f"fanout4={fanout4:.2f}×L first={first:.2f}s ack_p99={percentile(results.ack, 99):.0f}ms "
        f"events_p99={percentile(results.events, 99):.0f}ms scale4={scale4:.2f}×"
    )
    return results.ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller counts: about 4 minutes")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    quick = args.quick
    args.rounds = 2 if quick else 4
    args.rounds6 = 1 if quick else 3
    args.rounds8 = 1 if quick else 3
    # quick: the burst's drafts take about 0.25 s of CPU per image on 2 cores, so fewer of them
    args.burst = 20 if quick else 50
    args.events = 80 if quick else 200
    args.drain_latency = 0.5 if quick else 2.0
    args.scale_drafts = 4 if quick else 24
    args.per_minute = 30 if quick else 60
    sys.exit(0 if asyncio.run(run(args)) else 1)


if __name__ == "__main__":
    main()
