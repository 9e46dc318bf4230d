"""HTTP mode: ``POST /slack/events`` (commands, events, interactivity) and ``GET /healthz``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.runtime import Runtime, running_worker


def build_web_app(runtime: Runtime, slack: AsyncApp, *, run_worker: bool = True) -> Starlette:
    handler = AsyncSlackRequestHandler(slack)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

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
