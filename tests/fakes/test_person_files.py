"""A person's files in the fake Slack: attached to a message, seen (or not) by the bot through files.info
and url_private, deleted; and the message shortcut run on such a message, from a test and from the page."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from PIL import Image
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from fakes.asgi import serve_asgi
from fakes.slack import FakeSlack, Fault, MessageShortcut, serve_fake_slack
from fakes.slack.page import install_playground

CHANNEL, ALICE, BOB = "C0GENERAL", "U0ALICE", "U0BOB"
SECRET = "person-files-secret"


def png(size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


class Recorder:
    """A tiny app: checks the signature like Bolt and keeps what arrives."""

    def __init__(self) -> None:
        self.verifier = SignatureVerifier(SECRET)
        self.received: list[dict[str, Any]] = []
        self.rejected = 0
        self.app = Starlette(routes=[Route("/slack/events", self.events, methods=["POST"])])

    async def events(self, request: Request) -> Response:
        body = await request.body()
        if not self.verifier.is_valid_request(body, dict(request.headers)):
            self.rejected += 1
            return PlainTextResponse("invalid", status_code=401)
        if request.headers.get("content-type", "").startswith("application/json"):
            self.received.append(json.loads(body))
        else:
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            self.received.append(json.loads(form["payload"]))
        return PlainTextResponse("")

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.received if r.get("type") == kind]

    def events_of(self, kind: str) -> list[dict[str, Any]]:
        return [r["event"] for r in self.of_type("event_callback") if r["event"]["type"] == kind]


@dataclass
class Env:
    fake: FakeSlack
    app: Recorder
    client: AsyncWebClient
    page: httpx.AsyncClient
    bot: httpx.AsyncClient  # url_private downloads, as the bot makes them


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with serve_fake_slack(subscribed_events={"message"}) as fake:
        install_playground(fake)
        app = Recorder()
        async with serve_asgi(app.app) as origin:
            fake.connect_app(f"{origin}/slack/events", SECRET)
            client = AsyncWebClient(token=fake.bot_token, base_url=fake.base_url or "")
            async with (
                httpx.AsyncClient(base_url=fake.origin or "", trust_env=False, timeout=10) as page,
                httpx.AsyncClient(trust_env=False, timeout=10) as bot,
            ):
                yield Env(fake, app, client, page, bot)


def bearer(env: Env, token: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token or env.fake.bot_token}"}


async def test_a_person_attaches_a_file_to_a_message(env: Env) -> None:
    data = png()
    message = await env.fake.user_upload_file(ALICE, CHANNEL, "shot.png", data, text="look")
    [file_id] = message.files
    assert (message.user, message.text, message.upload) == (ALICE, "look", True)
    record = env.fake.state.files[file_id]
    assert (record.user, record.mimetype, record.completed) == (ALICE, "image/png", True)
    assert (record.original_w, record.original_h) == (40, 30)
    assert record.shares["public"][CHANNEL][0]["ts"] == message.ts

    [event] = env.app.events_of("message")
    assert (event["subtype"], event["user"], event["ts"], event["text"]) == (
        "file_share",
        ALICE,
        message.ts,
        "look",
    )
    assert event["files"][0]["id"] == file_id
    assert env.app.rejected == 0

    history = await env.client.conversations_history(channel=CHANNEL)
    assert history["messages"][0]["files"][0]["mimetype"] == "image/png"


async def test_files_info_and_url_private_for_the_bot(env: Env) -> None:
    data = png()
    message = await env.fake.user_upload_file(ALICE, CHANNEL, "shot.png", data)
    info = (await env.client.files_info(file=message.files[0]))["file"]
    assert (info["user"], info["size"], info["filetype"], info["channels"]) == (
        ALICE,
        len(data),
        "png",
        [CHANNEL],
    )
    origin = env.fake.origin or ""
    for key in ("url_private", "url_private_download"):
        assert info[key].startswith(origin + "/files-pri/")
        got = await env.bot.get(info[key], headers=bearer(env))
        assert (got.status_code, got.content, got.headers["content-type"]) == (200, data, "image/png")

    url = info["url_private_download"]
    assert (await env.bot.get(url)).status_code == 403  # no token
    assert (await env.bot.get(url, headers=bearer(env, "xoxb-wrong"))).status_code == 403
    assert [c["authorized"] for c in env.fake.calls_for("url_private")] == [True, True, False, False]


async def test_files_the_bot_cannot_see_are_file_not_found(env: Env) -> None:
    state = env.fake.state
    state.add_channel("C0SECRET", "secret", is_private=True, members=[ALICE, BOB])
    message = await env.fake.user_upload_file(ALICE, "C0SECRET", "secret.png", png())
    for file_id in ("F0NOSUCH", message.files[0]):
        with pytest.raises(SlackApiError) as caught:
            await env.client.files_info(file=file_id)
        assert caught.value.response["error"] == "file_not_found"
    url = state.file_json(state.files[message.files[0]])["url_private"]
    assert (await env.bot.get(url, headers=bearer(env))).status_code == 404

    # Once the bot joins, it sees the file.
    state.channels["C0SECRET"].members = {ALICE, BOB, state.bot.id}
    assert (await env.client.files_info(file=message.files[0]))["file"]["groups"] == ["C0SECRET"]


async def test_a_deleted_file(env: Env) -> None:
    message = await env.fake.user_upload_file(ALICE, CHANNEL, "gone.png", png())
    [file_id] = message.files
    url = (await env.client.files_info(file=file_id))["file"]["url_private"]
    env.fake.state.delete_file(file_id)
    with pytest.raises(SlackApiError) as caught:
        await env.client.files_info(file=file_id)
    assert caught.value.response["error"] == "file_deleted"
    assert (await env.bot.get(url, headers=bearer(env))).status_code == 404
    assert env.fake.state.message_json(message)["files"] == [{"id": file_id, "mode": "tombstone"}]


async def test_a_large_file_is_streamed_and_can_lie_about_its_size(env: Env) -> None:
    data = png()
    message = await env.fake.user_upload_file(
        ALICE, CHANNEL, "big.png", data, padding=5_000_000, reported_size=99
    )
    info = (await env.client.files_info(file=message.files[0]))["file"]
    assert info["size"] == 99
    got = await env.bot.get(info["url_private"], headers=bearer(env))
    assert int(got.headers["content-length"]) == len(got.content) == len(data) + 5_000_000
    assert got.content.startswith(data) and not got.content[len(data) :].strip(b"\0")

    env.fake.faults.put(Fault(target="url_private", kind="chunked"))
    chunked = await env.bot.get(info["url_private"], headers=bearer(env))
    assert "content-length" not in chunked.headers and len(chunked.content) == len(data) + 5_000_000

    env.fake.faults.put(Fault(target="url_private", status=503))
    assert (await env.bot.get(info["url_private"], headers=bearer(env))).status_code == 503


async def test_the_message_shortcut_is_delivered_signed_with_the_files(env: Env) -> None:
    message = await env.fake.user_upload_file(ALICE, CHANNEL, "shot.png", png())
    assert env.fake.delivery is not None
    response = await env.fake.delivery.send_message_shortcut(BOB, CHANNEL, message.ts, "draft_from_image")
    assert response.status_code == 200
    [payload] = env.app.of_type("message_action")
    assert payload["callback_id"] == "draft_from_image"
    assert payload["user"]["id"] == BOB and payload["channel"]["id"] == CHANNEL
    assert payload["team"]["id"] == env.fake.state.team.id
    assert payload["trigger_id"] in env.fake.state.triggers
    assert payload["response_url"].startswith(env.fake.origin or "")
    assert payload["message_ts"] == payload["message"]["ts"] == message.ts
    assert payload["message"]["files"][0]["id"] == message.files[0]
    assert payload["message"]["files"][0]["url_private"]
    assert env.app.rejected == 0


async def test_the_page_attaches_a_file_and_runs_a_shortcut(env: Env) -> None:
    data = png()
    snapshot = (await env.page.get("/playground/state")).json()
    assert [s["callback_id"] for s in snapshot["shortcuts"]] == ["draft_from_image"]
    assert snapshot["shortcuts"][0]["name"] == "Draft from this image"

    body = {"user": ALICE, "channel": CHANNEL, "filename": "p.png", "data": base64.b64encode(data).decode()}
    uploaded = (await env.page.post("/playground/act/upload", json={**body, "text": "ref"})).json()
    assert uploaded["ok"] is True
    assert env.fake.state.files[uploaded["file"]].content == data
    snapshot = (await env.page.get("/playground/state")).json()
    shown = next(f for f in snapshot["files"] if f["id"] == uploaded["file"])
    assert (await env.page.get(shown["playground_url"])).content == data

    ran = await env.page.post(
        "/playground/act/shortcut",
        json={"user": BOB, "channel": CHANNEL, "ts": uploaded["ts"], "callback_id": "draft_from_image"},
    )
    assert ran.json() == {"ok": True, "status": 200, "body": None, "callback_id": "draft_from_image"}
    [payload] = env.app.of_type("message_action")
    assert payload["message"]["files"][0]["id"] == uploaded["file"]

    unknown = await env.page.post(
        "/playground/act/shortcut",
        json={"user": BOB, "channel": CHANNEL, "ts": uploaded["ts"], "callback_id": "nope"},
    )
    assert unknown.status_code == 400 and "no message shortcut nope" in unknown.json()["error"]
    bad = await env.page.post("/playground/act/upload", json={**body, "data": "not base64!"})
    assert bad.status_code == 400


async def test_the_shortcut_list_is_configurable() -> None:
    shortcut = MessageShortcut("other", "Other thing")
    async with serve_fake_slack(message_shortcuts=[shortcut]) as fake:
        snapshot = fake.state.snapshot()
        assert "shortcuts" not in snapshot  # the workspace knows no app; the server adds them
        async with httpx.AsyncClient(base_url=fake.origin or "", trust_env=False) as http:
            snapshot = (await http.get("/playground/state")).json()
    assert snapshot["shortcuts"] == [
        {"type": "message", "callback_id": "other", "name": "Other thing", "description": ""}
    ]
