"""The fake Slack, exercised through the real slack_sdk clients and signed delivery to a tiny app."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from PIL import Image
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from fakes.asgi import serve_asgi
from fakes.slack import FakeSlack, ManualClock, SlackError, serve_fake_slack

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"
BOB = "U0BOB"
SECRET = "test-signing-secret"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # slack_sdk picks proxies up from the environment and has no NO_PROXY support.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    # Bolt silently switches to OAuth when both of these are set.
    for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with serve_fake_slack() as fake:
        yield fake


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.base_url)


def png_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


async def wait_until_scanned(client: AsyncWebClient, file_id: str) -> dict[str, Any]:
    for _ in range(100):
        info = await client.files_info(file=file_id)
        if info["file"]["mimetype"]:
            return dict(info["file"])
        await asyncio.sleep(0.02)
    raise AssertionError("file never scanned")


# --------------------------------------------------------------------------------------------- Web API


async def test_auth_test_and_bad_tokens(fake: FakeSlack, client: AsyncWebClient) -> None:
    auth = await client.auth_test()
    assert auth["user_id"] == "U0DRAFTBOT"
    assert auth["bot_id"] == "B0DRAFTBOT"
    assert auth["team_id"] == "T0PLAYGRND"
    assert auth["is_enterprise_install"] is False

    bad = AsyncWebClient(token="xoxb-wrong", base_url=fake.base_url)
    with pytest.raises(SlackApiError) as excinfo:
        await bad.chat_postMessage(channel=CHANNEL, text="hi")
    assert excinfo.value.response["error"] == "invalid_auth"

    async with httpx.AsyncClient(trust_env=False) as http:
        missing = await http.post(f"{fake.base_url}auth.test")
        unknown = await http.post(f"{fake.base_url}nope.nothing", headers={"Authorization": "Bearer x"})
    assert missing.status_code == 200
    assert missing.json() == {"ok": False, "error": "not_authed"}
    assert unknown.json()["error"] == "unknown_method"


async def test_thread_replies_pagination_and_metadata(fake: FakeSlack, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(
        channel=CHANNEL,
        text="Drafting: a bottle",
        metadata={"event_type": "draft_parent", "event_payload": {"draft_id": 7}},
    )
    assert parent["channel"] == CHANNEL
    assert parent["message"]["bot_id"] == "B0DRAFTBOT"
    assert parent["message"]["metadata"]["event_type"] == "draft_parent"
    replies = []
    for k in range(1, 6):
        reply = await client.chat_postMessage(
            channel=CHANNEL,
            thread_ts=parent["ts"],
            text=f"variant {k}",
            metadata={"event_type": "draft_variant", "event_payload": {"k": k}},
        )
        assert reply["message"]["thread_ts"] == parent["ts"]
        replies.append(reply["ts"])
    all_ts = [parent["ts"], *replies]
    assert all_ts == sorted(all_ts, key=lambda t: tuple(map(int, t.split("."))))
    assert all(len(ts.split(".")[1]) == 6 for ts in all_ts)

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await client.conversations_replies(
            channel=CHANNEL, ts=parent["ts"], limit=2, cursor=cursor, include_all_metadata=True
        )
        pages += 1
        seen += [m["ts"] for m in page["messages"]]
        assert all("metadata" in m for m in page["messages"])
        cursor = page["response_metadata"]["next_cursor"]
        if not page["has_more"]:
            assert cursor == ""
            break
    assert pages == 3
    assert seen == all_ts

    plain = await client.conversations_replies(channel=CHANNEL, ts=parent["ts"])
    assert all("metadata" not in m for m in plain["messages"])
    assert plain["messages"][0]["reply_count"] == 5
    assert plain["messages"][1]["parent_user_id"] == "U0DRAFTBOT"

    history = await client.conversations_history(channel=CHANNEL, include_all_metadata=True)
    assert [m["ts"] for m in history["messages"]] == [parent["ts"]]
    assert history["messages"][0]["metadata"]["event_payload"] == {"draft_id": 7}

    with pytest.raises(SlackApiError) as excinfo:
        await client.conversations_replies(channel=CHANNEL, ts="1.000001")
    assert excinfo.value.response["error"] == "thread_not_found"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
async def test_post_message_errors(client: AsyncWebClient) -> None:
    async def error_of(**kwargs: Any) -> str:
        with pytest.raises(SlackApiError) as excinfo:
            await client.chat_postMessage(**kwargs)
        return str(excinfo.value.response["error"])

    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    assert await error_of(channel="C0NOPE", text="hi") == "channel_not_found"
    assert await error_of(channel=CHANNEL) == "no_text"
    assert await error_of(channel=CHANNEL, text="hi", thread_ts="1700000000.000001") == "thread_not_found"
    assert await error_of(channel=CHANNEL, text="x" * 40_001) == "msg_too_long"
    assert await error_of(channel=CHANNEL, text="x", blocks=[section] * 51) == "invalid_blocks"
    long_section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    assert await error_of(channel=CHANNEL, text="x", blocks=[long_section]) == "invalid_blocks"
    assert await error_of(channel=CHANNEL, text="x", blocks=[{"text": "no type"}]) == "invalid_blocks"
    no_alt = {"type": "image", "image_url": "https://example.com/a.png"}
    assert await error_of(channel=CHANNEL, text="x", blocks=[no_alt]) == "invalid_blocks"
    both = {**no_alt, "alt_text": "a", "slack_file": {"id": "F1"}}
    assert await error_of(channel=CHANNEL, text="x", blocks=[both]) == "invalid_blocks"
    ok = await client.chat_postMessage(
        channel=CHANNEL, text="x", blocks=[section, {**no_alt, "alt_text": "a"}]
    )
    assert ok["message"]["blocks"][0]["block_id"]  # Slack fills in block ids


async def test_files_upload_v2_then_image_block_after_scan(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.scan_delay = 0.3
    data = png_bytes((64, 48))
    upload = await client.files_upload_v2(content=data, filename="variant-1.png", title="Variant 1")
    file = upload["file"]
    assert file["mimetype"] == ""
    assert file["shares"] == {}
    assert fake.calls_for("files.getUploadURLExternal")[0]["length"] == str(len(data))
    image_block = {"type": "image", "slack_file": {"id": file["id"]}, "alt_text": "variant 1"}

    with pytest.raises(SlackApiError) as excinfo:
        await client.chat_postMessage(channel=CHANNEL, blocks=[image_block], text="variant 1")
    assert excinfo.value.response["error"] == "invalid_blocks"
    assert "invalid slack file" in excinfo.value.response["errors"][0]

    info = await wait_until_scanned(client, file["id"])
    assert info["mimetype"] == "image/png"
    assert info["filetype"] == "png"
    assert (info["original_w"], info["original_h"]) == (64, 48)
    assert info["size"] == len(data)
    posted = await client.chat_postMessage(channel=CHANNEL, blocks=[image_block], text="variant 1")
    assert posted["message"]["blocks"][0]["slack_file"] == {"id": file["id"]}

    async with httpx.AsyncClient(trust_env=False) as http:
        authed = await http.get(info["url_private"], headers={"Authorization": f"Bearer {fake.bot_token}"})
        anonymous = await http.get(info["url_private"])
        snapshot = (await http.get(f"{fake.origin}/playground/state")).json()
        public = await http.get(next(f["playground_url"] for f in snapshot["files"] if f["id"] == file["id"]))
    assert authed.content == data
    assert authed.headers["content-type"] == "image/png"
    assert anonymous.status_code == 403
    assert public.content == data


async def test_upload_shares_into_thread_after_scan(fake: FakeSlack, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel=CHANNEL, text="parent")
    upload = await client.files_upload_v2(
        content=png_bytes(), filename="v.png", channel=CHANNEL, thread_ts=parent["ts"], initial_comment="v1"
    )
    assert upload["file"]["shares"] == {}
    await fake.drain()
    info = (await client.files_info(file=upload["file"]["id"]))["file"]
    share = info["shares"]["public"][CHANNEL][0]
    assert share["thread_ts"] == parent["ts"]
    thread = fake.thread(CHANNEL, parent["ts"])
    assert [m.ts for m in thread] == [parent["ts"], share["ts"]]
    assert thread[1].files == [info["id"]]
    assert thread[1].text == "v1"


async def test_sync_webclient_upload(fake: FakeSlack) -> None:
    """The urllib-based WebClient (form bodies, urllib's default content type on the raw upload)."""
    from slack_sdk import WebClient

    sync = WebClient(token=fake.bot_token, base_url=fake.base_url)
    data = png_bytes((10, 20))

    def upload_and_post() -> str:
        upload = sync.files_upload_v2(content=data, filename="s.png", alt_txt="a sync upload")
        parent = sync.chat_postMessage(channel=CHANNEL, text="sync parent")
        sync.chat_postMessage(
            channel=CHANNEL, text="sync reply", thread_ts=parent["ts"], reply_broadcast=True
        )
        return str(upload["file"]["id"])

    file_id = await asyncio.to_thread(upload_and_post)
    record = fake.state.files[file_id]
    assert record.content == data
    assert record.alt_txt == "a sync upload"
    assert [m.text for m in fake.messages(CHANNEL)] == ["sync parent", "sync reply"]  # broadcast shows up


async def test_webp_cannot_be_a_slack_file_image(fake: FakeSlack, client: AsyncWebClient) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="WEBP")
    upload = await client.files_upload_v2(content=buffer.getvalue(), filename="x.webp")
    info = await wait_until_scanned(client, upload["file"]["id"])
    assert info["mimetype"] == "image/webp"
    block = {"type": "image", "slack_file": {"url": info["url_private"]}, "alt_text": "x"}
    with pytest.raises(SlackApiError) as excinfo:
        await client.chat_postMessage(channel=CHANNEL, text="x", blocks=[block])
    assert excinfo.value.response["error"] == "invalid_blocks"


