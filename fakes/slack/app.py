"""A stateful, Slack-compatible Web API server (Starlette ASGI app) over :class:`Workspace`.

Point the real ``slack_sdk`` clients at it with ``base_url=fake.base_url``. It speaks the wire format
slack_sdk uses: every method POSTed to ``/api/<method>``, parameters in the query string, a form-encoded,
multipart or JSON body, the token as ``Authorization: Bearer``. Answers use Slack's documented shapes and
error codes (HTTP 200 with ``ok: false``), except injected faults (:mod:`fakes.faults`, keyed by method name;
``"upload"`` targets the upload URL and ``"response_url"`` the response URLs).

Other routes:

- ``POST /upload/v1/<token>``: the files v2 upload URL (raw bytes, or multipart with a ``file`` field).
- ``POST /response/<token>``: response_url endpoints handed out with slash commands and block actions.
- ``GET /files-pri/<team>-<file>/[download/]<name>``: ``url_private`` (bot token required, as in Slack).
- ``GET /playground/files/<file>/<name>``: the same bytes without auth, for the browser playground.
- ``GET /playground/state?since=N&user=U&wait=S``: JSON snapshot; long-polls up to ``wait`` s for a change.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from fakes.asgi import serve_asgi
from fakes.faults import Fault, Faults
from fakes.slack.delivery import SlackDelivery
from fakes.slack.state import (
    JSON,
    Channel,
    Clock,
    FileRecord,
    Message,
    ResponseUrl,
    SlackError,
    Workspace,
    decode_cursor,
    encode_cursor,
    ts_micros,
)

logger = logging.getLogger(__name__)

DEFAULT_BOT_TOKEN = "xoxb-playground-draftbot"
DEFAULT_EVENTS = frozenset({"reaction_added", "reaction_removed"})


# ------------------------------------------------------------------------------------- request parsing


def _content_type(header: str) -> tuple[str, dict[str, str]]:
    main, *rest = header.split(";")
    options: dict[str, str] = {}
    for item in rest:
        key, _, value = item.strip().partition("=")
        options[key.lower()] = value.strip().strip('"')
    return main.strip().lower(), options


def parse_multipart(body: bytes, boundary: str) -> dict[str, tuple[bytes, str | None]]:
    """``{field: (bytes, filename or None)}`` from a multipart/form-data body."""
    fields: dict[str, tuple[bytes, str | None]] = {}
    if not boundary:
        return fields
    for part in body.split(b"--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break
        part = part.removeprefix(b"\r\n")
        head, _, data = part.partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        name: str | None = None
        filename: str | None = None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() != "content-disposition":
                continue
            _, options = _content_type(value)
            name = options.get("name")
            filename = options.get("filename")
        if name is not None:
            fields[name] = (data, filename)
    return fields


class Params:
    """Typed access to the merged query + body parameters of one call."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        if isinstance(value, dict | list):
            return json.dumps(value)
        return str(value)

    def ref(self, key: str) -> str | None:
        """A text parameter where an empty string means "absent" (ids, ts values)."""
        return self.text(key) or None

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("1", "true", "yes")

    def number(self, key: str, default: int) -> int:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments", f"{key} must be an integer") from None

    def decoded(self, key: str, error: str) -> Any:
        """A JSON parameter: already decoded in a JSON body, a JSON string in a form body."""
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, str | bytes):
            try:
                return json.loads(value)
            except ValueError:
                raise SlackError(error) from None
        return value

    def blocks(self) -> list[JSON] | None:
        blocks = self.decoded("blocks", "invalid_blocks_format")
        if blocks is not None and not isinstance(blocks, list):
            raise SlackError("invalid_blocks", "must be an array [json-pointer:/blocks]")
        return blocks

    def attachments(self) -> list[JSON] | None:
        attachments = self.decoded("attachments", "invalid_attachments")
        if attachments is not None and not isinstance(attachments, list):
            raise SlackError("invalid_attachments")
        return attachments

    def metadata(self) -> JSON | None:
        metadata = self.decoded("metadata", "invalid_metadata_format")
        if metadata is None:
            return None
        if (
            not isinstance(metadata, dict)
            or not isinstance(metadata.get("event_type"), str)
            or not isinstance(metadata.get("event_payload", {}), dict)
        ):
            raise SlackError("invalid_metadata_format")
        return metadata


