"""The fake Slack or the fake OpenAI Images API as a process of its own, for ``bench_processes.py``.

``python benchmarks/fake_slack_server.py slack --users N`` serves :class:`fakes.slack.FakeSlack` on a free
loopback port and prints one JSON line (``{"url": ...}``) once it listens. Besides the Web API it answers
a small control API under ``/bench/`` that the load generator (another process) drives:

- ``POST /bench/connect`` ``{"url", "secret"}``: signed delivery to the bot's ``/slack/events``.
- ``POST /bench/commands`` ``{"user", "channel", "texts"}``: every ``/draft`` at once; per command the
  HTTP round trip as the fake timed it (what Slack holds to its 3 s deadline), status and ack text.
- ``POST /bench/reactions`` ``{"channel", "items": [{"user", "ts", "name", "add"}]}``: reaction events,
  all at once; per event the round trip and status.
- ``POST /bench/press`` ``{"user", "channel", "ts", "action_id", "value"}``: a button press.
- ``GET /bench/messages``: every message of the channel and its threads, with the wall-clock times it
  was posted and updated (from the workspace's change listener).
- ``GET /bench/calls``: every Web API call and upload with its start and end time (wall clock),
  parameters and the answer's ids, so the load generator can time a variant's upload steps.

``python benchmarks/fake_slack_server.py openai`` serves :class:`fakes.openai.FakeOpenAI` with a fixed
latency of L seconds per request (``POST /bench/latency`` ``{"seconds"}`` sets it): the image is drawn
at once and its answer sent L after the request arrived (later only if drawing took longer), unlimited
concurrency; ``GET /bench/requests`` lists each request's start, end of the drawing, end of the delay and
end (wall clock). It is its own process so that drawing a 4K does not stall the fake Slack's event loop.

Times are ``time.time()``: every process runs on the same machine, so they compare across processes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402
from starlette.types import Message, Receive, Scope, Send  # noqa: E402

from fakes.asgi import serve_asgi  # noqa: E402
from fakes.openai import FakeOpenAI  # noqa: E402
from fakes.slack import Change, FakeSlack, Workspace  # noqa: E402

TALLY_RE = re.compile(r"• #(\d+): (\d+) ·")


class TimedSlack(FakeSlack):
    """The fake Slack, recording when every Web API call started and ended, and when messages changed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timed: list[dict[str, Any]] = []
        self.posted: dict[str, float] = {}
        self.updated: dict[str, list[float]] = {}
        self.state.add_listener(self._changed)

    def _changed(self, change: Change) -> None:
        now = time.time()
        ts = change.data.get("ts")
        if change.kind == "message_posted" and ts:
            self.posted.setdefault(str(ts), now)
        elif change.kind == "message_updated" and ts:
            self.updated.setdefault(str(ts), []).append(now)

    async def _call(self, method: str, call: Any) -> Response:
        start = time.time()
        answer = await super()._call(method, call)
        entry: dict[str, Any] = {"method": method, "t0": start, "t1": time.time()}
        params = dict(call.params)
        for key in ("file", "channel", "thread_ts", "ts", "files", "filename"):
            if key in params:
                entry[key] = str(params[key])[:400]
        if method == "chat.postMessage":
            entry["metadata"] = str(params.get("metadata", ""))[:400]
            entry["blocks"] = str(params.get("blocks", ""))[:2000]
        try:
            body = json.loads(bytes(answer.body))
        except ValueError:
            body = {}
        entry["ok"] = body.get("ok")
        for key in ("file_id", "upload_url", "ts"):
            if key in body:
                entry[f"answer_{key}"] = body[key]
        if isinstance(body.get("file"), dict):
            entry["answer_mimetype"] = body["file"].get("mimetype")
        self.timed.append(entry)
        return answer

    async def _upload_endpoint(self, request: Request) -> Response:
        start = time.time()
        answer = await super()._upload_endpoint(request)
        token = request.path_params["token"]
        self.timed.append({"method": "upload", "t0": start, "t1": time.time(), "token": token})
        return answer