async def test_multipart_upload_is_accepted(fake: FakeSlack, client: AsyncWebClient) -> None:
    data = png_bytes()
    url = await client.files_getUploadURLExternal(filename="m.png", length=len(data))
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(url["upload_url"], files={"file": ("m.png", data, "image/png")})
    assert response.status_code == 200
    assert response.text == f"OK - {len(data)}"
    assert fake.state.files[url["file_id"]].content == data


async def test_reactions(fake: FakeSlack, client: AsyncWebClient) -> None:
    msg = await client.chat_postMessage(channel=CHANNEL, text="vote")
    await client.reactions_add(channel=CHANNEL, timestamp=msg["ts"], name="+1")
    await client.reactions_add(channel=CHANNEL, timestamp=msg["ts"], name="thumbsup::skin-tone-3")
    for name, error in (("+1", "already_reacted"), (":+1:", "invalid_name"), ("Bad Name", "invalid_name")):
        with pytest.raises(SlackApiError) as excinfo:
            await client.reactions_add(channel=CHANNEL, timestamp=msg["ts"], name=name)
        assert excinfo.value.response["error"] == error
    with pytest.raises(SlackApiError) as excinfo:
        await client.reactions_add(channel=CHANNEL, timestamp="1700000000.000001", name="+1")
    assert excinfo.value.response["error"] == "message_not_found"

    message = fake.state.get_message(CHANNEL, msg["ts"])
    assert message.reactions == {"+1": ["U0DRAFTBOT"], "thumbsup::skin-tone-3": ["U0DRAFTBOT"]}
    fake.state.remove_reaction(CHANNEL, msg["ts"], "+1", "U0DRAFTBOT")
    with pytest.raises(SlackError, match="no_reaction"):
        fake.state.remove_reaction(CHANNEL, msg["ts"], "+1", "U0DRAFTBOT")
    assert list(message.reactions) == ["thumbsup::skin-tone-3"]


