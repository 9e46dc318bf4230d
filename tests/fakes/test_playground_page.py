"""The playground page's routes: every act reaches the app as a correctly signed Slack request.

A tiny app (served with uvicorn like the real bot) verifies signatures with slack_sdk's SignatureVerifier,
records what it got and answers like a small Slack app; the page's endpoints are driven with httpx.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from fakes.asgi import serve_asgi
from fakes.slack import FakeSlack, serve_fake_slack
from fakes.slack.page import install_playground, playground_routes

CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"
BOB = "U0BOB"
SECRET = "playground-page-secret"

MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "draft_modal",
    "notify_on_close": True,
    "title": {"type": "plain_text", "text": "New draft"},
    "submit": {"type": "plain_text", "text": "Draft it"},
    "blocks": [
        {
            "type": "input",
            "block_id": "prompt",
            "label": {"type": "plain_text", "text": "Prompt"},
            "element": {"type": "plain_text_input", "action_id": "value", "multiline": True},
        },
        {
            "type": "input",
            "block_id": "destination",
            "label": {"type": "plain_text", "text": "Where"},
            "element": {
                "type": "static_select",
                "action_id": "value",
                "options": [{"text": {"type": "plain_text", "text": "Mobile cover"}, "value": "mobile"}],
            },
        },
    ],
}

AUDIT_ROWS: list[dict[str, Any]] = [
    {
        "id": 1,
        "at": "2026-11-21T09:00:00+00:00",
        "team_id": "T0PLAYGRND",
        "draft_id": 7,
        "kind": "command",
        "actor": ALICE,
        "details": {"text": "a bottle for mobile cover"},
    },
    {
        "id": 2,
        "at": "2026-11-21T09:00:05+00:00",
        "team_id": "T0PLAYGRND",
        "draft_id": 7,
        "kind": "variant_posted",
        "actor": "draftbot",
        "details": {"tier": "1K", "number": 1, "file_id": "F000000001"},
    },
    {
        "id": 3,
        "at": "2026-11-21T09:01:00+00:00",
        "team_id": "T0PLAYGRND",
        "draft_id": 8,
        "kind": "command",
        "actor": BOB,
        "details": {},
    },
]


class TinyApp:
    """A Slack app in miniature: verifies signatures, records requests, answers like Bolt would."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self.verifier = SignatureVerifier(SECRET)
        self.received: list[dict[str, Any]] = []
        self.rejected = 0
        self.app = Starlette(routes=[Route("/slack/events", self.events, methods=["POST"])])

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [r["body"] for r in self.received if r["kind"] == kind]

    async def events(self, request: Request) -> Response:
        body = await request.body()
        if not self.verifier.is_valid_request(body, dict(request.headers)):
            self.rejected += 1
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        if request.headers.get("content-type", "").startswith("application/json"):
            parsed: dict[str, Any] = json.loads(body)
            self.received.append({"kind": parsed["type"], "body": parsed})
            return PlainTextResponse("")
        form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        if "payload" in form:
            payload: dict[str, Any] = json.loads(form["payload"])
            self.received.append({"kind": payload["type"], "body": payload})
            if payload["type"] == "view_submission":
                prompt = payload["view"]["state"]["values"]["prompt"]["value"].get("value") or ""
                if len(prompt) < 5:
                    return JSONResponse({"response_action": "errors", "errors": {"prompt": "Too short"}})
            return PlainTextResponse("")
        self.received.append({"kind": "slash_command", "body": form})
        if form["text"] == "modal":
            await self.client.views_open(trigger_id=form["trigger_id"], view=MODAL)
            return PlainTextResponse("")
        if form["text"] == "fail":
            return PlainTextResponse("boom", status_code=500)
        return JSONResponse({"response_type": "ephemeral", "text": f"Drafting {form['text']} &lt;ok&gt;"})


@dataclass
class Env:
    fake: FakeSlack
    app: TinyApp
    http: httpx.AsyncClient
    client: AsyncWebClient
    audit_calls: list[int | None] = field(default_factory=list)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with serve_fake_slack() as fake:
        calls: list[int | None] = []

        async def audit(draft_id: int | None) -> list[dict[str, Any]]:
            calls.append(draft_id)
            return [r for r in AUDIT_ROWS if draft_id is None or r["draft_id"] == draft_id]

        install_playground(fake, audit=audit)
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.base_url or "")
        app = TinyApp(client)
        async with serve_asgi(app.app) as app_origin:
            fake.connect_app(f"{app_origin}/slack/events", SECRET)
            async with httpx.AsyncClient(base_url=fake.origin or "", trust_env=False, timeout=10) as http:
                yield Env(fake, app, http, client, calls)


