"""HTTP mode: ``POST /slack/events`` (commands, events, interactivity), ``GET /healthz`` and ``GET /readyz``.

What ``/slack/events`` answers before Bolt sees a request, in this order (each refusal has no side effect):

- 413: the body is over :data:`MAX_BODY_BYTES`.
- 401 ``{"error": "invalid request"}``: the signature is missing, wrong or stale (over 5 minutes).
- 415: not ``application/x-www-form-urlencoded`` (commands, interactivity) nor ``application/json``
  (events); a charset other than UTF-8 counts as another type.
- 400: the body is not UTF-8, or not a Slack payload (a form without ``command``, ``payload`` or
  ``ssl_check``; JSON that is not an Events API object; anything Bolt could not read).
- 503 ``{"error": "the database is unreachable"}``: the replay check could not reach the database
  (said once in the log per outage, not per request); Slack sends the event or interaction again. A slash
  command, which Slack does not resend, gets a private answer saying nothing was drafted instead.
- 401 ``{"error": "replayed request"}``: this timestamp and signature were accepted before
  (:mod:`storage.replays`, in the database, so across processes). A request Bolt then answers non-2xx
  is forgotten again, so that Slack's redelivery of it is accepted. Events API callbacks are not recorded:
  each is processed once by its event id, with its effect (see :func:`_deduplicated_by_effect`).

``/healthz`` is liveness (the process serves; no I/O). ``/readyz`` is readiness: the database, its schema
(the newest migration of this release), the image store and Slack (``auth.test``, cached for
:data:`SLACK_CHECK_SECONDS`), 503 when one of them is down. ``/metrics`` is Prometheus' page
(:mod:`bot.metrics`), unless ``DRAFTBOT_METRICS_PORT`` puts it on a port of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.adapter.starlette.async_handler import (
    AsyncSlackRequestHandler,
    to_async_bolt_request,
    to_starlette_response,
)
from slack_bolt.async_app import AsyncBoltContext, AsyncBoltRequest
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.payload_utils import (
    to_action,
    to_command,
    to_event,
    to_message,
    to_options,
    to_shortcut,
    to_step,
    to_view,
)
from slack_sdk.errors import SlackApiError
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot import logs
from bot.errors import DATABASE
from bot.jobs.outages import OutageWatch, dependency_of
from bot.metrics import ack_kind, metrics_route
from bot.runtime import Runtime, running_worker
from storage import db
from storage.blobs import BlobStoreUnavailable
from storage.replays import Replays, request_key

log = logging.getLogger(__name__)

DATABASE_AWAY = (
    "draftbot can't reach its database right now, so nothing was drafted. Please try again in a minute."
)

FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
# The outer types of Events API deliveries (interactivity and commands are forms).
EVENT_TYPES = frozenset({"event_callback", "url_verification", "app_rate_limited"})
SIGNATURE_MAX_AGE_S = 300
SLACK_CHECK_SECONDS = 30.0  # how long /readyz trusts one auth.test answer
CHECK_TIMEOUT_S = 5.0  # a readiness check that takes longer counts as down


def build_web_app(
    runtime: Runtime,
    *,
    run_worker: bool = True,
    monotonic: Callable[[], float] = time.monotonic,
) -> Starlette:
    """The HTTP app; ``monotonic`` is the clock of the readiness cache (tests turn it)."""
    slack = runtime.slack_app()
    secret = runtime.settings.slack_signing_secret  # the one the Bolt app verifies with, too
    signing_key = secret.get_secret_value().encode() if secret else None
    oauth = slack.oauth_flow  # installs for many workspaces (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)
    replays = Replays(runtime.sessions)
    outages = OutageWatch(effect="requests get 503 until it is back")  # said once, not per request

    async def events(request: Request) -> Response:
        # What AsyncSlackRequestHandler.handle does for a POST, with answers of our own (see the module
        # docstring). The signature is checked here first, as Bolt checks it (and again after), so that
        # nothing unsigned is parsed, and a malformed timestamp header is a 401 rather than an error inside
        # Bolt. Bolt parses the body while the request is built, before its own error handling, and reads
        # the payload's parts for every listener's (and error handler's) arguments: there a body that is
        # not JSON, a JSON array, `"team": 5`, `"actions": "x"` or a view without a type raises, and would
        # be a 500 (which Slack answers by sending it again).
        body = await _read_body(request)
        if body is None:
            return PlainTextResponse("Payload too large for a Slack request.", status_code=413)
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        if signing_key is not None and not _signed(signing_key, timestamp, signature, body):
            return JSONResponse({"error": "invalid request"}, status_code=401)
        media_type = _media_type(request)
        if media_type not in (FORM, JSON_TYPE):
            return PlainTextResponse(
                f"Unsupported content type: Slack sends {FORM} or {JSON_TYPE} (UTF-8).", status_code=415
            )
        try:
            raw = body.decode("utf-8")
        except UnicodeDecodeError:
            return PlainTextResponse("Bad request: the body is not UTF-8.", status_code=400)
        try:
            _check_shape(media_type, raw)
            bolt_request = _bolt_request(request, body)
        except Exception as err:
            log.info("refused a malformed request to /slack/events: %s", type(err).__name__)
            return PlainTextResponse("Bad request: that is not a Slack payload.", status_code=400)
        request.state.ack_kind = ack_kind(bolt_request.body)  # the metrics time the ack from here on
        logs.set_team(_team_id(bolt_request))  # this request's log lines name its workspace
        if signing_key is None or _deduplicated_by_effect(bolt_request.body):
            return to_starlette_response(await slack.async_dispatch(bolt_request))

        key = request_key(timestamp, signature)
        signed_at = datetime.fromtimestamp(int(timestamp), UTC)
        try:
            claimed = await replays.claim(key, signed_at=signed_at, team_id=_team_id(bolt_request))
        except Exception as err:
            if dependency_of(err) != DATABASE:
                raise
            outages.went_away(DATABASE, err)  # Slack sends the request again later
            if "command" in bolt_request.body:  # nobody resends a command: tell the person instead
                return JSONResponse({"response_type": "ephemeral", "text": DATABASE_AWAY})
            return JSONResponse({"error": "the database is unreachable"}, status_code=503)
        outages.came_back(DATABASE)
        if not claimed:
            log.info("refused a replayed request to /slack/events")
            return JSONResponse({"error": "replayed request"}, status_code=401)
        try:
            response = await slack.async_dispatch(bolt_request)
        except BaseException:
            await replays.release(key)
            raise
        if not 200 <= response.status < 300:
            await replays.release(key)  # not handled: Slack's redelivery must get through
        return to_starlette_response(response)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"ok": True})  # liveness only: this process answers

    slack_cache: dict[str, tuple[float, str]] = {}

    async def check_database() -> None:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def check_slack() -> str:
        cached = slack_cache.get("slack")
        if cached is not None and monotonic() - cached[0] < SLACK_CHECK_SECONDS:
            return cached[1]
        # Installs for many workspaces: no token of its own, so only whether Slack's Web API answers.
        status = await _status(slack.client.api_test() if oauth is not None else slack.client.auth_test())
        slack_cache["slack"] = (monotonic(), status)
        return status

    head: list[str] = []  # this release's newest migration, read once

    async def check_migrations() -> str:
        """`ok` when the database's schema is this release's newest migration, else what it is at."""
        try:
            if not head:
                head.append(await asyncio.to_thread(db.head_revision))
            current = await asyncio.wait_for(db.current_revision(runtime.engine), CHECK_TIMEOUT_S)
        except Exception as err:
            return type(err).__name__
        if current == head[0]:
            return "ok"
        return f"the database is at {current or 'no migration'}, this release expects {head[0]}"

    async def readyz(_: Request) -> Response:
        database, migrations, images, slack_status = await asyncio.gather(
            _status(check_database()), check_migrations(), _status(runtime.blobs.check()), check_slack()
        )
        report = {"database": database, "migrations": migrations, "images": images, "slack": slack_status}
        ok = all(value == "ok" for value in report.values())
        return JSONResponse({"ok": ok, **report}, status_code=200 if ok else 503)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if not run_worker:
            yield
            return
        async with running_worker(runtime):
            yield

    oauth_routes = []
    if oauth is not None:  # the Add to Slack page and Slack's redirect back: Bolt's own OAuth flow
        bolt_handler = AsyncSlackRequestHandler(slack)

        async def oauth_endpoint(request: Request) -> Response:
            return await bolt_handler.handle(request)

        oauth_routes = [
            Route(oauth.install_path, oauth_endpoint, methods=["GET"]),
            Route(oauth.redirect_uri_path, oauth_endpoint, methods=["GET"]),
        ]

    return Starlette(
        routes=[
            *oauth_routes,
            Route("/slack/events", runtime.metrics.timed_acks(events), methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            # /metrics: here, unless DRAFTBOT_METRICS_PORT gives it a port of its own (bot.serve)
            *([] if runtime.settings.metrics_port else [metrics_route(runtime.metrics, runtime.sessions)]),
        ],
        lifespan=lifespan,
    )


async def _status(check: Awaitable[object]) -> str:
    """`ok`, or why not: the error's type (and Slack's error code), never its message (it may hold a URL)."""
    try:
        await asyncio.wait_for(check, CHECK_TIMEOUT_S)
    except SlackApiError as err:
        return f"SlackApiError: {err.response.get('error', 'unknown')}"
    except BlobStoreUnavailable as err:  # the store's own failure: say what failed underneath
        return type(err.__cause__ or err).__name__
    except Exception as err:  # report, don't crash: a load balancer is asking
        return type(err).__name__
    return "ok"


# Slack's payloads are a few KB (a modal's state or a message's blocks, a few hundred at most). The body is
# read before its signature can be checked, so anyone could otherwise make the bot buffer gigabytes.
MAX_BODY_BYTES = 1 << 20


async def _read_body(request: Request) -> bytes | None:
    """The body, or None when it is over :data:`MAX_BODY_BYTES` (reading stops there)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _signed(key: bytes, timestamp: str, signature: str, body: bytes) -> bool:
    """Slack's check (slack_sdk's ``SignatureVerifier``), over the raw bytes: a body that is not UTF-8
    can be signed, and is then refused as such (400), not as unsigned."""
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:  # no timestamp, or not a number
        return False
    if age > SIGNATURE_MAX_AGE_S:
        return False
    # Header values arrive decoded as latin-1: encoding them so gives back the bytes that were sent.
    base = b"v0:" + timestamp.encode("latin-1") + b":" + body
    expected = b"v0=" + hmac.new(key, base, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, signature.encode("latin-1"))