async def test_chat_update_and_delete(fake: FakeSlack, client: AsyncWebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "2/4 ready"}}]
    msg = await client.chat_postMessage(channel=CHANNEL, text="2/4 ready", blocks=blocks)
    updated = await client.chat_update(channel=CHANNEL, ts=msg["ts"], text="4/4 ready")
    assert updated["ts"] == msg["ts"]
    assert updated["text"] == "4/4 ready"
    assert updated["message"]["blocks"][0]["text"]["text"] == "2/4 ready"  # omitted blocks are kept
    assert "edited" in updated["message"]
    cleared = await client.chat_update(channel=CHANNEL, ts=msg["ts"], text="done", blocks=[])
    assert "blocks" not in cleared["message"]

    human = await fake.user_post_message(ALICE, CHANNEL, "hello")
    for call, error in (
        (client.chat_update(channel=CHANNEL, ts=human.ts, text="x"), "cant_update_message"),
        (client.chat_update(channel=CHANNEL, ts="1700000000.000009", text="x"), "message_not_found"),
    ):
        with pytest.raises(SlackApiError) as excinfo:
            await call
        assert excinfo.value.response["error"] == error
    # Deleting (a response_url's delete_original) is the bot's own messages only.
    with pytest.raises(SlackError, match="cant_delete_message"):
        fake.state.delete_message(CHANNEL, human.ts, by_user="U0DRAFTBOT")
    fake.state.delete_message(CHANNEL, msg["ts"], by_user="U0DRAFTBOT")
    assert [m.ts for m in fake.messages(CHANNEL)] == [human.ts]


