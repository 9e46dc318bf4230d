"""What the wire benchmarks share: the fake Slack and the bot (HTTP app, worker) wired together on loopback,
an image provider with a fixed round trip, and a percentile. Wired as ``tests/slack_harness.py`` wires them:
signed requests in, the real Slack client out, SQLite in the given directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from bot.imaging import ImagingPool
    from bot.providers.base import GeneratedImage, GenerationRequest, ImageProvider
    from bot.runtime import Runtime
    from bot.tiers import Ratio, Size, Tier
    from fakes.slack import FakeSlack, Workspace

SECRET = "bench-signing-secret-0123456789abcdef"
CHANNEL = "C0GENERAL"
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


class SlowProvider:
    """An image provider behind a fixed round trip of ``latency`` seconds, like a remote model."""

    def __init__(self, inner: ImageProvider, latency: float) -> None:
        self.inner = inner
        self.latency = latency
        self.name, self.model = f"{inner.name}-slow", inner.model
        self.calls = 0

    def target_size(self, ratio: Ratio, tier: Tier) -> Size:
        return self.inner.target_size(ratio, tier)

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        self.calls += 1
        await asyncio.sleep(self.latency)
        return await self.inner.generate(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@contextlib.asynccontextmanager
async def wired_bot(
    data_dir: Path, latency: float, *, workspace: Workspace | None = None, **overrides: Any
) -> AsyncIterator[tuple[FakeSlack, Runtime]]:
    """The fake Slack, the bot's HTTP app and worker, and signed delivery between them."""
    from bot.config import Settings
    from bot.providers import build_provider
    from bot.runtime import open_runtime
    from bot.web import build_web_app
    from fakes.asgi import serve_asgi
    from fakes.slack import DEFAULT_BOT_TOKEN, serve_fake_slack

    def slow_provider(settings: Settings, pool: ImagingPool) -> ImageProvider:
        return SlowProvider(build_provider(settings, pool), latency)  # the local renderer, on the shared pool

    async with contextlib.AsyncExitStack() as stack:
        fake = await stack.enter_async_context(serve_fake_slack(state=workspace))
        assert fake.base_url is not None
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            data_dir=data_dir,
            slack_bot_token=DEFAULT_BOT_TOKEN,
            slack_signing_secret=SECRET,
            slack_api_url=fake.base_url,
            provider="local",
            **overrides,
        )
        runtime = await stack.enter_async_context(open_runtime(settings, provider=slow_provider))
        url = await stack.enter_async_context(serve_asgi(build_web_app(runtime)))
        fake.connect_app(f"{url}/slack/events", SECRET)
        # Runs first on the way out: if work is still in flight (a timed-out wait), the fake would warn
        # about every event it can no longer deliver to the stopped app.
        stack.callback(logging.getLogger("fakes.slack").setLevel, logging.ERROR)
        yield fake, runtime


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100): an observed value, so p99 of 50 samples is the worst."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]
