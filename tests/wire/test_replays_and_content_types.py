"""The HTTP edge over the wire: a signed request replayed (later or at once, to one or two servers on one
database) is handled once; what is not a Slack request by its content type or bytes is refused before Bolt
reads it; /readyz reports the database (and its migrations), the image store and Slack, /healthz only that the
process serves."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select

from bot.runtime import Runtime, open_runtime
from bot.web import build_web_app
from fakes.asgi import serve_asgi
from fakes.slack import FakeSlack, Workspace, serve_fake_slack
from fakes.slack.delivery import DeliveryRecord
from storage.blobs import FileBlobStore
from storage.models import AcceptedRequest, AuditEvent, Draft
from tests.slack_harness import (
    ALICE,
    BOB,
    CHANNEL,
    SECRET,
    USERS,
    Wire,
    running_bot,
    shown_tally,
    wait_for,
    wire_settings,
)

FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
BRIEF = "a red kite over a beach for story --n 1"


async def count(runtime: Runtime, model: type[Draft] | type[AcceptedRequest]) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def commands_audited(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        query = select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "command")
        return int(await session.scalar(query) or 0)


async def post(http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await http.post(f"{url}/slack/events", content=body, headers=headers)


def resigned(wire: Wire, record: DeliveryRecord, seconds_earlier: int) -> dict[str, str]:
    """The same request, signed again at another (valid) time: a new signature."""
    timestamp = int(record.headers["X-Slack-Request-Timestamp"]) - seconds_earlier
    return {"Content-Type": FORM, **wire.delivery.signature_headers(record.body, timestamp)}


async def test_a_replayed_command_drafts_once_and_a_resigned_one_is_new(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "data") as wire, httpx.AsyncClient(trust_env=False, timeout=30) as http:
        first = await wire.command(ALICE, BRIEF)
        assert first.status_code == 200
        record = wire.delivery.records_for("slash_command")[-1]
        assert record.headers["Content-Type"] == FORM  # the fake sends what Slack sends
        for _ in range(4):  # the same timestamp and signature again: refused, and nothing happens
            again = await post(http, wire.url, record.body, record.headers)
            assert again.status_code == 401 and again.json() == {"error": "replayed request"}
        assert await count(wire.runtime, Draft) == 1

        # Signed anew, it is a new request; five copies of it at once are still handled once.
        headers = resigned(wire, record, 1)
        answers = await asyncio.gather(*(post(http, wire.url, record.body, headers) for _ in range(5)))
        assert sorted(a.status_code for a in answers) == [200, 401, 401, 401, 401]
        await wait_for(lambda: len(wire.parents()) == 2, what="two parents")
        assert await count(wire.runtime, Draft) == 2
        assert await commands_audited(wire.runtime) == 2
        await asyncio.sleep(0.3)  # nothing else turns up
        assert len(wire.parents()) == 2

        # Events are protected alike (and the fake sends them as JSON).
        assert (await wire.delivery.send_url_verification()).status_code == 200
        sent = wire.delivery.records_for("url_verification")[-1]
        assert sent.headers["Content-Type"] == JSON_TYPE
        assert (await post(http, wire.url, sent.body, sent.headers)).status_code == 401

        # An Events API callback is recorded by its event id with the vote it causes instead: a copy is
        # answered (no database write in front of the ack) and changes nothing.
        accepted = await count(wire.runtime, AcceptedRequest)
        variant = await wait_for(lambda: wire.images(1).get(1), what="variant 1 of draft 1")
        await wire.react(BOB, variant)
        reaction = wire.delivery.records_for("event")[-1]
        for _ in range(3):
            assert (await post(http, wire.url, reaction.body, reaction.headers)).status_code == 200
        assert await count(wire.runtime, AcceptedRequest) == accepted
        await wait_for(lambda: shown_tally(wire.parent(1)) == {1: 1}, what="the one vote")
        await asyncio.sleep(0.3)
        assert shown_tally(wire.parent(1)) == {1: 1}


async def test_a_request_that_was_not_handled_is_not_remembered(tmp_path: Path) -> None:
    """Bolt answers a command nobody listens to with 404: Slack's redelivery must get the same answer."""
    async with running_bot(tmp_path / "data") as wire, httpx.AsyncClient(trust_env=False) as http:
        response = await wire.delivery.send_slash_command(ALICE, CHANNEL, "x", command="/nobody")
        assert response.status_code == 404
        record = wire.delivery.records_for("slash_command")[-1]
        assert (await post(http, wire.url, record.body, record.headers)).status_code == 404
        assert await count(wire.runtime, AcceptedRequest) == 0