async def button_message(client: AsyncWebClient) -> str:
    posted = await client.chat_postMessage(
        channel=CHANNEL,
        text="Votes are in",
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": "Votes are in"}},
            {
                "type": "actions",
                "block_id": "draft_actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "upgrade_2k",
                        "value": "draft-7",
                        "style": "primary",
                        "text": {"type": "plain_text", "text": "Upgrade winner to 2K"},
                    }
                ],
            },
        ],
    )
    return str(posted["ts"])


# ------------------------------------------------------------------------------------------ pages


async def test_pages_and_static_files_are_served(env: Env) -> None:
    index = await env.http.get("/")
    assert index.status_code == 200
    assert index.headers["content-type"] == "text/html; charset=utf-8"
    for testid in ("composer", "send", "user-switcher", "thread", "audit-link"):
        assert f'data-testid="{testid}"' in index.text
    assert '<script type="module" src="/static/playground.js">' in index.text

    audit = await env.http.get("/audit", params={"draft": 7})
    assert audit.status_code == 200
    assert audit.headers["content-type"] == "text/html; charset=utf-8"
    assert 'data-testid="audit-table"' in audit.text

    for name, media_type in (
        ("playground.css", "text/css; charset=utf-8"),
        ("playground.js", "text/javascript; charset=utf-8"),
        ("audit.js", "text/javascript; charset=utf-8"),
    ):
        response = await env.http.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"] == media_type
        assert response.content
    for bad in ("nope.js", "..%2Fpage.py", "page.py", ".hidden.js", "%2E%2E%2Fstate.py"):
        assert (await env.http.get(f"/static/{bad}")).status_code == 404, bad
    assert (await env.http.get("/static/../page.py")).status_code == 404


async def test_routes_can_be_mounted_on_a_fake_by_hand() -> None:
    fake = FakeSlack()
    fake.app.router.routes.extend(playground_routes(fake))
    async with serve_asgi(fake) as origin, httpx.AsyncClient(base_url=origin, trust_env=False) as http:
        assert (await http.get("/")).status_code == 200
        missing = await http.get("/playground/audit")
        assert missing.status_code == 404
        assert "audit trail is not available" in missing.json()["error"]
        no_app = await http.post(
            "/playground/act/command", json={"user": ALICE, "channel": CHANNEL, "text": "/draft x"}
        )
        assert no_app.status_code == 503
        assert "no app is connected" in no_app.json()["error"]
        # reactions still work without an app: only the event is not delivered
        message = fake.state.post_message(CHANNEL, user=BOB, text="hi")
        reacted = await http.post(
            "/playground/act/reaction",
            json={"user": ALICE, "channel": CHANNEL, "ts": message.ts, "name": "+1", "on": True},
        )
        assert reacted.json() == {"ok": True, "name": "+1", "on": True, "delivered": False}


# ------------------------------------------------------------------------------------------- acts


