"""The playground web page: a Slack-like channel in the browser that drives the real bot.

Everything the person does on the page reaches the app the way Slack would deliver it: as a signed
request through :class:`~fakes.slack.delivery.SlackDelivery` (slash commands, block actions, view
submissions) or as a state change plus an Events API callback (reactions, messages). The page itself is
plain HTML/CSS/JS shipped as package data under ``static/`` and long-polls ``/playground/state``.

Routes (JSON in and out, same origin, no auth: a local tool bound to 127.0.0.1):

- ``GET /``, ``GET /audit``: the channel page and the audit page; ``GET /static/<file>``: their css/js.
- ``POST /playground/act/command`` ``{user, channel, text[, command]}``: a slash command.
- ``POST /playground/act/message`` ``{user, channel, text[, thread_ts]}``: a person posts a message.
- ``POST /playground/act/upload`` ``{user, channel, filename, data[, text, thread_ts]}``: a person attaches a
  file (``data`` in base64) to a message.
- ``POST /playground/act/shortcut`` ``{user, channel, ts, callback_id}``: a person runs one of the app's
  message shortcuts (``FakeSlack.message_shortcuts``) on a message.
- ``POST /playground/act/reaction`` ``{user, channel, ts, name, on}``: add or remove a reaction.
- ``POST /playground/act/button`` ``{user, channel, ts, action_id[, value, block_id]}``: a button click.
- ``POST /playground/act/view`` ``{user, view_id, values}``: submit a modal (``values`` as ``state.values``).
- ``POST /playground/act/close_view`` ``{user, view_id}``: close a modal (``view_closed`` if asked for).
- ``GET /playground/audit[?draft=N]``: the audit rows (404 without an audit source).

Bad input gets ``400 {"error": "..."}``; an app that cannot be reached ``502``; no app connected ``503``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from fakes.slack.state import JSON, SlackError

if TYPE_CHECKING:
    from fakes.slack.app import FakeSlack
    from fakes.slack.delivery import SlackDelivery

logger = logging.getLogger(__name__)

AuditSource = Callable[[int | None], Awaitable[list[dict[str, Any]]]]
"""Audit rows ``{id, at, team_id, draft_id, kind, actor, details}`` of one draft (an id) or of all (None)."""

STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
_STATIC_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$")
_NO_CACHE = {"Cache-Control": "no-cache"}
MAX_UPLOAD_BYTES = 100 * 1024 * 1024  # the page is local; this only keeps a mistake from eating memory


class BadRequest(Exception):
    """Input the page (or a script) sent that we cannot act on: answered with 400."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _error(message: str, status: int = 400, **extra: Any) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message, **extra}, status_code=status)


def _static_file(name: str) -> tuple[bytes, str] | None:
    """(bytes, content type) of a shipped static file, None when there is no such file."""
    if not _STATIC_NAME.match(name) or ".." in name:
        return None
    suffix = name[name.rfind(".") :] if "." in name else ""
    media_type = STATIC_TYPES.get(suffix)
    if media_type is None:
        return None
    entry = resources.files(__package__ or "fakes.slack").joinpath("static").joinpath(name)
    if not entry.is_file():
        return None
    return entry.read_bytes(), media_type


def _answer(response: httpx.Response) -> JSON:
    """What the app answered: status and body (JSON when it is JSON, else text)."""
    body: Any = None
    if response.content.strip():
        try:
            body = response.json()
        except ValueError:
            body = response.text
    return {"ok": 200 <= response.status_code < 300, "status": response.status_code, "body": body}