def command_fields(wire: Wire, text: str = BRIEF) -> dict[str, str]:
    return {
        "team_id": wire.fake.state.team.id,
        "channel_id": CHANNEL,
        "user_id": ALICE,
        "user_name": "alice",
        "command": "/draft",
        "text": text,
        "response_url": wire.fake.issue_response_url(ALICE, CHANNEL),
        "trigger_id": wire.fake.issue_trigger_id(ALICE),
    }


async def test_only_slack_content_types_and_utf8_reach_bolt(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "data") as wire, httpx.AsyncClient(trust_env=False) as http:
        form = urlencode(command_fields(wire)).encode()
        cases: list[tuple[str, str | None, bytes, int]] = [
            ("form as text/plain", "text/plain", form, 415),
            ("no content type", None, form, 415),
            ("multipart", "multipart/form-data; boundary=x", form, 415),
            ("XML", "application/xml", b"<command>/draft</command>", 415),
            ("a form in another charset", f"{FORM}; charset=latin-1", form, 415),
            ("a command as JSON", JSON_TYPE, json.dumps(command_fields(wire)).encode(), 400),
            ("a JSON event as a form", FORM, b'{"type": "event_callback", "event": {}}', 400),
            ("a form that is no command", FORM, b"a=b&text=%2Fdraft", 400),
            ("not UTF-8", FORM, form + b"%20\xff\xfe", 400),
            ("JSON not UTF-8", JSON_TYPE, b'{"type": "event_callback", "x": "\xe9"}', 400),
        ]
        for name, content_type, body, status in cases:
            headers = wire.delivery.signature_headers(body)
            if content_type is not None:
                headers["Content-Type"] = content_type
            response = await post(http, wire.url, body, headers)
            assert response.status_code == status, (name, response.status_code, response.text)
            # Unsigned, the same request is refused as unsigned first.
            unsigned = {k: v for k, v in headers.items() if not k.startswith("X-Slack")}
            assert (await post(http, wire.url, body, unsigned)).status_code == 401, name
        assert await count(wire.runtime, Draft) == 0
        assert await commands_audited(wire.runtime) == 0
        assert await count(wire.runtime, AcceptedRequest) == 0  # refused before any claim

        # A charset parameter of UTF-8 is fine.
        body = urlencode(command_fields(wire)).encode()
        headers = {"Content-Type": f"{FORM}; charset=UTF-8", **wire.delivery.signature_headers(body)}
        assert (await post(http, wire.url, body, headers)).status_code == 200
        assert await count(wire.runtime, Draft) == 1


async def test_replays_are_refused_by_two_servers_on_one_postgres(tmp_path: Path, postgres_url: str) -> None:
    async with contextlib.AsyncExitStack() as stack:
        fake = await stack.enter_async_context(serve_fake_slack(state=Workspace(default_users=USERS)))
        urls, runtimes = [], []
        for name in ("a", "b"):
            settings = wire_settings(tmp_path / name, fake, database_url=postgres_url)
            runtime = await stack.enter_async_context(open_runtime(settings))
            runtimes.append(runtime)
            urls.append(await stack.enter_async_context(serve_asgi(build_web_app(runtime))))
        http = await stack.enter_async_context(httpx.AsyncClient(trust_env=False, timeout=30))
        fake.connect_app(f"{urls[0]}/slack/events", SECRET)
        wire = Wire(fake, runtimes[0], urls[0])

        assert (await wire.command(ALICE, BRIEF)).status_code == 200
        record = wire.delivery.records_for("slash_command")[-1]
        for url in urls + urls:
            assert (await post(http, url, record.body, record.headers)).status_code == 401
        headers = resigned(wire, record, 1)
        answers = await asyncio.gather(*(post(http, urls[i % 2], record.body, headers) for i in range(6)))
        assert sorted(a.status_code for a in answers) == [200, 401, 401, 401, 401, 401]
        await wait_for(lambda: len(wire.parents()) == 2, what="two parents")
        for runtime in runtimes:
            assert await count(runtime, Draft) == 2
        assert await commands_audited(runtimes[1]) == 2
        await asyncio.sleep(0.3)
        assert len(wire.parents()) == 2


# --- readiness -------------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