async def test_command_reaches_the_app_signed_and_the_ack_shows_as_ephemeral(env: Env) -> None:
    response = await env.http.post(
        "/playground/act/command",
        json={"user": ALICE, "channel": CHANNEL, "text": "/draft  a matte bottle for mobile cover "},
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["ok"] is True
    assert answer["status"] == 200
    assert answer["body"] == {
        "response_type": "ephemeral",
        "text": "Drafting a matte bottle for mobile cover &lt;ok&gt;",
    }
    assert (answer["command"], answer["text"]) == ("/draft", "a matte bottle for mobile cover")
    assert env.app.rejected == 0
    [command] = env.app.of_type("slash_command")
    assert command["command"] == "/draft"
    assert command["text"] == "a matte bottle for mobile cover"
    assert (command["user_id"], command["user_name"], command["channel_id"]) == (ALICE, "alice", CHANNEL)
    assert command["trigger_id"] and command["response_url"].startswith(f"{env.fake.origin}/response/")

    [ack] = env.fake.state.ephemerals_for(ALICE)
    assert (ack.text, ack.source, ack.channel) == (
        "Drafting a matte bottle for mobile cover &lt;ok&gt;",
        "command_ack",
        CHANNEL,
    )
    snapshot = (await env.http.get("/playground/state", params={"user": ALICE})).json()
    assert [e["text"] for e in snapshot["ephemerals"]] == [ack.text]

    # without a leading slash the text is the /draft command's text; an explicit command wins
    await env.http.post("/playground/act/command", json={"user": BOB, "channel": CHANNEL, "text": "a cup"})
    await env.http.post(
        "/playground/act/command",
        json={"user": BOB, "channel": CHANNEL, "text": "now", "command": "/other"},
    )
    assert [(c["command"], c["text"], c["user_id"]) for c in env.app.of_type("slash_command")[1:]] == [
        ("/draft", "a cup", BOB),
        ("/other", "now", BOB),
    ]


async def test_command_failure_is_reported_not_raised(env: Env) -> None:
    response = await env.http.post(
        "/playground/act/command", json={"user": ALICE, "channel": CHANNEL, "text": "/draft fail"}
    )
    assert response.status_code == 200
    assert response.json()["ok"] is False
    assert (response.json()["status"], response.json()["body"]) == (500, "boom")
    assert env.fake.state.ephemerals_for(ALICE) == []


async def test_app_down_is_a_502(env: Env) -> None:
    assert env.fake.delivery is not None
    env.fake.delivery.request_url = "http://127.0.0.1:9/slack/events"  # nothing listens on the discard port
    response = await env.http.post(
        "/playground/act/command", json={"user": ALICE, "channel": CHANNEL, "text": "/draft x"}
    )
    assert response.status_code == 502
    assert "could not be reached" in response.json()["error"]


async def test_button_sends_a_block_action_as_the_chosen_user(env: Env) -> None:
    ts = await button_message(env.client)
    response = await env.http.post(
        "/playground/act/button",
        json={
            "user": BOB,
            "channel": CHANNEL,
            "ts": ts,
            "action_id": "upgrade_2k",
            "value": "draft-7",
            "block_id": "draft_actions",
        },
    )
    assert response.status_code == 200
    assert response.json() == {"ok": True, "status": 200, "body": None}
    [payload] = env.app.of_type("block_actions")
    assert payload["user"]["id"] == BOB
    assert payload["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": CHANNEL,
        "is_ephemeral": False,
    }
    [action] = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["style"]) == (
        "upgrade_2k",
        "draft_actions",
        "draft-7",
        "primary",
    )
    assert action["text"]["text"] == "Upgrade winner to 2K"
    assert payload["message"]["ts"] == ts
    assert env.app.rejected == 0

    # value and block_id may be left out: they come from the message's blocks
    await env.http.post(
        "/playground/act/button",
        json={"user": ALICE, "channel": CHANNEL, "ts": ts, "action_id": "upgrade_2k", "value": None},
    )
    second = env.app.of_type("block_actions")[1]
    assert (second["user"]["id"], second["actions"][0]["value"], second["actions"][0]["block_id"]) == (
        ALICE,
        "draft-7",
        "draft_actions",
    )


async def test_button_on_an_ephemeral_message(env: Env) -> None:
    await env.client.chat_postEphemeral(
        channel=CHANNEL,
        user=ALICE,
        text="Pick one",
        blocks=[
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "choose_2",
                        "value": "2",
                        "text": {"type": "plain_text", "text": "#2"},
                    }
                ],
            }
        ],
    )
    [ephemeral] = env.fake.state.ephemerals_for(ALICE)
    response = await env.http.post(
        "/playground/act/button",
        json={"user": ALICE, "channel": CHANNEL, "ts": ephemeral.ts, "action_id": "choose_2"},
    )
    assert response.json()["ok"] is True
    [payload] = env.app.of_type("block_actions")
    assert payload["container"]["is_ephemeral"] is True
    assert payload["actions"][0]["value"] == "2"