async def test_ephemeral(fake: FakeSlack, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel=CHANNEL, text="parent")
    sent = await client.chat_postEphemeral(
        channel=CHANNEL, user=ALICE, text="only you", thread_ts=parent["ts"]
    )
    assert sent["message_ts"]
    [ephemeral] = fake.state.ephemerals_for(ALICE)
    assert (ephemeral.text, ephemeral.thread_ts, ephemeral.ts) == (
        "only you",
        parent["ts"],
        sent["message_ts"],
    )
    assert fake.state.ephemerals_for(BOB) == []
    with pytest.raises(SlackApiError) as excinfo:
        await client.chat_postEphemeral(channel=CHANNEL, user="U0NOBODY", text="x")
    assert excinfo.value.response["error"] == "user_not_in_channel"


async def test_views(fake: FakeSlack, client: AsyncWebClient) -> None:
    view = {
        "type": "modal",
        "callback_id": "draft_modal",
        "title": {"type": "plain_text", "text": "New draft"},
        "submit": {"type": "plain_text", "text": "Draft"},
        "blocks": [
            {
                "type": "input",
                "block_id": "prompt",
                "label": {"type": "plain_text", "text": "Prompt"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }
    trigger = fake.issue_trigger_id(ALICE)
    opened = await client.views_open(trigger_id=trigger, view=view)
    assert opened["view"]["id"].startswith("V")
    assert opened["view"]["callback_id"] == "draft_modal"
    assert fake.state.open_views_for(ALICE)[0].id == opened["view"]["id"]
    for trigger_id, bad_view, error in (
        (trigger, view, "exchanged_trigger_id"),
        ("123.456.nope", view, "invalid_trigger_id"),
        (fake.issue_trigger_id(ALICE), {**view, "title": None}, "invalid_arguments"),
    ):
        with pytest.raises(SlackApiError) as excinfo:
            await client.views_open(trigger_id=trigger_id, view=bad_view)
        assert excinfo.value.response["error"] == error
    # response_action "update" of a view submission (see test_view_submission_response_actions)
    updated = fake.state.update_view({**view, "private_metadata": "m"}, view_id=opened["view"]["id"])
    assert fake.state.view_json(updated)["private_metadata"] == "m"


async def test_expired_trigger() -> None:
    clock = ManualClock(time.time())
    async with serve_fake_slack(clock=clock) as fake:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.base_url)
        trigger = fake.issue_trigger_id(ALICE)
        clock.advance(3.5)
        view = {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []}
        with pytest.raises(SlackApiError) as excinfo:
            await client.views_open(trigger_id=trigger, view=view)
        assert excinfo.value.response["error"] == "expired_trigger_id"


# ----------------------------------------------------------------------------------------------- faults


async def test_rate_limit_is_retried_by_the_sdk_handler(fake: FakeSlack) -> None:
    fake.faults.add("chat.postMessage", status=429, retry_after=0, times=1)
    retrying = AsyncWebClient(
        token=fake.bot_token,
        base_url=fake.base_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    posted = await retrying.chat_postMessage(channel=CHANNEL, text="after a 429")
    assert posted["ok"]
    assert len(fake.calls_for("chat.postMessage")) == 2
    assert [m.text for m in fake.messages(CHANNEL)] == ["after a 429"]


async def test_rate_limit_headers_and_other_faults(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.faults.add("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as excinfo:
        await client.chat_postMessage(channel=CHANNEL, text="x")
    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["Retry-After"] in ("7", ["7"])
    assert excinfo.value.response["error"] == "ratelimited"

    fake.faults.add("reactions.add", status=500)
    with pytest.raises(SlackApiError) as excinfo:
        await client.reactions_add(channel=CHANNEL, timestamp="1.000001", name="x")
    assert excinfo.value.response.status_code == 500

    fake.faults.add("auth.test", error="account_inactive")
    with pytest.raises(SlackApiError) as excinfo:
        await client.auth_test()
    assert excinfo.value.response["error"] == "account_inactive"

    fake.faults.add("auth.test", delay=0.2)
    started = time.monotonic()
    assert (await client.auth_test())["ok"]
    assert time.monotonic() - started >= 0.2

    fake.faults.add("upload", status=500)
    with pytest.raises(Exception, match="500"):
        await client.files_upload_v2(content=b"abc", filename="a.txt")
    assert fake.faults.pending() == []


# --------------------------------------------------------------------------------------------- response_url


async def test_response_url_limits() -> None:
    clock = ManualClock(time.time())
    async with serve_fake_slack(clock=clock) as fake:
        url = fake.issue_response_url(ALICE, CHANNEL)
        webhook = AsyncWebhookClient(url)
        for n in range(5):
            response = await webhook.send(text=f"update {n}", replace_original=n > 0)
            assert response.status_code == 200
        [ephemeral] = fake.state.ephemerals_for(ALICE)  # replace_original kept one message
        assert ephemeral.text == "update 4"
        sixth = await webhook.send(text="one too many")
        assert (sixth.status_code, sixth.body) == (404, "used_url")

        late = AsyncWebhookClient(fake.issue_response_url(ALICE, CHANNEL))
        assert (await late.send(text="public", response_type="in_channel")).status_code == 200
        assert fake.messages(CHANNEL)[-1].text == "public"
        clock.advance(1801)
        expired = await late.send(text="too late")
        assert (expired.status_code, expired.body) == (404, "expired_url")


# ----------------------------------------------------------------------------------------- signed delivery


class RecordingApp:
    """A tiny Slack app: verifies signatures like Bolt and records what it receives."""

    def __init__(self) -> None:
        self.verifier = SignatureVerifier(SECRET)
        self.received: list[dict[str, Any]] = []
        self.view_answers: list[Response] = []
        self.app = Starlette(routes=[Route("/slack/events", self.events, methods=["POST"])])

    async def events(self, request: Request) -> Response:
        body = await request.body()
        if not self.verifier.is_valid_request(body, dict(request.headers)):
            return JSONResponse({"error": "invalid request"}, status_code=401)
        if request.headers.get("content-type", "").startswith("application/json"):
            parsed: dict[str, Any] = json.loads(body)
        else:
            form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
            parsed = json.loads(form["payload"]) if "payload" in form else form
        self.received.append({"body": parsed, "headers": dict(request.headers)})
        if parsed.get("type") == "url_verification":
            return JSONResponse({"challenge": parsed["challenge"]})
        if parsed.get("command") == "/draft":
            return JSONResponse({"response_type": "ephemeral", "text": "Drafting…"})
        if parsed.get("type") == "view_submission" and self.view_answers:
            return self.view_answers.pop(0)
        return PlainTextResponse("")


@pytest.fixture
async def app_and_fake(fake: FakeSlack) -> AsyncIterator[tuple[RecordingApp, FakeSlack]]:
    app = RecordingApp()
    async with serve_asgi(app.app) as origin:
        fake.connect_app(f"{origin}/slack/events", SECRET)
        yield app, fake


async def test_slash_command_is_signed_and_ack_is_shown(
    app_and_fake: tuple[RecordingApp, FakeSlack], client: AsyncWebClient
) -> None:
    app, fake = app_and_fake
    assert fake.delivery is not None
    response = await fake.delivery.send_slash_command(ALICE, CHANNEL, "a bottle for mobile cover")
    assert response.status_code == 200
    body = app.received[-1]["body"]
    assert body["command"] == "/draft"
    assert body["text"] == "a bottle for mobile cover"
    assert (body["user_id"], body["user_name"], body["channel_name"]) == (ALICE, "alice", "general")
    assert body["team_id"] == "T0PLAYGRND"
    assert body["is_enterprise_install"] == "false"
    assert body["response_url"].startswith(f"{fake.origin}/response/")
    [ack] = fake.state.ephemerals_for(ALICE)
    assert (ack.text, ack.source) == ("Drafting…", "command_ack")
    # the trigger from the command opens a modal; the response_url posts for the invoking user
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Draft"}, "blocks": []}
    assert (await client.views_open(trigger_id=body["trigger_id"], view=modal))["ok"]
    assert (await AsyncWebhookClient(body["response_url"]).send(text="queued")).status_code == 200
    assert [e.text for e in fake.state.ephemerals_for(ALICE)] == ["Drafting…", "queued"]


async def test_stale_signature_is_rejected(app_and_fake: tuple[RecordingApp, FakeSlack]) -> None:
    app, fake = app_and_fake
    assert fake.delivery is not None
    fake.delivery.clock = lambda: time.time() - 600
    response = await fake.delivery.send_event({"type": "app_mention", "user": ALICE, "text": "hi"})
    assert response.status_code == 401
    assert app.received == []


async def test_event_with_retry_headers(app_and_fake: tuple[RecordingApp, FakeSlack]) -> None:
    app, fake = app_and_fake
    assert fake.delivery is not None
    event = {"type": "reaction_added", "user": ALICE, "reaction": "+1", "item": {"type": "message"}}
    await fake.delivery.send_event(event, event_id="Ev0000000042", retry_num=1, retry_reason="http_timeout")
    received = app.received[-1]
    assert received["body"]["event_id"] == "Ev0000000042"
    assert received["body"]["type"] == "event_callback"
    assert received["body"]["authorizations"][0] == {
        "enterprise_id": None,
        "team_id": "T0PLAYGRND",
        "user_id": "U0DRAFTBOT",
        "is_bot": True,
        "is_enterprise_install": False,
    }
    assert received["body"]["event"]["event_ts"]
    assert received["headers"]["x-slack-retry-num"] == "1"
    assert received["headers"]["x-slack-retry-reason"] == "http_timeout"
    challenge = await fake.delivery.send_url_verification("abc")
    assert challenge.json() == {"challenge": "abc"}


async def test_block_action_payload(
    app_and_fake: tuple[RecordingApp, FakeSlack], client: AsyncWebClient
) -> None:
    app, fake = app_and_fake
    assert fake.delivery is not None
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Votes are in"}},
        {
            "type": "actions",
            "block_id": "draft_actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "upgrade_2k",
                    "value": "draft-7",
                    "text": {"type": "plain_text", "text": "Upgrade winner to 2K"},
                }
            ],
        },
    ]
    msg = await client.chat_postMessage(channel=CHANNEL, text="Votes are in", blocks=blocks)
    response = await fake.delivery.send_block_action(BOB, CHANNEL, msg["ts"], "upgrade_2k")
    assert response.status_code == 200
    payload = app.received[-1]["body"]
    assert payload["type"] == "block_actions"
    assert payload["user"] == {"id": BOB, "username": "bob", "name": "bob", "team_id": "T0PLAYGRND"}
    assert payload["container"] == {
        "type": "message",
        "message_ts": msg["ts"],
        "channel_id": CHANNEL,
        "is_ephemeral": False,
    }
    assert payload["message"]["ts"] == msg["ts"]
    [action] = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"]) == (
        "upgrade_2k",
        "draft_actions",
        "draft-7",
    )
    assert action["text"]["text"] == "Upgrade winner to 2K"
    assert action["type"] == "button"
    # replace_original through the action's response_url edits the message in place
    await AsyncWebhookClient(payload["response_url"]).send(text="Upgrading…", replace_original=True)
    assert fake.state.get_message(CHANNEL, msg["ts"]).text == "Upgrading…"


async def test_view_submission_response_actions(
    app_and_fake: tuple[RecordingApp, FakeSlack], client: AsyncWebClient
) -> None:
    app, fake = app_and_fake
    assert fake.delivery is not None
    view = {
        "type": "modal",
        "callback_id": "draft_modal",
        "title": {"type": "plain_text", "text": "Draft"},
        "submit": {"type": "plain_text", "text": "Go"},
        "blocks": [],
    }
    opened = await client.views_open(trigger_id=fake.issue_trigger_id(ALICE), view=view)
    view_id = opened["view"]["id"]
    app.view_answers.append(JSONResponse({"response_action": "errors", "errors": {"prompt": "Too short"}}))
    response = await fake.delivery.send_view_submission(ALICE, view_id, {"prompt": {"value": "x"}})
    assert response.json()["response_action"] == "errors"
    submitted = app.received[-1]["body"]
    assert submitted["type"] == "view_submission"
    assert submitted["view"]["callback_id"] == "draft_modal"
    assert submitted["view"]["state"]["values"] == {
        "prompt": {"value": {"type": "plain_text_input", "value": "x"}}
    }
    assert [v.id for v in fake.state.open_views_for(ALICE)] == [view_id]
    await fake.delivery.send_view_submission(ALICE, view_id, {"prompt": {"value": "a longer prompt"}})
    assert fake.state.open_views_for(ALICE) == []


async def test_reactions_deliver_events(
    app_and_fake: tuple[RecordingApp, FakeSlack], client: AsyncWebClient
) -> None:
    app, fake = app_and_fake
    msg = await client.chat_postMessage(channel=CHANNEL, text="variant 1")
    await client.reactions_add(channel=CHANNEL, timestamp=msg["ts"], name="+1")  # the bot's seed vote
    await fake.drain()
    response = await fake.user_add_reaction(ALICE, CHANNEL, msg["ts"], "+1")
    assert response is not None and response.status_code == 200
    await fake.user_remove_reaction(ALICE, CHANNEL, msg["ts"], "+1")
    events = [r["body"]["event"] for r in app.received]
    assert [(e["type"], e["user"]) for e in events] == [
        ("reaction_added", "U0DRAFTBOT"),
        ("reaction_added", ALICE),
        ("reaction_removed", ALICE),
    ]
    assert events[1]["item"] == {"type": "message", "channel": CHANNEL, "ts": msg["ts"]}
    assert events[1]["item_user"] == "U0DRAFTBOT"
    assert events[1]["reaction"] == "+1"
    assert fake.state.get_message(CHANNEL, msg["ts"]).reactions == {"+1": ["U0DRAFTBOT"]}


async def eventually(check: Any, max_wait: float = 5.0) -> None:
    deadline = time.monotonic() + max_wait
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_bolt_async_app_round_trip(fake: FakeSlack) -> None:
    """The real Bolt AsyncApp against the fake: command ack, Web API calls, reaction events, self-events."""
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
    from slack_bolt.async_app import AsyncAck, AsyncApp

    bolt = AsyncApp(
        client=AsyncWebClient(token=fake.bot_token, base_url=fake.base_url), signing_secret=SECRET
    )
    votes: list[tuple[str, str]] = []

    @bolt.command("/draft")
    async def draft(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack(text="Drafting…")
        parent = await client.chat_postMessage(
            channel=command["channel_id"], text=f"Draft: {command['text']}"
        )
        await client.reactions_add(channel=command["channel_id"], timestamp=parent["ts"], name="+1")

    @bolt.event("reaction_added")
    async def on_reaction(event: dict[str, Any]) -> None:
        votes.append((event["user"], event["reaction"]))

    handler = AsyncSlackRequestHandler(bolt)

    async def endpoint(request: Request) -> Response:
        return await handler.handle(request)

    async with serve_asgi(Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])])) as origin:
        delivery = fake.connect_app(f"{origin}/slack/events", SECRET)
        ack = await delivery.send_slash_command(ALICE, CHANNEL, "a matte bottle")
        assert ack.status_code == 200
        assert [e.text for e in fake.state.ephemerals_for(ALICE)] == ["Drafting…"]
        await eventually(lambda: any(m.reactions for m in fake.messages(CHANNEL)))
        await fake.drain()  # the bot's own reaction_added was delivered and dropped by IgnoringSelfEvents
        parent = fake.messages(CHANNEL)[-1]
        assert parent.text == "Draft: a matte bottle"
        await fake.user_add_reaction(BOB, CHANNEL, parent.ts, "+1")
        await eventually(lambda: votes == [(BOB, "+1")])
        assert [r.payload["event"]["user"] for r in delivery.records_for("event")] == ["U0DRAFTBOT", BOB]


