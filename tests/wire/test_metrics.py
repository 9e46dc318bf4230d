"""``GET /metrics`` after a whole draft over the wire: Prometheus' text format, parsed by prometheus_client's
own parser, with the counts the draft must have left (4 images at 1K, the 2K review and the 4K final, each
provider call ok, the acks of the command, the reactions and the buttons) and nothing that names anyone."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.errors import SlackApiError

from bot import blocks, serve
from storage import jobqueue
from tests.processes import free_port
from tests.slack_harness import ALICE, BOB, CAROL, DAVE, Wire, running_bot, shown_tally, wait_for

PROMPT = "a tangerine sailboat on a glassy lake at dawn"
ALLOWED_LABELS = {"kind", "state", "outcome", "provider", "tier", "method", "error", "le"}


def samples(page: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Every sample of the page by its name, then by its labels (sorted)."""
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def value(found: dict[str, dict[tuple[tuple[str, str], ...], float]], name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    return sum(v for key, v in found.get(name, {}).items() if set(labels.items()) <= set(key))


async def draft_to_final(wire: Wire) -> int:
    await wire.command(ALICE, f"{PROMPT} for feed post")
    parent = await wait_for(lambda: wire.parents()[-1], what="the parent")
    draft_id = int((parent.metadata or {})["event_payload"]["draft_id"])
    variants = await wait_for(lambda: (v := wire.images(draft_id)) and len(v) == 4 and v, what="4 variants")
    await wait_for(lambda: "Voting" in json.dumps(wire.parent(draft_id).blocks), what="voting to open")
    await wire.react(BOB, variants[3])
    await wire.react(CAROL, variants[3])
    await wait_for(lambda: shown_tally(wire.parent(draft_id)) == {3: 2}, what="the votes")
    await wire.press(ALICE, wire.parent(draft_id), blocks.UPGRADE, str(draft_id))
    review = await wait_for(lambda: wire.images(draft_id, "2K").get(3), what="the 2K review")
    await wire.press(DAVE, review, blocks.APPROVE, str(draft_id))
    await wait_for(lambda: wire.images(draft_id, "4K").get(3), what="the 4K final")
    await settled(wire)
    return draft_id


async def settled(wire: Wire) -> None:
    """Until the background worker has no job queued or running (``drain`` would wait out its leases)."""
    deadline = time.monotonic() + 30
    while await jobqueue.counts(wire.runtime.sessions, (jobqueue.QUEUED, jobqueue.RUNNING)):
        assert time.monotonic() < deadline, "jobs still unfinished"
        await asyncio.sleep(0.05)


async def test_metrics_after_a_draft(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "data") as wire:
        draft_id = await draft_to_final(wire)
        async with httpx.AsyncClient(base_url=wire.url) as client:
            response = await client.get("/metrics")
        team_id = wire.fake.state.team.id
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    page = response.text
    found = samples(page)

    assert value(found, "draftbot_images_total", tier="1K") == 4
    assert value(found, "draftbot_images_total", tier="2K") == 1
    assert value(found, "draftbot_images_total", tier="4K") == 1
    assert value(found, "draftbot_images_total", provider="local") == 6
    for tier, calls in (("1K", 4), ("2K", 1), ("4K", 1)):
        assert value(found, "draftbot_provider_calls_total", tier=tier, outcome="ok") == calls
        assert value(found, "draftbot_provider_call_duration_seconds_count", tier=tier) == calls
    assert value(found, "draftbot_provider_calls_total") == 6  # nothing but ok
    assert "draftbot_estimated_spend_usd_total" in page  # declared; the local renderer costs nothing

    assert value(found, "draftbot_ack_duration_seconds_count", kind="command") == 1
    assert value(found, "draftbot_ack_duration_seconds_count", kind="event") >= 2  # two reactions
    assert value(found, "draftbot_ack_duration_seconds_count", kind="interaction") == 2  # Upgrade, Approve

    # Drained: every job done, none queued, running or failed; each state of each kind is there, at 0.
    assert value(found, "draftbot_jobs", kind="generate_image", state="queued") == 0
    assert {dict(key)["state"] for key in found["draftbot_jobs"]} == {"queued", "running", "failed"}
    assert value(found, "draftbot_jobs") == 0
    assert value(found, "draftbot_job_attempts_total", kind="generate_image", outcome="done") == 6
    assert value(found, "draftbot_job_duration_seconds_count", kind="generate_image") == 6
    assert value(found, "draftbot_job_attempts_total", outcome="failed") == 0

    # Nothing that names anyone or anything: no ids, no prompt; only the bounded labels.
    for family in text_string_to_metric_families(page):
        assert family.name.startswith("draftbot_"), family.name
        for sample in family.samples:
            assert set(sample.labels) <= ALLOWED_LABELS, sample
            assert str(draft_id) not in sample.labels.values()
    for word in (team_id, ALICE, BOB, DAVE, "tangerine", "sailboat", "C0GENERAL"):
        assert word not in page, word


async def test_a_slack_error_is_counted_by_method_and_code(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "data") as wire:
        wire.fake.faults.add("chat.getPermalink", error="channel_not_found")
        with pytest.raises(SlackApiError):
            await wire.runtime.slack_app().client.chat_getPermalink(channel="C0GENERAL", message_ts="1.2")
        async with httpx.AsyncClient(base_url=wire.url) as client:
            found = samples((await client.get("/metrics")).text)
    key = (("error", "channel_not_found"), ("method", "chat.getPermalink"))
    assert found["draftbot_slack_api_errors_total"][key] == 1


async def test_the_metrics_port_moves_metrics_off_the_main_port(tmp_path: Path) -> None:
    """With DRAFTBOT_METRICS_PORT, the main port has no /metrics; bot.serve serves it on that port (as
    `draftbot serve`, `draftbot worker` and Socket Mode do), and nothing else there."""
    port = free_port()
    async with running_bot(tmp_path / "data", metrics_port=port) as wire:
        async with httpx.AsyncClient(base_url=wire.url) as client:
            assert (await client.get("/metrics")).status_code == 404
            assert (await client.get("/healthz")).status_code == 200
        with serve._metrics_socket(wire.runtime.settings, "127.0.0.1") as sock:
            async with (
                serve.serving_metrics(wire.runtime, sock),
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
            ):
                response = await client.get("/metrics")
                assert response.status_code == 200
                assert 'draftbot_jobs{kind="generate_image",state="queued"} 0.0' in response.text
                assert (await client.get("/healthz")).status_code == 404