async def test_reactions_change_state_and_deliver_events(env: Env) -> None:
    posted = await env.client.chat_postMessage(channel=CHANNEL, text="variant 1")
    ts = str(posted["ts"])
    on = await env.http.post(
        "/playground/act/reaction",
        json={"user": BOB, "channel": CHANNEL, "ts": ts, "name": ":+1:", "on": True},
    )
    assert on.json() == {"ok": True, "name": "+1", "on": True, "delivered": True, "status": 200}
    assert env.fake.state.get_message(CHANNEL, ts).reactions == {"+1": [BOB]}
    again = await env.http.post(
        "/playground/act/reaction",
        json={"user": BOB, "channel": CHANNEL, "ts": ts, "name": "+1", "on": True},
    )
    assert (again.status_code, again.json()["error"]) == (400, "already_reacted")
    off = await env.http.post(
        "/playground/act/reaction",
        json={"user": BOB, "channel": CHANNEL, "ts": ts, "name": "+1", "on": False},
    )
    assert off.json()["ok"] is True
    assert env.fake.state.get_message(CHANNEL, ts).reactions == {}
    events = [body["event"] for body in env.app.of_type("event_callback")]
    assert [(e["type"], e["user"], e["reaction"], e["item"]["ts"]) for e in events] == [
        ("reaction_added", BOB, "+1", ts),
        ("reaction_removed", BOB, "+1", ts),
    ]
    assert env.app.rejected == 0


async def test_message_is_posted_as_the_user(env: Env) -> None:
    parent = await env.client.chat_postMessage(channel=CHANNEL, text="parent")
    response = await env.http.post(
        "/playground/act/message",
        json={"user": BOB, "channel": CHANNEL, "text": "<b>hi</b>", "thread_ts": parent["ts"]},
    )
    assert response.status_code == 200
    reply = env.fake.state.get_message(CHANNEL, response.json()["ts"])
    assert (reply.user, reply.text, reply.thread_ts) == (BOB, "<b>hi</b>", parent["ts"])
    missing = await env.http.post(
        "/playground/act/message",
        json={"user": BOB, "channel": CHANNEL, "text": "x", "thread_ts": "1.000001"},
    )
    assert (missing.status_code, missing.json()["error"]) == (400, "thread_not_found")


async def test_view_submission_errors_keep_the_modal_open(env: Env) -> None:
    await env.http.post(
        "/playground/act/command", json={"user": ALICE, "channel": CHANNEL, "text": "/draft modal"}
    )
    [view] = env.fake.state.open_views_for(ALICE)
    values: dict[str, dict[str, dict[str, Any]]] = {
        "prompt": {"value": {"type": "plain_text_input", "value": "abc"}},
        "destination": {
            "value": {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "Mobile cover"},
                    "value": "mobile",
                },
            }
        },
    }
    short = await env.http.post(
        "/playground/act/view", json={"user": ALICE, "view_id": view.id, "values": values}
    )
    assert short.status_code == 200
    answer = short.json()
    assert answer["errors"] == {"prompt": "Too short"}
    assert answer["view_open"] is True
    [submitted] = env.app.of_type("view_submission")
    assert submitted["user"]["id"] == ALICE
    assert submitted["view"]["id"] == view.id
    assert submitted["view"]["callback_id"] == "draft_modal"
    assert submitted["view"]["state"]["values"] == values

    others = await env.http.post(
        "/playground/act/view", json={"user": BOB, "view_id": view.id, "values": values}
    )
    assert others.status_code == 400
    assert "another user" in others.json()["error"]

    values["prompt"]["value"]["value"] = "a matte bottle"
    done = await env.http.post(
        "/playground/act/view", json={"user": ALICE, "view_id": view.id, "values": values}
    )
    assert done.json()["ok"] is True
    assert done.json()["view_open"] is False
    assert "errors" not in done.json()
    assert env.fake.state.open_views_for(ALICE) == []
    assert env.app.rejected == 0


async def test_closing_a_view_notifies_the_app_when_asked(env: Env) -> None:
    await env.http.post(
        "/playground/act/command", json={"user": ALICE, "channel": CHANNEL, "text": "/draft modal"}
    )
    [view] = env.fake.state.open_views_for(ALICE)
    closed = await env.http.post("/playground/act/close_view", json={"user": ALICE, "view_id": view.id})
    assert closed.json() == {"ok": True, "notified": True, "status": 200}
    assert env.fake.state.open_views_for(ALICE) == []
    [payload] = env.app.of_type("view_closed")
    assert (payload["user"]["id"], payload["view"]["id"], payload["is_cleared"]) == (ALICE, view.id, False)
    again = await env.http.post("/playground/act/close_view", json={"user": ALICE, "view_id": view.id})
    assert again.status_code == 400