def slack_app(users: int) -> TimedSlack:
    people = [("U0ALICE", "alice"), *((f"U{k:05d}", f"voter{k}") for k in range(users))]

    async def connect(request: Request) -> Response:
        body = await request.json()
        fake.connect_app(body["url"], body["secret"])
        return JSONResponse({"ok": True})

    async def timed(coro: Any) -> dict[str, Any]:
        start = time.time()
        try:
            response = await coro
        except Exception as exc:  # the app is down, or Slack refused (the script is wrong)
            return {"ms": (time.time() - start) * 1000, "status": None, "error": repr(exc), "sent": start}
        elapsed = (time.time() - start) * 1000
        if response is None:
            return {"ms": elapsed, "status": None, "sent": start}
        return {"ms": elapsed, "status": response.status_code, "text": response.text[:400], "sent": start}

    async def commands(request: Request) -> Response:
        body = await request.json()
        assert fake.delivery is not None
        sends = [fake.delivery.send_slash_command(body["user"], body["channel"], t) for t in body["texts"]]
        return JSONResponse(await asyncio.gather(*(timed(s) for s in sends)))

    async def reactions(request: Request) -> Response:
        body = await request.json()
        channel = body["channel"]
        sends = [
            (fake.user_add_reaction if item["add"] else fake.user_remove_reaction)(
                item["user"], channel, item["ts"], item["name"]
            )
            for item in body["items"]
        ]
        return JSONResponse(await asyncio.gather(*(timed(s) for s in sends)))

    async def press(request: Request) -> Response:
        body = await request.json()
        assert fake.delivery is not None
        send = fake.delivery.send_block_action(
            body["user"], body["channel"], body["ts"], body["action_id"], body.get("value")
        )
        return JSONResponse(await timed(send))

    async def messages(request: Request) -> Response:
        channel = request.query_params["channel"]
        found = []
        for parent in fake.state.history(channel):
            for message in fake.state.thread(channel, parent.ts):
                metadata = message.metadata or {}
                found.append(
                    {
                        "ts": message.ts,
                        "thread_ts": getattr(message, "thread_ts", None),
                        "event_type": metadata.get("event_type"),
                        "payload": metadata.get("event_payload") or {},
                        "posted": fake.posted.get(message.ts),
                        "updated": fake.updated.get(message.ts, []),
                        "tally": _tally(message) if message.ts == parent.ts else None,
                        "reactions": _reactions(message),
                    }
                )
        return JSONResponse(found)

    async def calls(request: Request) -> Response:
        since = float(request.query_params.get("since", "0"))
        return JSONResponse([c for c in fake.timed if c["t0"] >= since])

    routes = [
        Route("/bench/connect", connect, methods=["POST"]),
        Route("/bench/commands", commands, methods=["POST"]),
        Route("/bench/reactions", reactions, methods=["POST"]),
        Route("/bench/press", press, methods=["POST"]),
        Route("/bench/messages", messages, methods=["GET"]),
        Route("/bench/calls", calls, methods=["GET"]),
    ]
    fake = TimedSlack(state=Workspace(default_users=people), extra_routes=routes)
    return fake


def _tally(message: Any) -> dict[str, int] | None:
    """The parent's "*Votes:*" section as {variant number: votes} ({} for none yet), None if it has none."""
    for block in message.blocks or []:
        text = str((block.get("text") or {}).get("text", "")) if block.get("type") == "section" else ""
        if text.startswith("*Votes:*"):
            return {n: int(c) for n, c in TALLY_RE.findall(text)}
    return None


def _reactions(message: Any) -> dict[str, int]:
    return {name: len(users) for name, users in (message.reactions or {}).items()}


class FixedLatencyImages:
    """FakeOpenAI behind a fixed delay per request (settable), unlimited concurrency, each request timed."""

    def __init__(self, latency: float) -> None:
        self.api = FakeOpenAI()
        self.latency = latency
        self.requests: list[dict[str, float]] = []
        self.control = Starlette(
            routes=[
                Route("/bench/latency", self._set_latency, methods=["POST"]),
                Route("/bench/requests", self._requests, methods=["GET"]),
            ]
        )

    async def _set_latency(self, request: Request) -> Response:
        self.latency = float((await request.json())["seconds"])
        return JSONResponse({"ok": True, "latency": self.latency})

    async def _requests(self, request: Request) -> Response:
        since = float(request.query_params.get("since", "0"))
        return JSONResponse([r for r in self.requests if r["t0"] >= since])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith("/bench/"):
            await self.control(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.api(scope, receive, send)
            return
        entry = {"t0": time.time(), "latency": self.latency}
        self.requests.append(entry)
        started = time.monotonic()
        answer: list[Message] = []

        async def keep(message: Message) -> None:
            answer.append(message)

        # Drawn during the delay, not after it: a real provider's latency includes its drawing, so the
        # answer leaves after L (or after the drawing, if that takes longer), not after L plus our PNG.
        await self.api(scope, receive, keep)
        entry["drawn"] = time.time()
        await asyncio.sleep(max(0.0, self.latency - (time.monotonic() - started)))
        entry["slept"] = time.time()
        for message in answer:
            await send(message)
        entry["t1"] = time.time()


async def serve(role: str, users: int, latency: float) -> None:
    app: Any
    if role == "slack":
        app = slack_app(users)
        logging.getLogger("fakes.slack").setLevel(logging.ERROR)
    else:
        app = FixedLatencyImages(latency)
    async with serve_asgi(app) as url:
        if isinstance(app, FakeSlack):
            app.set_origin(url)
            info: dict[str, Any] = {"url": url, "api": app.base_url, "token": app.bot_token}
        else:
            info = {"url": url, "key": app.api.api_key}
        print(json.dumps(info), flush=True)
        await asyncio.Event().wait()  # until SIGTERM


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("role", choices=("slack", "openai"))
    parser.add_argument("--users", type=int, default=50, help="voters in the workspace (slack)")
    parser.add_argument("--latency", type=float, default=2.0, help="seconds per image request (openai)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.role, args.users, args.latency))


if __name__ == "__main__":
    main()