# ---------------------------------------------------------------------------------------- playground state


async def test_playground_state_endpoint(fake: FakeSlack, client: AsyncWebClient) -> None:
    async with httpx.AsyncClient(base_url=fake.origin or "", trust_env=False) as http:
        first = (await http.get("/playground/state")).json()
        version = first["version"]
        parent = await client.chat_postMessage(channel=CHANNEL, text="parent")
        reply = await client.chat_postMessage(channel=CHANNEL, text="reply", thread_ts=parent["ts"])
        await client.chat_postEphemeral(channel=CHANNEL, user=ALICE, text="psst")
        await fake.user_add_reaction(BOB, CHANNEL, reply["ts"], "+1")
        second = (await http.get("/playground/state", params={"since": version, "user": ALICE})).json()
        assert second["version"] == version + 4
        assert [c["kind"] for c in second["changes"]] == [
            "message_posted",
            "message_posted",
            "ephemeral_posted",
            "reaction_added",
        ]
        assert [m["text"] for m in second["messages"][CHANNEL]] == ["parent"]
        [thread_reply] = second["threads"][CHANNEL][parent["ts"]]
        assert thread_reply["reactions"] == [{"name": "+1", "users": [BOB], "count": 1}]
        assert [e["text"] for e in second["ephemerals"]] == ["psst"]
        bob_view = (await http.get("/playground/state", params={"user": BOB})).json()
        assert bob_view["ephemerals"] == []

        # long-poll: returns as soon as something changes
        waiting = asyncio.create_task(
            http.get("/playground/state", params={"since": second["version"], "wait": 10})
        )
        await asyncio.sleep(0.1)
        assert not waiting.done()
        started = time.monotonic()
        await client.chat_update(channel=CHANNEL, ts=parent["ts"], text="parent (edited)")
        third = (await waiting).json()
        assert time.monotonic() - started < 2
        assert third["version"] == second["version"] + 1
        assert third["changes"][0]["kind"] == "message_updated"


def test_state_is_usable_without_http() -> None:
    from fakes.slack import Workspace

    clock = ManualClock(1_700_000_000)
    state = Workspace(clock=clock)
    first = state.post_message(CHANNEL, user=ALICE, text="a")
    second = state.post_message(CHANNEL, user=ALICE, text="b")
    assert (first.ts, second.ts) == ("1700000000.000000", "1700000000.000001")
    with pytest.raises(SlackError, match="no_text"):
        state.post_message(CHANNEL, user=ALICE)
    assert state.version == 2