def _media_type(request: Request) -> str | None:
    """The content type without its parameters, or None when it is missing or names a charset not UTF-8."""
    media_type, _, params = request.headers.get("content-type", "").partition(";")
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return None
    return media_type.strip().lower() or None


def _check_shape(media_type: str, raw: str) -> None:
    """Raise unless the body is, at first sight, what Slack sends with this content type."""
    if media_type == JSON_TYPE:
        payload = json.loads(raw)
        if not isinstance(payload, dict) or payload.get("type") not in EVENT_TYPES:
            raise ValueError("JSON that is not an Events API payload")
        return
    form = dict(parse_qsl(raw, keep_blank_values=True))
    if not {"command", "payload", "ssl_check"} & form.keys():
        raise ValueError("a form that is neither a slash command nor an interaction")


_SLACK_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _team_id(bolt_request: AsyncBoltRequest) -> str | None:
    """The workspace, to file the accepted request under, when the payload names a plausible one."""
    team_id = bolt_request.context.team_id
    return team_id if isinstance(team_id, str) and _SLACK_ID.fullmatch(team_id) else None


_PAYLOAD_PARTS = (to_options, to_shortcut, to_action, to_view, to_command, to_event, to_message, to_step)


def _bolt_request(request: Request, body: bytes) -> AsyncBoltRequest:
    """The request as Bolt sees it; raises if Bolt could not read it."""
    bolt_request = to_async_bolt_request(request, body)
    raw = bolt_request.raw_body
    if bolt_request.body == {} and "payload" in raw and not raw.startswith("{"):
        # Bolt reads any form body containing the word "payload" as an interaction's `payload=` field, so
        # `/draft a payload bay for story` arrived empty and unanswered (404). With no such field, the
        # form itself is the payload, as for any other slash command.
        form = dict(parse_qsl(raw, keep_blank_values=True))
        if "payload" not in form:
            bolt_request.body = form
            bolt_request.context = build_async_context(AsyncBoltContext({}), form)
    if not isinstance(bolt_request.body, dict):
        raise TypeError(f"the payload is a {type(bolt_request.body).__name__}, not an object")
    for part in _PAYLOAD_PARTS:
        part(bolt_request.body)
    return bolt_request


def _deduplicated_by_effect(body: dict[str, Any]) -> bool:
    """An Events API callback with an ``event_id`` needs no replay record: each is recorded by its event id in
    the same transaction as the vote it causes, so a copy changes nothing. Recording it before the ack would
    put a database write in front of every reaction's answer; on SQLite under load (benchmarks/bench_load.py)
    that took reaction acks to p99 2.9 s, next to Slack's 3 s deadline for sending an event again."""
    return body.get("type") == "event_callback" and isinstance(body.get("event_id"), str)
