"""HTTP mode: ``POST /slack/events`` (commands, events, interactivity) and ``GET /healthz``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
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
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.runtime import Runtime, running_worker

log = logging.getLogger(__name__)


def build_web_app(runtime: Runtime, *, run_worker: bool = True) -> Starlette:
    slack = runtime.slack_app()
    secret = runtime.settings.slack_signing_secret  # the one the Bolt app verifies with, too
    verifier = SignatureVerifier(secret.get_secret_value()) if secret else None

    async def events(request: Request) -> Response:
        # What AsyncSlackRequestHandler.handle does for a POST, with three answers of our own. Too big: 413.
        # Not signed: 401, checked here first as Bolt checks it (and again after), so that nothing unsigned
        # is parsed, and a malformed timestamp header is a 401 rather than an error inside Bolt. Signed but
        # a body Bolt cannot read: 400. Bolt parses the body while the request is built, before its own
        # error handling, and reads the payload's parts for every listener's (and error handler's)
        # arguments: there a body that is not JSON, a JSON array, `"team": 5`, `"actions": "x"` or a view
        # without a type raises, and would be a 500 (which Slack answers by sending it again).
        body = await _read_body(request)
        if body is None:
            return PlainTextResponse("Payload too large for a Slack request.", status_code=413)
        if verifier is not None and not _signed(verifier, request, body):
            return JSONResponse({"error": "invalid request"}, status_code=401)
        try:
            bolt_request = _bolt_request(request, body)
        except Exception as err:
            log.info("refused a malformed request to /slack/events: %s", type(err).__name__)
            return PlainTextResponse("Bad request: that is not a Slack payload.", status_code=400)
        return to_starlette_response(await slack.async_dispatch(bolt_request))

    async def healthz(_: Request) -> Response:
        try:
            async with runtime.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as err:  # report, don't crash: a load balancer is asking
            return JSONResponse({"ok": False, "database": type(err).__name__}, status_code=503)
        return JSONResponse({"ok": True})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if not run_worker:
            yield
            return
        async with running_worker(runtime):
            yield

    return Starlette(
        routes=[
            Route("/slack/events", events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


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


def _signed(verifier: SignatureVerifier, request: Request, body: bytes) -> bool:
    timestamp = request.headers.get("x-slack-request-timestamp", "0")
    signature = request.headers.get("x-slack-signature", "")
    try:
        return bool(verifier.is_valid(body, timestamp, signature))
    except (ValueError, TypeError):  # a timestamp that is no number, a non-ASCII signature, a non-UTF-8 body
        return False


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