class _Payload:
    """Typed, validated access to a JSON request body."""

    def __init__(self, data: Mapping[str, Any], fake: FakeSlack) -> None:
        self.data = data
        self.fake = fake

    @classmethod
    async def read(cls, request: Request, fake: FakeSlack) -> _Payload:
        # JSON only: a cross-site form can send text/plain without a CORS preflight, application/json can't
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise BadRequest("send a JSON object with Content-Type: application/json")
        body = await request.body()
        if not body.strip():
            raise BadRequest("expected a JSON object body")
        try:
            data = json.loads(body)
        except ValueError:
            raise BadRequest("the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadRequest("expected a JSON object body")
        return cls(data, fake)

    def text(self, key: str, *, required: bool = True, allow_empty: bool = False) -> str:
        value = self.data.get(key)
        if value is None:
            if required:
                raise BadRequest(f"missing field: {key}")
            return ""
        if not isinstance(value, str):
            raise BadRequest(f"{key} must be a string")
        if required and not allow_empty and not value.strip():
            raise BadRequest(f"{key} must not be empty")
        return value

    def optional(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise BadRequest(f"{key} must be a string")
        return value

    def user(self) -> str:
        user_id = self.text("user")
        state = self.fake.state
        user = state.users.get(user_id)
        if user is None:
            raise BadRequest(f"unknown user: {user_id}")
        if user.is_bot:
            raise BadRequest("the playground acts as a person, not as a bot")
        return user_id

    def channel(self) -> str:
        channel_id = self.text("channel")
        if channel_id not in self.fake.state.channels:
            raise BadRequest(f"unknown channel: {channel_id}")
        return channel_id

    def flag(self, key: str) -> bool:
        value = self.data.get(key)
        if not isinstance(value, bool):
            raise BadRequest(f"{key} must be true or false")
        return value


Handler = Callable[[Request], Awaitable[Response]]


def _guarded(handler: Handler) -> Handler:
    """Turn bad input, Slack errors and an unreachable app into JSON answers instead of a 500."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except BadRequest as exc:
            return _error(exc.message, exc.status)
        except SlackError as exc:
            return _error(exc.code, 400, errors=exc.errors)
        except httpx.HTTPError as exc:
            return _error(f"the app could not be reached: {type(exc).__name__}: {exc}", 502)
        except Exception as exc:  # a bug: still answer JSON, and say what happened
            logger.exception("playground %s failed", request.url.path)
            return _error(f"internal error: {type(exc).__name__}: {exc}", 500)

    return endpoint


class PlaygroundPage:
    """The page's routes over one :class:`FakeSlack`."""

    def __init__(self, fake: FakeSlack, audit: AuditSource | None = None) -> None:
        self.fake = fake
        self.audit = audit

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.index, methods=["GET"]),
            Route("/audit", self.audit_page, methods=["GET"]),
            Route("/static/{name}", self.static, methods=["GET"]),
            Route("/playground/act/command", _guarded(self.act_command), methods=["POST"]),
            Route("/playground/act/message", _guarded(self.act_message), methods=["POST"]),
            Route("/playground/act/upload", _guarded(self.act_upload), methods=["POST"]),
            Route("/playground/act/shortcut", _guarded(self.act_shortcut), methods=["POST"]),
            Route("/playground/act/reaction", _guarded(self.act_reaction), methods=["POST"]),
            Route("/playground/act/button", _guarded(self.act_button), methods=["POST"]),
            Route("/playground/act/view", _guarded(self.act_view), methods=["POST"]),
            Route("/playground/act/close_view", _guarded(self.act_close_view), methods=["POST"]),
            Route("/playground/act/home", _guarded(self.act_home), methods=["POST"]),
            Route("/playground/act/home_button", _guarded(self.act_home_button), methods=["POST"]),
            Route("/playground/audit", _guarded(self.audit_rows), methods=["GET"]),
        ]

    # ------------------------------------------------------------------------------------------ pages

    def _page(self, name: str) -> Response:
        found = _static_file(name)
        if found is None:  # a broken install: say so plainly
            return Response(f"{name} is missing from the package", status_code=500, media_type="text/plain")
        return Response(found[0], media_type=found[1], headers=_NO_CACHE)

    async def index(self, request: Request) -> Response:
        return self._page("index.html")

    async def audit_page(self, request: Request) -> Response:
        return self._page("audit.html")

    async def static(self, request: Request) -> Response:
        found = _static_file(request.path_params["name"])
        if found is None:
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(found[0], media_type=found[1], headers=_NO_CACHE)

    # ------------------------------------------------------------------------------------------- acts

    def _delivery(self) -> SlackDelivery:
        if self.fake.delivery is None:
            raise BadRequest("no app is connected to the playground (fake.connect_app was not called)", 503)
        return self.fake.delivery

    async def act_command(self, request: Request) -> Response:
        p = await _Payload.read(request, self.fake)
        user, channel = p.user(), p.channel()
        text = p.text("text", allow_empty=True)
        command = p.optional("command")
        if command is None:
            stripped = text.strip()
            if stripped.startswith("/"):
                command, _, text = stripped.partition(" ")
                text = text.strip()
            else:
                command = "/draft"
        if not re.fullmatch(r"/[a-z0-9_-]+", command):
            raise BadRequest(f"not a slash command: {command}")
        response = await self._delivery().send_slash_command(user, channel, text, command)
        return JSONResponse({**_answer(response), "command": command, "text": text})

    async def act_message(self, request: Request) -> Response:
        p = await _Payload.read(request, self.fake)
        user, channel = p.user(), p.channel()
        text = p.text("text")
        thread_ts = p.optional("thread_ts")
        if thread_ts is not None:
            self.fake.state.thread_root(channel, thread_ts)  # thread_not_found before anything is posted
        try:
            message = await self.fake.user_post_message(user, channel, text, thread_ts=thread_ts)
        except httpx.HTTPError as exc:  # posted; only the message event could not be delivered
            logger.warning("message event not delivered: %r", exc)
            return JSONResponse({"ok": True, "delivered": False})
        return JSONResponse({"ok": True, "channel": message.channel, "ts": message.ts})

    async def act_upload(self, request: Request) -> Response:
        p = await _Payload.read(request, self.fake)
        user, channel = p.user(), p.channel()
        filename = p.text("filename").strip().replace("/", "_")
        encoded = p.text("data", allow_empty=True)
        if len(encoded) > MAX_UPLOAD_BYTES * 4 // 3 + 4:
            raise BadRequest(f"the file is over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("data must be the file's bytes in base64") from None
        text = p.optional("text") or ""
        thread_ts = p.optional("thread_ts")
        if thread_ts is not None:
            self.fake.state.thread_root(channel, thread_ts)
        try:
            message = await self.fake.user_upload_file(
                user, channel, filename, data, text=text, thread_ts=thread_ts
            )
        except httpx.HTTPError as exc:  # shared; only the message event could not be delivered
            logger.warning("file_share event not delivered: %r", exc)
            return JSONResponse({"ok": True, "delivered": False})
        return JSONResponse(
            {"ok": True, "channel": message.channel, "ts": message.ts, "file": message.files[0]}
        )

    async def act_shortcut(self, request: Request) -> Response:
        p = await _Payload.read(request, self.fake)
        user, channel = p.user(), p.channel()
        ts = p.text("ts")
        callback_id = p.text("callback_id")
        known = {s.callback_id for s in self.fake.message_shortcuts}
        if callback_id not in known:
            raise BadRequest(f"the app has no message shortcut {callback_id}")
        response = await self._delivery().send_message_shortcut(user, channel, ts, callback_id)
        return JSONResponse({**_answer(response), "callback_id": callback_id})

    async def act_reaction(self, request: Request) -> Response:
        p = await _Payload.read(request, self.fake)
        user, channel = p.user(), p.channel()
        ts = p.text("ts")
        name = p.text("name").strip().strip(":")
        on = p.flag("on")
        answer: JSON = {"ok": True, "name": name, "on": on}
        try:
            if on:
                response = await self.fake.user_add_reaction(user, channel, ts, name)
            else:
                response = await self.fake.user_remove_reaction(user, channel, ts, name)
        except httpx.HTTPError as exc:  # the reaction is there; like Slack, only the event got lost
            answer.update(delivered=False, delivery_error=f"{type(exc).__name__}: {exc}")
            return JSONResponse(answer)
        answer["delivered"] = response is not None
        if response is not None:
            answer["status"] = response.status_code
        return JSONResponse(answer)

    async def act_button(self, request: Request) -> Response:
        p = await _Payload.read(request, self.fake)
        user, channel = p.user(), p.channel()
        ts = p.text("ts")
        action_id = p.text("action_id")
        value = p.data.get("value")
        if value is not None and not isinstance(value, str):
            raise BadRequest("value must be a string")
        delivery = self._delivery()
        response = await delivery.send_block_action(
            user, channel, ts, action_id, value=value, block_id=p.optional("block_id")
        )
        return JSONResponse(_answer(response))

    async def act_home(self, request: Request) -> Response:
        """The person opens the app's Home tab: ``app_home_opened`` (Events API), as Slack sends it."""
        p = await _Payload.read(request, self.fake)
        user = p.user()
        event: JSON = {"type": "app_home_opened", "user": user, "channel": self.fake.state.open_im(user).id}
        home = self.fake.state.home_json(user)
        event["tab"] = "home"
        if home is not None:
            event["view"] = home
        return JSONResponse(_answer(await self._delivery().send_event(event)))

    async def act_home_button(self, request: Request) -> Response:
        """A button on the person's own Home: block_actions from a view (no channel, no response_url)."""
        p = await _Payload.read(request, self.fake)
        user = p.user()
        view_id = p.text("view_id")
        record = self.fake.state.views.get(view_id)
        if record is None or record.type != "home" or record.user_id != user:
            raise BadRequest(f"{view_id} is not {user}'s Home")
        value = p.data.get("value")
        if value is not None and not isinstance(value, str):
            raise BadRequest("value must be a string")
        response = await self._delivery().send_view_action(user, view_id, p.text("action_id"), value)
        return JSONResponse(_answer(response))

    def _own_view(self, p: _Payload) -> tuple[str, str]:
        user = p.user()
        view_id = p.text("view_id")
        record = self.fake.state.views.get(view_id)
        if record is None or record.closed:
            raise BadRequest(f"no open view {view_id}")
        if record.user_id != user:
            raise BadRequest(f"view {view_id} is open for another user")
        return user, view_id

    async def act_view(self, request: Request) -> Response:
        p = await _Payload.read(request, self.fake)
        user, view_id = self._own_view(p)
        values = p.data.get("values", {})
        if not isinstance(values, dict) or not all(
            isinstance(block, str) and isinstance(actions, dict) for block, actions in values.items()
        ):
            raise BadRequest("values must be {block_id: {action_id: value}} (Slack's state.values)")
        for actions in values.values():
            for action_id, value in actions.items():
                if not isinstance(action_id, str) or not isinstance(value, str | dict):
                    raise BadRequest("each value must be a string or a {type, ...} object")
        response = await self._delivery().send_view_submission(user, view_id, values)
        answer = _answer(response)
        body = answer["body"]
        if isinstance(body, dict) and body.get("response_action") == "errors":
            answer["errors"] = body.get("errors") or {}
        record = self.fake.state.views.get(view_id)
        answer["view_open"] = record is not None and not record.closed
        return JSONResponse(answer)

    async def act_close_view(self, request: Request) -> Response:
        p = await _Payload.read(request, self.fake)
        user, view_id = self._own_view(p)
        state = self.fake.state
        record = state.views[view_id]
        view = state.view_json(record)
        notify = bool(record.view.get("notify_on_close"))
        state.close_view(view_id)
        answer: JSON = {"ok": True, "notified": False}
        delivery = self.fake.delivery
        if notify and delivery is not None:
            user_record = state.get_user(user)
            payload: JSON = {
                "type": "view_closed",
                "team": {"id": state.team.id, "domain": state.team.domain},
                "user": {
                    "id": user,
                    "username": user_record.name,
                    "name": user_record.name,
                    "team_id": state.team.id,
                },
                "api_app_id": delivery.api_app_id,
                "token": self.fake.verification_token,
                "view": view,
                "is_cleared": False,
                "is_enterprise_install": False,
                "enterprise": None,
            }
            body = urlencode({"payload": json.dumps(payload)}).encode()
            response = await delivery.post("view_closed", payload, body, "application/x-www-form-urlencoded")
            answer.update(notified=True, status=response.status_code)
        return JSONResponse(answer)

    # ------------------------------------------------------------------------------------------ audit

    async def audit_rows(self, request: Request) -> Response:
        if self.audit is None:
            return _error(
                "The audit trail is not available here: this playground was started without a database.",
                404,
            )
        raw = request.query_params.get("draft", "").strip()
        draft: int | None = None
        if raw:
            if not raw.isdigit():
                raise BadRequest("draft must be a draft number")
            draft = int(raw)
        rows = await self.audit(draft)
        return Response(
            json.dumps(rows, default=str, ensure_ascii=False),
            media_type="application/json",
            headers=_NO_CACHE,
        )


def playground_routes(fake: FakeSlack, *, audit: AuditSource | None = None) -> list[BaseRoute]:
    """The page, its static files and the ``/playground/act/*`` and audit endpoints, over ``fake``."""
    return PlaygroundPage(fake, audit).routes()


def install_playground(fake: FakeSlack, *, audit: AuditSource | None = None) -> None:
    """Add :func:`playground_routes` to a fake, even one already serving (routes are read per request)."""
    fake.app.router.routes.extend(playground_routes(fake, audit=audit))


__all__ = ["AuditSource", "PlaygroundPage", "install_playground", "playground_routes"]