BAD_INPUT: list[tuple[str, bytes | dict[str, Any], str]] = [
    ("command", b"not json", "not valid JSON"),
    ("command", b"", "expected a JSON object"),
    ("command", b"[1, 2]", "expected a JSON object"),
    ("command", {"channel": CHANNEL, "text": "/draft x"}, "missing field: user"),
    ("command", {"user": "U0NOBODY", "channel": CHANNEL, "text": "x"}, "unknown user: U0NOBODY"),
    ("command", {"user": "U0DRAFTBOT", "channel": CHANNEL, "text": "x"}, "not as a bot"),
    ("command", {"user": ALICE, "channel": "C0NOPE", "text": "x"}, "unknown channel: C0NOPE"),
    ("command", {"user": ALICE, "channel": CHANNEL, "text": 5}, "text must be a string"),
    ("command", {"user": ALICE, "channel": CHANNEL, "text": "/Bad!cmd x"}, "not a slash command"),
    ("message", {"user": ALICE, "channel": CHANNEL, "text": "  "}, "text must not be empty"),
    ("reaction", {"user": ALICE, "channel": CHANNEL, "ts": "1.000001", "name": "+1"}, "on must be"),
    (
        "reaction",
        {"user": ALICE, "channel": CHANNEL, "ts": "1.000001", "name": "+1", "on": True},
        "message_not_found",
    ),
    (
        "reaction",
        {"user": ALICE, "channel": CHANNEL, "ts": "1.1", "name": 5, "on": True},
        "name must be a string",
    ),
    ("button", {"user": ALICE, "channel": CHANNEL, "ts": "1.000001"}, "missing field: action_id"),
    ("button", {"user": ALICE, "channel": CHANNEL, "ts": "1.000001", "action_id": "a"}, "message_not_found"),
    ("button", {"user": ALICE, "channel": CHANNEL, "ts": "1.1", "action_id": "a", "value": 3}, "value must"),
    ("view", {"user": ALICE, "view_id": "V0NOPE", "values": {}}, "no open view V0NOPE"),
    ("view", {"user": ALICE}, "missing field: view_id"),
    ("close_view", {"user": ALICE, "view_id": "V0NOPE"}, "no open view"),
]


async def test_bad_input_is_a_400_with_a_json_error(env: Env) -> None:
    for path, body, error in BAD_INPUT:  # one server for all cases: each case is only a request
        if isinstance(body, bytes):
            response = await env.http.post(
                f"/playground/act/{path}", content=body, headers={"content-type": "application/json"}
            )
        else:
            response = await env.http.post(f"/playground/act/{path}", json=body)
        assert response.status_code == 400, (path, body, response.text)
        assert response.headers["content-type"] == "application/json"
        assert error in response.json()["error"], (path, body, response.json())
    form = await env.http.post(
        "/playground/act/command", data={"user": ALICE, "channel": CHANNEL, "text": "/draft x"}
    )
    text_plain = await env.http.post(
        "/playground/act/command",
        content=json.dumps({"user": ALICE, "channel": CHANNEL, "text": "/draft x"}),
        headers={"content-type": "text/plain"},
    )
    for response in (form, text_plain):  # what a cross-site page could send without a preflight
        assert response.status_code == 400
        assert "application/json" in response.json()["error"]
    assert env.app.received == []


async def test_bad_view_values_are_a_400(env: Env) -> None:
    await env.http.post(
        "/playground/act/command", json={"user": ALICE, "channel": CHANNEL, "text": "/draft modal"}
    )
    [view] = env.fake.state.open_views_for(ALICE)
    bad_values: list[Any] = [[], {"prompt": "x"}, {"prompt": {"value": 3}}]
    for values in bad_values:
        response = await env.http.post(
            "/playground/act/view", json={"user": ALICE, "view_id": view.id, "values": values}
        )
        assert response.status_code == 400, values
    assert env.app.of_type("view_submission") == []


# ------------------------------------------------------------------------------------------ audit


async def test_audit_rows_come_from_the_source(env: Env) -> None:
    one = await env.http.get("/playground/audit", params={"draft": 7})
    assert one.status_code == 200
    assert one.json() == AUDIT_ROWS[:2]
    everything = await env.http.get("/playground/audit")
    assert everything.json() == AUDIT_ROWS
    assert env.audit_calls == [7, None]
    bad = await env.http.get("/playground/audit", params={"draft": "seven"})
    assert bad.status_code == 400
    assert "draft" in bad.json()["error"]