@dataclass
class _PendingShare:
    file_ids: list[str]
    channel_id: str
    thread_ts: str | None
    initial_comment: str | None
    blocks: list[JSON] | None


Handler = Callable[[Params], Awaitable[JSON]]


# ------------------------------------------------------------------------------------------------- app


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
    ) -> None:
        self.bot_tokens = {bot_token} if isinstance(bot_token, str) else set(bot_token)
        self.bot_token = bot_token if isinstance(bot_token, str) else sorted(self.bot_tokens)[0]
        self.state = state or Workspace(clock=clock)
        self.scan_delay = scan_delay
        self.deliver_bot_reaction_events = deliver_bot_reaction_events
        self.subscribed_events = set(subscribed_events)
        self.verification_token = verification_token
        self.faults = Faults()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.delivery: SlackDelivery | None = None
        self.origin: str | None = None
        self.base_url: str | None = None
        self._pending_shares: list[_PendingShare] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._methods: dict[str, Handler] = {
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "bots.info": self._bots_info,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "reactions.get": self._reactions_get,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "files.info": self._files_info,
            "files.delete": self._files_delete,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.info": self._conversations_info,
            "conversations.list": self._conversations_list,
            "conversations.open": self._conversations_open,
            "conversations.join": self._conversations_join,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
        }
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
        self._flush_shares()

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
        """Cancel background work and close the delivery client."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.delivery is not None:
            await self.delivery.aclose()

    # UI-side actions: what a person does in the Slack client, delivered to the app like Slack would.

    async def user_post_message(
        self, user_id: str, channel_id: str, text: str, *, thread_ts: str | None = None
    ) -> Message:
        message = self.state.post_message(channel_id, user=user_id, text=text, thread_ts=thread_ts)
        event: JSON = {
            "type": "message",
            "channel": message.channel,
            "user": user_id,
            "text": text,
            "ts": message.ts,
            "event_ts": message.ts,
            "channel_type": self._channel_type(self.state.get_channel(message.channel)),
        }
        if message.thread_ts:
            event["thread_ts"] = message.thread_ts
        await self._deliver(event)
        return message

    async def user_add_reaction(
        self, user_id: str, channel_id: str, ts: str, name: str
    ) -> httpx.Response | None:
        """Add the reaction and deliver ``reaction_added``; the app's response, None if not delivered."""
        message = self.state.add_reaction(channel_id, ts, name, user_id)
        return await self._deliver(self._reaction_event("reaction_added", user_id, message, name))

    async def user_remove_reaction(
        self, user_id: str, channel_id: str, ts: str, name: str
    ) -> httpx.Response | None:
        message = self.state.remove_reaction(channel_id, ts, name, user_id)
        return await self._deliver(self._reaction_event("reaction_removed", user_id, message, name))

    # --------------------------------------------------------------------------------------- internals

    @staticmethod
    def _channel_type(channel: Channel) -> str:
        return "im" if channel.is_im else "group" if channel.is_private else "channel"

    def _reaction_event(self, kind: str, user_id: str, message: Message, name: str) -> JSON:
        event: JSON = {
            "type": kind,
            "user": user_id,
            "reaction": name,
            "item": {"type": "message", "channel": message.channel, "ts": message.ts},
            "event_ts": self.state.next_ts(),
        }
        if message.user:
            event["item_user"] = message.user
        return event

    async def _deliver(self, event: JSON) -> httpx.Response | None:
        if self.delivery is None or event["type"] not in self.subscribed_events:
            return None
        return await self.delivery.send_event(event)

    def _deliver_later(self, event: JSON) -> None:
        if self.delivery is not None and event["type"] in self.subscribed_events:
            self._spawn(self._deliver(event))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
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

    def _flush_shares(self) -> None:
        for share in list(self._pending_shares):
            files = [self.state.files.get(f) for f in share.file_ids]
            if not all(f is None or f.scanned for f in files):
                continue
            self._pending_shares.remove(share)
            present = [f.id for f in files if f is not None]
            if not present:
                continue
            try:
                self.state.share_files(
                    present,
                    share.channel_id,
                    user=self.state.bot.id,
                    thread_ts=share.thread_ts,
                    initial_comment=share.initial_comment,
                    blocks=share.blocks,
                )
            except SlackError as exc:
                logger.warning("fake Slack could not share files %s: %s", present, exc)

    async def _scan_later(self, file_ids: list[str], delay: float) -> None:
        await asyncio.sleep(delay)
        for file_id in file_ids:
            self.complete_scan(file_id)

    def _ensure_origin(self, request: Request) -> None:
        if self.origin is None:
            self.set_origin(str(request.base_url))

    def _authorized(self, token: str | None) -> None:
        if not token:
            raise SlackError("not_authed")
        if token not in self.bot_tokens:
            raise SlackError("invalid_auth")

    @staticmethod
    def _bearer(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip() or None
        return None

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

    def _bot_in(self, channel: Channel) -> None:
        if not channel.has_member(self.state.bot.id):
            raise SlackError("not_in_channel")

    # ---------------------------------------------------------------------------------------- endpoints

    async def _api_endpoint(self, request: Request) -> Response:
        self._ensure_origin(request)
        method = request.path_params["method"]
        params: dict[str, Any] = dict(request.query_params)
        token = self._bearer(request)
        body = await request.body()
        ctype, options = _content_type(request.headers.get("content-type", ""))
        parse_error: str | None = None
        if body:
            if ctype == "application/json":
                try:
                    decoded = json.loads(body)
                except ValueError:
                    decoded = None
                if isinstance(decoded, dict):
                    params.update(decoded)
                else:
                    parse_error = "invalid_json"
            elif ctype == "multipart/form-data":
                for name, (value, filename) in parse_multipart(body, options.get("boundary", "")).items():
                    params[name] = value if filename is not None else value.decode("utf-8", "replace")
            else:
                params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        body_token = params.pop("token", None)
        if token is None and isinstance(body_token, str) and body_token:
            token = body_token
        self.calls.append((method, dict(params)))
        fault = self.faults.take(method)
        if fault is not None:
            faulted = await self._fault_response(fault)
            if faulted is not None:
                return faulted
        handler = self._methods.get(method)
        if handler is None:
            return JSONResponse({"ok": False, "error": "unknown_method", "req_method": method})
        try:
            if parse_error:
                raise SlackError(parse_error)
            if method != "api.test":
                self._authorized(token)
            result = await handler(Params(params))
        except SlackError as exc:
            return JSONResponse(exc.to_response())
        return JSONResponse({"ok": True, **result})

    async def _upload_endpoint(self, request: Request) -> Response:
        self._ensure_origin(request)
        token = request.path_params["token"]
        body = await request.body()
        ctype, options = _content_type(request.headers.get("content-type", ""))
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
        ctype, _ = _content_type(request.headers.get("content-type", ""))
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
        if record is None or record.content is None:
            return PlainTextResponse("file_not_found", status_code=404)
        return Response(record.content, media_type=record.mimetype or "application/octet-stream")

    async def _private_file_endpoint(self, request: Request) -> Response:
        self._ensure_origin(request)
        token = self._bearer(request)
        if not token or token not in self.bot_tokens:
            return PlainTextResponse("not_authed", status_code=403)
        _, _, file_id = request.path_params["team_file"].partition("-")
        self.calls.append(("url_private", {"file": file_id}))
        return self._file_response(self.state.files.get(file_id))

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
        if wait > 0:
            await self.state.wait_for_change(since, max_wait=wait)
        return JSONResponse(self.state.snapshot(user_id=query.get("user") or None, since=since))

    # ----------------------------------------------------------------------------------------- methods

    async def _api_test(self, p: Params) -> JSON:
        return {"args": {k: v for k, v in p.data.items() if isinstance(v, str)}}

    async def _auth_test(self, p: Params) -> JSON:
        team = self.state.team
        bot = self.state.bot
        return {
            "url": f"https://{team.domain}.slack.com/",
            "team": team.name,
            "user": bot.name,
            "team_id": team.id,
            "user_id": bot.id,
            "bot_id": bot.bot_id,
            "is_enterprise_install": False,
        }

    async def _bots_info(self, p: Params) -> JSON:
        bot = self.state.bot
        if p.ref("bot") not in (None, bot.bot_id):
            raise SlackError("bot_not_found")
        return {
            "bot": {
                "id": bot.bot_id,
                "deleted": False,
                "name": bot.name,
                "updated": 0,
                "app_id": self.state.app_id,
                "user_id": bot.id,
                "icons": {},
            }
        }

    async def _chat_post_message(self, p: Params) -> JSON:
        channel = self.state.resolve_channel(p.ref("channel"))
        self._bot_in(channel)
        message = self.state.post_message(
            channel.id,
            user=self.state.bot.id,
            text=p.text("text"),
            blocks=p.blocks(),
            attachments=p.attachments(),
            metadata=p.metadata(),
            thread_ts=p.ref("thread_ts"),
            reply_broadcast=p.flag("reply_broadcast"),
        )
        return {"channel": channel.id, "ts": message.ts, "message": self.state.message_json(message)}

    async def _chat_update(self, p: Params) -> JSON:
        channel = self.state.resolve_channel(p.ref("channel"))
        message = self.state.update_message(
            channel.id,
            p.ref("ts"),
            by_user=self.state.bot.id,
            text=p.text("text"),
            blocks=p.blocks(),
            attachments=p.attachments(),
            metadata=p.metadata(),
        )
        return {
            "channel": channel.id,
            "ts": message.ts,
            "text": message.text,
            "message": self.state.message_json(message),
        }

    async def _chat_delete(self, p: Params) -> JSON:
        channel = self.state.resolve_channel(p.ref("channel"))
        ts = p.ref("ts")
        self.state.delete_message(channel.id, ts, by_user=self.state.bot.id)
        return {"channel": channel.id, "ts": ts}

    async def _chat_get_permalink(self, p: Params) -> JSON:
        channel = self.state.resolve_channel(p.ref("channel"))
        message = self.state.get_message(channel.id, p.ref("message_ts"))
        return {"channel": channel.id, "permalink": self._permalink(message)}

    def _permalink(self, message: Message) -> str:
        link = f"{self.state.origin}/archives/{message.channel}/p{message.ts.replace('.', '')}"
        if message.is_reply:
            link += f"?thread_ts={message.thread_ts}&cid={message.channel}"
        return link

    async def _chat_post_ephemeral(self, p: Params) -> JSON:
        channel = self.state.resolve_channel(p.ref("channel"))
        self._bot_in(channel)
        ephemeral = self.state.post_ephemeral(
            channel.id,
            p.ref("user") or "",
            text=p.text("text"),
            blocks=p.blocks(),
            attachments=p.attachments(),
            thread_ts=p.ref("thread_ts"),
        )
        return {"message_ts": ephemeral.ts}

    async def _reactions_add(self, p: Params) -> JSON:
        channel = self.state.resolve_channel(p.ref("channel"))
        name = p.text("name")
        message = self.state.add_reaction(channel.id, p.ref("timestamp"), name, self.state.bot.id)
        if self.deliver_bot_reaction_events and name:
            self._deliver_later(self._reaction_event("reaction_added", self.state.bot.id, message, name))
        return {}

    async def _reactions_remove(self, p: Params) -> JSON:
        channel = self.state.resolve_channel(p.ref("channel"))
        name = p.text("name")
        message = self.state.remove_reaction(channel.id, p.ref("timestamp"), name, self.state.bot.id)
        if self.deliver_bot_reaction_events and name:
            self._deliver_later(self._reaction_event("reaction_removed", self.state.bot.id, message, name))
        return {}

    async def _reactions_get(self, p: Params) -> JSON:
        if p.ref("channel") is None or p.ref("timestamp") is None:
            raise SlackError("no_item_specified")
        channel = self.state.resolve_channel(p.ref("channel"))
        message = self.state.get_message(channel.id, p.ref("timestamp"))
        data = self.state.message_json(message, include_metadata=False)
        data["permalink"] = self._permalink(message)
        return {"type": "message", "channel": channel.id, "message": data}

    async def _files_get_upload_url(self, p: Params) -> JSON:
        filename = p.text("filename")
        if not filename:
            raise SlackError("invalid_arguments", "missing required field: filename")
        length = p.number("length", -1)
        if length < 0:
            raise SlackError("invalid_arguments", "missing required field: length")
        record = self.state.create_upload(
            filename,
            length,
            user=self.state.bot.id,
            alt_txt=p.text("alt_txt") or p.text("alt_text"),
            snippet_type=p.text("snippet_type"),
        )
        return {"upload_url": f"{self.state.origin}/upload/v1/{record.upload_token}", "file_id": record.id}

    async def _files_complete_upload(self, p: Params) -> JSON:
        items = p.decoded("files", "invalid_arguments")
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(i, dict) and "id" in i for i in items)
        ):
            raise SlackError("invalid_arguments", "files must be a non-empty array of {id, title}")
        channel_refs = [c for c in (p.text("channels") or "").split(",") if c]
        if p.ref("channel_id"):
            channel_refs.insert(0, p.ref("channel_id") or "")
        thread_ts = p.ref("thread_ts")
        if thread_ts and len(channel_refs) > 1:
            raise SlackError("invalid_arguments", "only one channel is allowed with thread_ts")
        records = [self.state.get_file(str(item["id"])) for item in items]
        for record in records:
            if not record.uploaded:
                raise SlackError("file_not_found", f"file {record.id} has no uploaded content")
        initial_comment = p.text("initial_comment")
        blocks = None if initial_comment else p.blocks()
        channels: list[Channel] = []
        for ref in channel_refs:
            channel = self.state.resolve_channel(ref)
            self._bot_in(channel)
            channels.append(channel)
            if thread_ts:
                thread_ts = self.state.thread_root(channel.id, thread_ts).ts
        if blocks is not None:
            self.state.validate_blocks(blocks)
        for item, record in zip(items, records, strict=True):
            title = item.get("title")
            self.state.complete_upload(record.id, title if isinstance(title, str) else None)
        file_ids = [r.id for r in records]
        for channel in channels:
            self._pending_shares.append(
                _PendingShare(file_ids, channel.id, thread_ts, initial_comment, blocks)
            )
        if self.scan_delay is not None:
            self._spawn(self._scan_later(file_ids, self.scan_delay))
        return {"files": [self.state.file_json(r) for r in records]}

    async def _files_info(self, p: Params) -> JSON:
        record = self.state.get_file(p.ref("file"))
        if not record.completed:
            raise SlackError("file_not_found")
        return {
            "file": self.state.file_json(record),
            "comments": [],
            "response_metadata": {"next_cursor": ""},
        }

    async def _files_delete(self, p: Params) -> JSON:
        self.state.delete_file(p.ref("file") or "")
        return {}

    @staticmethod
    def _page(messages: list[Message], p: Params, *, newest_first: bool) -> tuple[list[Message], bool, str]:
        limit = p.number("limit", 100)
        limit = 100 if limit <= 0 else min(limit, 999)
        start = 0
        cursor = p.ref("cursor")
        if cursor:
            mark = decode_cursor(cursor)
            start = next(
                (
                    i
                    for i, m in enumerate(messages)
                    if (ts_micros(m.ts) <= mark if newest_first else ts_micros(m.ts) >= mark)
                ),
                len(messages),
            )
        page = messages[start : start + limit]
        has_more = start + limit < len(messages)
        return page, has_more, encode_cursor(messages[start + limit].ts) if has_more else ""

    @staticmethod
    def _ts_bounds(p: Params) -> tuple[int, int, bool]:
        try:
            oldest = ts_micros(p.ref("oldest") or "0")
            latest_ref = p.ref("latest")
            latest = ts_micros(latest_ref) if latest_ref else 2**63
        except ValueError:
            raise SlackError("invalid_ts_oldest") from None
        return oldest, latest, p.flag("inclusive")

    async def _conversations_history(self, p: Params) -> JSON:
        channel = self.state.resolve_channel(p.ref("channel"))
        oldest, latest, inclusive = self._ts_bounds(p)
        messages = [
            m
            for m in reversed(self.state.history(channel.id))
            if (oldest <= ts_micros(m.ts) <= latest if inclusive else oldest < ts_micros(m.ts) < latest)
        ]
        page, has_more, next_cursor = self._page(messages, p, newest_first=True)
        metadata = p.flag("include_all_metadata")
        return {
            "messages": [self.state.message_json(m, include_metadata=metadata) for m in page],
            "has_more": has_more,
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
            "response_metadata": {"next_cursor": next_cursor},
        }

    async def _conversations_replies(self, p: Params) -> JSON:
        channel = self.state.resolve_channel(p.ref("channel"))
        messages = self.state.thread(channel.id, p.ref("ts"))
        page, has_more, next_cursor = self._page(messages, p, newest_first=False)
        metadata = p.flag("include_all_metadata")
        return {
            "messages": [self.state.message_json(m, include_metadata=metadata) for m in page],
            "has_more": has_more,
            "response_metadata": {"next_cursor": next_cursor},
        }

    async def _conversations_info(self, p: Params) -> JSON:
        channel = self.state.get_channel(p.ref("channel") or "")
        return {"channel": self.state.channel_json(channel)}

    async def _conversations_list(self, p: Params) -> JSON:
        channels = [self.state.channel_json(c) for c in self.state.channels.values() if not c.is_im]
        return {"channels": channels, "response_metadata": {"next_cursor": ""}}

    async def _conversations_open(self, p: Params) -> JSON:
        users = [u for u in (p.text("users") or "").split(",") if u]
        if p.ref("channel"):
            return {"channel": {"id": self.state.get_channel(p.ref("channel") or "").id}}
        if len(users) != 1:
            raise SlackError("not_enough_users" if not users else "too_many_users")
        channel = self.state.open_im(users[0])
        return {"no_op": False, "already_open": False, "channel": {"id": channel.id}}

    async def _conversations_join(self, p: Params) -> JSON:
        channel = self.state.join_channel(p.ref("channel") or "", self.state.bot.id)
        return {"channel": self.state.channel_json(channel)}

    async def _users_info(self, p: Params) -> JSON:
        return {"user": self.state.user_json(self.state.get_user(p.ref("user") or ""))}

    async def _users_list(self, p: Params) -> JSON:
        members = [self.state.user_json(u) for u in self.state.users.values()]
        return {"members": members, "response_metadata": {"next_cursor": ""}}

    async def _views_open(self, p: Params) -> JSON:
        record = self.state.open_view(p.ref("trigger_id"), p.decoded("view", "invalid_arguments"))
        return {"view": self.state.view_json(record)}

    async def _views_push(self, p: Params) -> JSON:
        record = self.state.push_view(p.ref("trigger_id"), p.decoded("view", "invalid_arguments"))
        return {"view": self.state.view_json(record)}

    async def _views_update(self, p: Params) -> JSON:
        record = self.state.update_view(
            p.decoded("view", "invalid_arguments"),
            view_id=p.ref("view_id"),
            external_id=p.ref("external_id"),
            hash=p.ref("hash"),
        )
        return {"view": self.state.view_json(record)}

    async def _views_publish(self, p: Params) -> JSON:
        record = self.state.publish_home(
            p.ref("user_id"), p.decoded("view", "invalid_arguments"), hash=p.ref("hash")
        )
        return {"view": self.state.view_json(record)}


@asynccontextmanager
async def serve_fake_slack(
    *, host: str = "127.0.0.1", port: int = 0, **kwargs: Any
) -> AsyncIterator[FakeSlack]:
    """Run a :class:`FakeSlack` with uvicorn inside the current event loop; ``fake.base_url`` is set."""
    fake = FakeSlack(**kwargs)
    async with serve_asgi(fake, host=host, port=port) as origin:
        fake.set_origin(origin)
        try:
            yield fake
        finally:
            with suppress(Exception):
                await fake.aclose()