Served = AsyncIterator[tuple[str, httpx.AsyncClient]]


@contextlib.asynccontextmanager
async def served(runtime: Runtime, clock: Clock | None = None) -> Served:
    app = build_web_app(runtime, run_worker=False, monotonic=clock or Clock())
    async with serve_asgi(app) as url, httpx.AsyncClient(trust_env=False, timeout=30) as http:
        yield url, http


ALL_UP = {"ok": True, "database": "ok", "migrations": "ok", "images": "ok", "slack": "ok"}


async def test_readyz_reports_slack_and_trusts_an_answer_for_30_seconds(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "data") as wire:
        clock = Clock()
        async with served(wire.runtime, clock) as (url, http):
            ready = await http.get(f"{url}/readyz")
            assert ready.status_code == 200 and ready.json() == ALL_UP
            fault = wire.fake.faults.add("auth.test", error="invalid_auth", times=None)
            clock.now += 20
            assert (await http.get(f"{url}/readyz")).status_code == 200  # still the cached answer
            assert fault.hits == 0
            clock.now += 11
            down = await http.get(f"{url}/readyz")
            assert down.status_code == 503
            assert down.json() == {**ALL_UP, "ok": False, "slack": "SlackApiError: invalid_auth"}
            for _ in range(5):  # a load balancer polling: Slack is asked once per 30 s
                assert (await http.get(f"{url}/readyz")).status_code == 503
            assert fault.hits == 1
            wire.fake.faults.clear("auth.test")
            clock.now += 31
            assert (await http.get(f"{url}/readyz")).json() == ALL_UP
            assert (await http.get(f"{url}/healthz")).json() == {"ok": True}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with serve_fake_slack(state=Workspace(default_users=USERS)) as fake:
        yield fake


async def test_readyz_names_a_database_that_is_down_and_healthz_stays_up(
    tmp_path: Path, fake: FakeSlack
) -> None:
    url = f"postgresql+asyncpg://draftbot@127.0.0.1:{closed_port()}/draftbot"
    settings = wire_settings(tmp_path / "data", fake, database_url=url)
    async with open_runtime(settings, migrate=False) as runtime, served(runtime) as (origin, http):
        ready = await http.get(f"{origin}/readyz")
        assert ready.status_code == 503
        report = ready.json()
        assert report["ok"] is False and report["database"] != "ok"
        assert (report["images"], report["slack"]) == ("ok", "ok")
        health = await http.get(f"{origin}/healthz")
        assert health.status_code == 200 and health.json() == {"ok": True}


async def test_readyz_names_an_image_store_that_cannot_be_written(tmp_path: Path, fake: FakeSlack) -> None:
    async with open_runtime(wire_settings(tmp_path / "data", fake)) as runtime:
        (tmp_path / "a-file").write_text("not a directory")
        runtime.blobs = FileBlobStore(tmp_path / "a-file" / "blobs")
        async with served(runtime) as (origin, http):
            ready = await http.get(f"{origin}/readyz")
        assert ready.status_code == 503
        assert ready.json() == {**ALL_UP, "ok": False, "images": "NotADirectoryError"}


async def test_events_get_503_while_the_database_is_down_and_it_is_logged_once(
    tmp_path: Path, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """The replay check needs the database: while it is away, a signed request is answered 503 (Slack
    sends it again), with one warning for the outage rather than a traceback per request."""
    url = f"postgresql+asyncpg://draftbot@127.0.0.1:{closed_port()}/draftbot"
    settings = wire_settings(tmp_path / "data", fake, database_url=url)
    async with open_runtime(settings, migrate=False) as runtime, served(runtime) as (origin, _):
        delivery = fake.connect_app(f"{origin}/slack/events", SECRET)
        for _ in range(3):
            response = await delivery.send_url_verification()
            assert response.status_code == 503
            assert response.json() == {"error": "the database is unreachable"}
        # A slash command is not sent again by Slack: the person is told, privately, that nothing happened.
        answer = await delivery.send_slash_command(ALICE, CHANNEL, "a kite for banner")
        assert answer.status_code == 200
        assert answer.json()["response_type"] == "ephemeral"
        assert "nothing was drafted" in answer.json()["text"]
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("bot")]
    assert [r.getMessage() for r in warnings] == [
        "the database is unreachable (ConnectionRefusedError); requests get 503 until it is back"
    ]
    assert not any(r.exc_info for r in caplog.records)
