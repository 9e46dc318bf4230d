"""A stateful, Slack-compatible Web API server (Starlette ASGI app) over :class:`Workspace`.

Point the real ``slack_sdk`` clients at it with ``base_url=fake.base_url``. It speaks the wire format
slack_sdk uses: every method POSTed to ``/api/<method>``, parameters in the query string, a form-encoded,
multipart or JSON body, the token as ``Authorization: Bearer``. Answers use Slack's documented shapes and
error codes (HTTP 200 with ``ok: false``), except injected faults (:mod:`fakes.faults`, keyed by method name;
``"upload"`` targets the upload URL and ``"response_url"`` the response URLs). The methods themselves are
in :mod:`fakes.slack.api`, what people do in :mod:`fakes.slack.people`.

Other routes:

- ``POST /upload/v1/<token>``: the files v2 upload URL (raw bytes, or multipart with a ``file`` field).
- ``POST /response/<token>``: response_url endpoints handed out with slash commands and block actions.
- ``GET /files-pri/<team>-<file>/[download/]<name>``: ``url_private`` (bot token required, as in Slack:
  403 without it or with a wrong one; 404 for a deleted file or one the bot cannot see; fault key
  ``"url_private"``; ``kind="chunked"`` leaves out Content-Length). A file's ``padding`` is streamed
  as zero bytes, so a 60 MB download costs nothing.
- ``GET /playground/files/<file>/<name>``: the same bytes without auth, for the browser playground.
- ``GET /playground/state?since=N&user=U&wait=S``: JSON snapshot (with the app's message ``shortcuts``);
  long-polls up to ``wait`` s for a change.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import socket
from collections.abc import AsyncIterator, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from fakes.asgi import serve_asgi
from fakes.faults import Fault, Faults
from fakes.slack.api import METHODS
from fakes.slack.api.files import PendingShares
from fakes.slack.api.params import Call, Params, bearer, content_type, parse_multipart, read_call
from fakes.slack.delivery import SlackDelivery
from fakes.slack.people import People
from fakes.slack.state import JSON, Clock, FileRecord, Message, ResponseUrl, SlackError, Workspace

logger = logging.getLogger(__name__)

DEFAULT_BOT_TOKEN = "xoxb-playground-draftbot"
DEFAULT_EVENTS = frozenset({"reaction_added", "reaction_removed"})


@dataclass(frozen=True)
class MessageShortcut:
    """A message shortcut of the app (``features.shortcuts`` of type ``message`` in its manifest)."""

    callback_id: str
    name: str
    description: str = ""


DEFAULT_MESSAGE_SHORTCUTS = (
    MessageShortcut("draft_from_image", "Draft from this image", "Start a draft from an image file"),
)
_CHUNK = 1 << 20


class FakeSlack:
    """The fake Slack: an ASGI app (``await fake(scope, receive, send)``) plus test and playground helpers."""

    def __init__(
        self,
        *,
        bot_token: str | Iterable[str] = DEFAULT_BOT_TOKEN,
        state: Workspace | None = None,
        clock: Clock | None = None,
        scan_delay: float | None = 0.05,
        deliver_bot_reaction_events: bool = True,
        subscribed_events: Iterable[str] = DEFAULT_EVENTS,
        verification_token: str = "playground-verification-token",
        extra_routes: Sequence[BaseRoute] = (),
        message_shortcuts: Sequence[MessageShortcut] = DEFAULT_MESSAGE_SHORTCUTS,
    ) -> None:
        self.bot_tokens = {bot_token} if isinstance(bot_token, str) else set(bot_token)
        self.bot_token = bot_token if isinstance(bot_token, str) else sorted(self.bot_tokens)[0]
        self.state = state or Workspace(clock=clock)
        self.scan_delay = scan_delay
        self.deliver_bot_reaction_events = deliver_bot_reaction_events
        self.subscribed_events = set(subscribed_events)
        self.verification_token = verification_token
        self.message_shortcuts = list(message_shortcuts)  # what the page's "More actions" menu offers
        self.faults = Faults()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.delivery: SlackDelivery | None = None
        self.origin: str | None = None
        self.base_url: str | None = None
        self.pending_shares = PendingShares()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = asyncio.Event()  # set by aclose: long polls answer now, so the server can stop
        people = People(self)
        self.user_post_message = people.post_message
        self.user_upload_file = people.upload_file
        self.user_add_reaction = people.add_reaction
        self.user_remove_reaction = people.remove_reaction
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._api_endpoint, methods=["GET", "POST"]),
                Route("/upload/v1/{token}", self._upload_endpoint, methods=["POST"]),
                Route("/response/{token}", self._response_url_endpoint, methods=["POST"]),
                Route("/files-pri/{team_file}/{rest:path}", self._private_file_endpoint, methods=["GET"]),
                Route("/playground/files/{file_id}/{name:path}", self._public_file_endpoint, methods=["GET"]),
                Route("/playground/state", self._state_endpoint, methods=["GET"]),
                *extra_routes,
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    # ------------------------------------------------------------------------------------ public helpers

    def set_origin(self, origin: str) -> None:
        """Where this server is reachable (``http://127.0.0.1:PORT``); sets ``base_url`` too."""
        self.origin = origin.rstrip("/")
        self.base_url = f"{self.origin}/api/"
        self.state.origin = self.origin

    def connect_app(self, request_url: str, signing_secret: str, **kwargs: Any) -> SlackDelivery:
        """Configure signed delivery to the app under test (events, commands, interactions)."""
        self.delivery = SlackDelivery(self, request_url, signing_secret, **kwargs)
        return self.delivery

    def calls_for(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every recorded call to ``method`` (faulted ones included), oldest first."""
        return [params for name, params in self.calls if name == method]

    def issue_response_url(
        self, user_id: str, channel_id: str, *, message_ts: str | None = None, thread_ts: str | None = None
    ) -> str:
        record = self.state.issue_response_url(
            user_id, channel_id, message_ts=message_ts, thread_ts=thread_ts
        )
        return self.state.response_url(record)

    def issue_trigger_id(self, user_id: str) -> str:
        return self.state.issue_trigger(user_id)

    def messages(self, channel_id: str) -> list[Message]:
        """Top-level messages of a channel, oldest first."""
        return self.state.history(channel_id)

    def thread(self, channel_id: str, ts: str) -> list[Message]:
        """[parent, *replies] of the thread containing ``ts``."""
        return self.state.thread(channel_id, ts)

    def complete_scan(self, file_id: str) -> None:
        """Finish the "malware scan" of a file now (used when ``scan_delay`` is None, or to hurry)."""
        if file_id not in self.state.files:
            return
        self.state.mark_scanned(file_id)
        self.pending_shares.flush(self.state)

    async def drain(self, max_wait: float = 10.0) -> None:
        """Wait for background work (scans, shares, event deliveries) to finish."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        while self._tasks:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("fake Slack background tasks still running")
            await asyncio.wait(list(self._tasks), timeout=remaining)

    async def aclose(self) -> None:
        """Answer the long polls, cancel background work and close the delivery client."""
        self._closing.set()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.delivery is not None:
            await self.delivery.aclose()

    # ------------------------------------------------------------------------ delivery and background

    async def deliver(self, event: JSON) -> httpx.Response | None:
        """Send ``event`` to the app if it subscribed to it; the app's response, None if not sent."""
        if self.delivery is None or event["type"] not in self.subscribed_events:
            return None
        return await self.delivery.send_event(event)

    def deliver_later(self, event: JSON) -> None:
        if self.delivery is not None and event["type"] in self.subscribed_events:
            self.spawn(self.deliver(event))

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` in the background (``drain`` waits for it, ``aclose`` cancels it)."""
        task = asyncio.get_running_loop().create_task(self._guard(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _guard(coro: Coroutine[Any, Any, Any]) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except httpx.HTTPError as exc:  # the app is down or slow: Slack would retry; we only report it
            logger.warning("fake Slack could not deliver to the app: %r", exc)
        except Exception:
            logger.exception("fake Slack background task failed")

    # ----------------------------------------------------------------------------------- auth, faults

    def _ensure_origin(self, request: Request) -> None:
        if self.origin is None:
            self.set_origin(str(request.base_url))

    def _authorized(self, token: str | None) -> None:
        if not token:
            raise SlackError("not_authed")
        if token not in self.bot_tokens:
            raise SlackError("invalid_auth")

    @staticmethod
    async def _fault_response(fault: Fault, *, plain: bool = False) -> Response | None:
        """Slack's answer for a fault: JSON ``ok: false`` for Web API methods, plain text for the routes."""
        await fault.wait()
        if not fault.answers:
            return None
        status = fault.status or (400 if plain else 200)
        headers = dict(fault.headers)
        retry_after = fault.retry_after_header()
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        if fault.body is not None:
            return Response(fault.body, status, headers=headers, media_type=fault.content_type)
        error = fault.error or (
            "ratelimited" if status == 429 else "fatal_error" if status >= 500 else "invalid_request"
        )
        if plain:
            return PlainTextResponse(error, status_code=status, headers=headers)
        return JSONResponse({"ok": False, "error": error}, status_code=status, headers=headers)

    # ---------------------------------------------------------------------------------------- endpoints

    async def _api_endpoint(self, request: Request) -> Response:
        self._ensure_origin(request)
        method = request.path_params["method"]
        call = await read_call(request)
        self.calls.append((method, dict(call.params)))
        fault = self.faults.take(method)
        if fault is not None and not fault.after:
            faulted = await self._fault_response(fault)
            if faulted is not None:
                return faulted
        answer = await self._call(method, call)
        if fault is not None and fault.after:  # done, but the caller is not to know
            if fault.kind == "drop":
                return DroppedResponse()
            return await self._fault_response(fault) or answer
        return answer

    async def _call(self, method: str, call: Call) -> Response:
        handler = METHODS.get(method)
        if handler is None:
            return JSONResponse({"ok": False, "error": "unknown_method", "req_method": method})
        try:
            if call.parse_error:
                raise SlackError(call.parse_error)
            self._authorized(call.token)
            result = await handler(self, Params(call.params))
        except SlackError as exc:
            return JSONResponse(exc.to_response())
        return JSONResponse({"ok": True, **result})

    async def _upload_endpoint(self, request: Request) -> Response:
        self._ensure_origin(request)
        token = request.path_params["token"]
        body = await request.body()
        ctype, options = content_type(request.headers.get("content-type", ""))
        data = body
        if ctype == "multipart/form-data":
            fields = parse_multipart(body, options.get("boundary", ""))
            if "file" not in fields:
                return PlainTextResponse("no_file_data", status_code=400)
            data = fields["file"][0]
        self.calls.append(("upload", {"upload_token": token, "size": len(data)}))
        fault = self.faults.take("upload")
        if fault is not None:
            faulted = await self._fault_response(fault, plain=True)
            if faulted is not None:
                return faulted
        record = self.state.file_by_upload_token(token)
        if record is None:
            return PlainTextResponse("invalid_upload_url", status_code=404)
        self.state.receive_upload(record.id, data)
        return PlainTextResponse(f"OK - {len(data)}")

    async def _response_url_endpoint(self, request: Request) -> Response:
        self._ensure_origin(request)
        token = request.path_params["token"]
        body = await request.body()
        ctype, _ = content_type(request.headers.get("content-type", ""))
        payload: Any
        try:
            if ctype == "application/x-www-form-urlencoded":
                payload = json.loads(dict(parse_qsl(body.decode())).get("payload", ""))
            else:
                payload = json.loads(body)
        except ValueError:
            payload = None
        self.calls.append(
            ("response_url", {"response_token": token, **(payload if isinstance(payload, dict) else {})})
        )
        fault = self.faults.take("response_url")
        if fault is not None:
            faulted = await self._fault_response(fault, plain=True)
            if faulted is not None:
                return faulted
        try:
            record = self.state.use_response_url(token)
        except SlackError as exc:
            return PlainTextResponse(exc.code, status_code=404)
        if not isinstance(payload, dict):
            return PlainTextResponse("invalid_payload", status_code=400)
        try:
            self._apply_response(record, payload)
        except SlackError as exc:
            return PlainTextResponse(exc.code, status_code=400)
        return JSONResponse({"ok": True})

    def _apply_response(self, record: ResponseUrl, payload: JSON) -> None:
        state = self.state
        bot = state.bot.id
        text = payload.get("text")
        text = None if text is None else str(text)
        blocks = payload.get("blocks")
        attachments = payload.get("attachments")
        if blocks is not None and not isinstance(blocks, list):
            raise SlackError("invalid_blocks")
        original_message: Message | None = None
        if record.message_ts and record.message_ts in state.channel_messages(record.channel_id):
            original_message = state.get_message(record.channel_id, record.message_ts)
        ephemeral_ts = (
            record.message_ts if state.get_ephemeral(record.message_ts) else record.last_ephemeral_ts
        )
        if payload.get("delete_original"):
            if original_message is not None:
                state.delete_message(record.channel_id, original_message.ts, by_user=bot)
            elif ephemeral_ts and state.get_ephemeral(ephemeral_ts):
                state.delete_ephemeral(ephemeral_ts)
            return
        if payload.get("replace_original"):
            if original_message is not None:
                state.update_message(
                    record.channel_id,
                    original_message.ts,
                    by_user=bot,
                    text=text or "",
                    blocks=blocks if blocks is not None else [],
                    attachments=attachments if attachments is not None else [],
                )
                return
            if ephemeral_ts and state.get_ephemeral(ephemeral_ts):
                state.replace_ephemeral(ephemeral_ts, text=text, blocks=blocks, attachments=attachments)
                return
        thread_ts = payload.get("thread_ts") or record.thread_ts
        if payload.get("response_type") == "in_channel":
            state.post_message(
                record.channel_id,
                user=bot,
                text=text,
                blocks=blocks,
                attachments=attachments,
                thread_ts=thread_ts,
            )
        else:
            ephemeral = state.post_ephemeral(
                record.channel_id,
                record.user_id,
                text=text,
                blocks=blocks,
                attachments=attachments,
                thread_ts=thread_ts,
                source="response_url",
            )
            record.last_ephemeral_ts = ephemeral.ts

    def _file_response(self, record: FileRecord | None) -> Response:
        if record is None or record.content is None or record.deleted:
            return PlainTextResponse("file_not_found", status_code=404)
        media_type = record.mimetype or "application/octet-stream"
        if not record.padding:
            return Response(record.content, media_type=media_type)
        return StreamingResponse(
            _padded(record.content, record.padding),
            media_type=media_type,
            headers={"Content-Length": str(record.served_size)},
        )

    async def _private_file_endpoint(self, request: Request) -> Response:
        self._ensure_origin(request)
        token = bearer(request)
        _, _, file_id = request.path_params["team_file"].partition("-")
        self.calls.append(("url_private", {"file": file_id, "authorized": token in self.bot_tokens}))
        if not token or token not in self.bot_tokens:
            return PlainTextResponse("not_authed", status_code=403)
        fault = self.faults.take("url_private")
        if fault is not None:
            faulted = await self._fault_response(fault, plain=True)
            if faulted is not None:
                return faulted
        record = self.state.files.get(file_id)
        if record is not None and not self.state.file_visible_to(record, self.state.bot.id):
            record = None
        response = self._file_response(record)
        if fault is not None and fault.kind == "chunked":  # no Content-Length: only the bytes tell
            del response.headers["content-length"]
        return response

    async def _public_file_endpoint(self, request: Request) -> Response:
        return self._file_response(self.state.files.get(request.path_params["file_id"]))

    async def _state_endpoint(self, request: Request) -> Response:
        self._ensure_origin(request)
        query = request.query_params
        try:
            since = int(query.get("since") or 0)
            wait = min(float(query.get("wait") or 0), 30.0)
        except ValueError:
            return JSONResponse({"ok": False, "error": "invalid_arguments"}, status_code=400)
        if wait > 0 and not self._closing.is_set():
            await self._wait_unless_closing(self.state.wait_for_change(since, max_wait=wait))
        snapshot = self.state.snapshot(user_id=query.get("user") or None, since=since)
        snapshot["shortcuts"] = [
            {"type": "message", **dataclasses.asdict(shortcut)} for shortcut in self.message_shortcuts
        ]
        return JSONResponse(snapshot)

    async def _wait_unless_closing(self, wait: Coroutine[Any, Any, object]) -> None:
        """A page's long poll holds its connection open for up to 30 s; a server stopping meanwhile would
        wait for it and then cancel it with an error. So a closing fake ends the wait."""
        waiting = asyncio.ensure_future(wait)
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            await asyncio.wait({waiting, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiting, closing):
                task.cancel()
            await asyncio.gather(waiting, closing, return_exceptions=True)


async def _padded(content: bytes, padding: int) -> AsyncIterator[bytes]:
    yield content
    zeros = bytes(_CHUNK)
    while padding > 0:
        chunk = zeros[: min(padding, _CHUNK)]
        padding -= len(chunk)
        yield chunk


@asynccontextmanager
async def serve_fake_slack(
    *, host: str = "127.0.0.1", port: int = 0, sock: socket.socket | None = None, **kwargs: Any
) -> AsyncIterator[FakeSlack]:
    """Run a :class:`FakeSlack` with uvicorn inside the current event loop; ``fake.base_url`` is set.
    ``sock``, already bound, is served instead of ``host:port``."""
    fake = FakeSlack(**kwargs)
    async with serve_asgi(fake, host=host, port=port, sock=sock) as origin:
        fake.set_origin(origin)
        try:
            yield fake
        finally:
            with suppress(Exception):
                await fake.aclose()


class DroppedResponse(Response):
    """An answer that breaks off: the headers promise a body, a byte of it arrives, then the connection
    closes (uvicorn aborts it when the app fails mid-response). The client sees a broken connection."""

    def __init__(self) -> None:
        super().__init__(b"", status_code=200, media_type="application/json")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
            }
        )
        await send({"type": "http.response.body", "body": b"{", "more_body": True})
        raise ConnectionAbortedError("fault: the connection drops in the middle of the answer")
