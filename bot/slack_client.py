"""The Slack Web API client the bot uses everywhere, and which of its calls may be retried by the library.

slack_sdk can retry a call by itself after a dropped connection or a 5xx. That is safe for reads and for
calls whose repeat changes nothing (``chat.update``, ``reactions.add``, ``files.info``), but not for
``chat.postMessage``: Slack may have posted the message before the connection dropped, it has no
idempotency key, and a blind retry shows the message twice. Those calls are never retried by the library;
the publisher raises :class:`~bot.slack_publisher.PostOutcomeUnknown` instead, and the job's one retry
path looks in Slack for the message (by its metadata) before posting again.

A 429 is retried for every method: Slack refused the call, so it did nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

# Calls whose repeat after an unknown outcome would show something twice.
NOT_RETRIED_BY_THE_LIBRARY = frozenset({"chat.postMessage", "chat.postEphemeral"})


def method_of(request: HttpRequest) -> str:
    """``chat.postMessage`` from ``https://slack.com/api/chat.postMessage``."""
    return urlsplit(request.url).path.rstrip("/").rpartition("/")[2]


class _OnlySafeToRepeat(AsyncRetryHandler):
    """A retry handler that leaves alone the calls in :data:`NOT_RETRIED_BY_THE_LIBRARY`."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if method_of(request) in NOT_RETRIED_BY_THE_LIBRARY:
            return False
        return await super()._can_retry_async(state=state, request=request, response=response, error=error)


class _ConnectionErrors(_OnlySafeToRepeat, AsyncConnectionErrorRetryHandler):
    pass


class _ServerErrors(_OnlySafeToRepeat, AsyncServerErrorRetryHandler):
    pass


def retry_handlers() -> list[AsyncRetryHandler]:
    return [
        _ConnectionErrors(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=4),
        _ServerErrors(max_retry_count=2),
    ]


class SlackClient(AsyncWebClient):
    """An AsyncWebClient that says when Slack answered a call (``on_answer``): how the job runner learns
    that Slack is back after an outage. A job that finished without calling Slack proves nothing.

    ``on_error`` hears of each call that failed (after the library's retries), with its method: the
    metrics count them (:meth:`bot.metrics.Metrics.slack_error`)."""

    def __init__(
        self,
        *,
        on_answer: Callable[[], None] | None = None,
        on_error: Callable[[str, Exception], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.on_answer = on_answer
        self.on_error = on_error

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        try:
            response = await super().api_call(api_method, **kwargs)
        except Exception as err:
            if self.on_error is not None:
                self.on_error(api_method, err)
            raise
        if self.on_answer is not None:
            self.on_answer()
        return response


def build_client(
    token: str | None,
    base_url: str,
    *,
    timeout: float = 30.0,
    on_answer: Callable[[], None] | None = None,
    on_error: Callable[[str, Exception], None] | None = None,
) -> SlackClient:
    """An AsyncWebClient that waits out 429s (Retry-After) and retries 5xx and dropped connections of the
    calls that are safe to repeat."""
    return SlackClient(
        on_answer=on_answer,
        on_error=on_error,
        token=token,
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        timeout=int(max(1, round(timeout))),
        retry_handlers=retry_handlers(),
    )
