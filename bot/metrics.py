"""What operators scrape: ``GET /metrics`` in Prometheus' text format, from one :class:`Metrics` per runtime.

Each runtime has its own :class:`~prometheus_client.CollectorRegistry` (never the library's global one), so
the test suite may build many runtimes in one process, and each counts only its own work. The composition
root (:mod:`bot.runtime`) makes it and hands it to what records: the job runner, the image maker, the Slack
client and the web app.

Labels are bounded and say nothing about anyone: a job's kind, a provider's name, a tier, a Slack method and
error code, an outcome. Never a draft, team or user id, and never a prompt.

The job gauges are read from the jobs table when scraped (:func:`storage.jobqueue.counts`): the queue is
shared by every process, so any one of them reports all of it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.providers.base import BadOutput, RateLimited, Refused, Unavailable
from storage import jobqueue

Endpoint = Callable[[Request], Awaitable[Response]]

PREFIX = "draftbot_"
# Job states the gauges report (done jobs only grow; their count says nothing about health).
JOB_STATES = (jobqueue.QUEUED, jobqueue.RUNNING, jobqueue.FAILED)
ACK_KINDS = ("command", "event", "interaction")
# Provider outcomes, by the type of what the provider raised (bot.providers.base).
PROVIDER_OUTCOMES = ("ok", "refused", "rate_limited", "unavailable", "bad_output", "error")

_LATENCY_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
_ACK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
# Slack's error codes are short snake_case words from a fixed set; anything else is "other".
_SLACK_CODE = re.compile(r"[a-z][a-z0-9_]{0,48}")
_SLACK_METHOD = re.compile(r"[a-zA-Z][a-zA-Z0-9_.]{0,48}")


class Metrics:
    """Every series draftbot exports, in a registry of its own. The job gauges show ``job_kinds`` (and any
    other kind found in the queue) in every state, at 0 when there are none."""

    def __init__(self, *, job_kinds: Iterable[str] = ()) -> None:
        self.job_kinds = tuple(job_kinds)
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.jobs = Gauge(
            f"{PREFIX}jobs",
            "Jobs in the shared queue by kind and state: " + ", ".join(JOB_STATES) + " (read when scraped)",
            ["kind", "state"],
            registry=r,
        )
        self.job_seconds = Histogram(
            f"{PREFIX}job_duration_seconds",
            "From when a job became runnable to when its attempt finished",
            ["kind"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.job_attempts = Counter(
            f"{PREFIX}job_attempts",
            "Job attempts by kind and outcome: done, retry (tried again later), failed (for good), lost "
            "(another worker took the lease over)",
            ["kind", "outcome"],
            registry=r,
        )
        self.provider_seconds = Histogram(
            f"{PREFIX}provider_call_duration_seconds",
            "Image provider calls, from request to answer",
            ["provider", "tier"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.provider_calls = Counter(
            f"{PREFIX}provider_calls",
            "Image provider calls by outcome: " + ", ".join(PROVIDER_OUTCOMES),
            ["provider", "tier", "outcome"],
            registry=r,
        )
        self.images = Counter(
            f"{PREFIX}images",
            "Images made and stored, by provider and tier",
            ["provider", "tier"],
            registry=r,
        )
        self.spend = Counter(
            f"{PREFIX}estimated_spend_usd",
            "Estimated provider spend in USD (the generation audit events' cost estimates)",
            ["provider", "tier"],
            registry=r,
        )
        self.slack_errors = Counter(
            f"{PREFIX}slack_api_errors",
            "Slack Web API calls that failed, by method and Slack's error code (or http_<status>)",
            ["method", "error"],
            registry=r,
        )
        self.slack_connection_errors = Counter(
            f"{PREFIX}slack_connection_errors",
            "Slack Web API calls that got no answer (connection refused, reset, timed out)",
            ["method"],
            registry=r,
        )
        self.ack_seconds = Histogram(
            f"{PREFIX}ack_duration_seconds",
            "Time to answer Slack's requests to /slack/events, by kind: " + ", ".join(ACK_KINDS),
            ["kind"],
            buckets=_ACK_BUCKETS,
            registry=r,
        )

    # Jobs (bot.jobs.runner)

    def job_attempt(self, kind: str, outcome: str, runnable_since: datetime | None, now: datetime) -> None:
        self.job_attempts.labels(kind, outcome).inc()
        if runnable_since is not None:
            self.job_seconds.labels(kind).observe(max(0.0, (now - runnable_since).total_seconds()))

    # Providers (bot.generation.making)

    def provider_call(self, provider: str, tier: str, seconds: float) -> None:
        self.provider_seconds.labels(provider, tier).observe(max(0.0, seconds))

    def provider_outcome(self, provider: str, tier: str, error: BaseException | None) -> None:
        self.provider_calls.labels(provider, tier, provider_outcome(error)).inc()

    def image_made(self, provider: str, tier: str, cost_usd: float) -> None:
        self.images.labels(provider, tier).inc()
        if cost_usd > 0:
            self.spend.labels(provider, tier).inc(cost_usd)

    # Slack (bot.slack_client)

    def slack_error(self, method: str, error: BaseException) -> None:
        method = method if _SLACK_METHOD.fullmatch(method) else "other"
        if isinstance(error, SlackApiError):
            code = error.response.get("error") if isinstance(error.response.data, dict) else None
            if not isinstance(code, str) or not _SLACK_CODE.fullmatch(code):
                code = f"http_{error.response.status_code}"
            self.slack_errors.labels(method, code).inc()
        else:
            self.slack_connection_errors.labels(method).inc()

    # Acks (bot.web)

    def timed_acks(self, endpoint: Endpoint) -> Endpoint:
        """``endpoint`` (``/slack/events``) timed from the request to its answer, by the kind it set in
        ``request.state.ack_kind`` once it knew (see :func:`ack_kind`); requests refused before are not."""

        async def timed(request: Request) -> Response:
            started = time.perf_counter()
            response = await endpoint(request)
            kind = getattr(request.state, "ack_kind", None)
            if kind in ACK_KINDS:
                self.ack_seconds.labels(kind).observe(time.perf_counter() - started)
            return response

        return timed

    # The page

    async def render(self, sessions: async_sessionmaker[AsyncSession]) -> bytes:
        """The text page: the job gauges read now from the shared queue, then every series."""
        counts = await jobqueue.counts(sessions, JOB_STATES)
        self.jobs.clear()
        for kind in {*self.job_kinds, *(kind for kind, _ in counts)}:
            for state in JOB_STATES:
                self.jobs.labels(kind, state).set(counts.get((kind, state), 0))
        return generate_latest(self.registry)


def provider_outcome(error: BaseException | None) -> str:
    """``ok``, or what a provider's error means (by its type), as a label."""
    if error is None:
        return "ok"
    for kind, outcome in (
        (Refused, "refused"),
        (RateLimited, "rate_limited"),
        (Unavailable, "unavailable"),
        (BadOutput, "bad_output"),
    ):
        if isinstance(error, kind):
            return outcome
    return "error"


def ack_kind(body: dict[str, object]) -> str:
    """Which of :data:`ACK_KINDS` a Slack payload is."""
    if "command" in body:
        return "command"
    if body.get("type") in ("event_callback", "url_verification", "app_rate_limited"):
        return "event"
    return "interaction"


def metrics_route(metrics: Metrics, sessions: async_sessionmaker[AsyncSession]) -> Route:
    """``GET /metrics``."""

    async def endpoint(_: Request) -> Response:
        return Response(await metrics.render(sessions), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", endpoint, methods=["GET"])


def metrics_app(metrics: Metrics, sessions: async_sessionmaker[AsyncSession]) -> Starlette:
    """``/metrics`` alone, for ``DRAFTBOT_METRICS_PORT`` (see :mod:`bot.serve`)."""
    return Starlette(routes=[metrics_route(metrics, sessions)])
