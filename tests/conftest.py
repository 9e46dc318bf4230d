"""Shared fixtures: real SQLite files, the real services, and a clock tests can move."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.imaging import ImagingPool
from bot.providers.base import ImageProvider
from bot.publisher import RecordingPublisher
from bot.runtime import ProviderFactory, Runtime, build_runtime

# The throwaway PostgreSQL server: fixtures postgres_cluster and postgres_url (see tests/postgres.py); moto's
# S3 server on loopback: s3_server and s3_bucket (tests/s3.py).
pytest_plugins = ("tests.postgres", "tests.s3")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # slack_sdk reads proxies from the environment and has no NO_PROXY; Bolt turns on OAuth when it
    # sees client credentials. Neither belongs in a test.
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "DRAFTBOT_DATABASE_URL",
        "DRAFTBOT_PROVIDER",
        "DRAFTBOT_APPROVERS",
    ):
        monkeypatch.delenv(name, raising=False)


def provided(image_provider: ImageProvider) -> ProviderFactory:
    """For :func:`build_runtime`: use this provider, whatever the settings say."""

    def factory(_settings: Settings, _pool: ImagingPool) -> ImageProvider:
        return image_provider

    return factory


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
async def runtime(
    settings: Settings, publisher: RecordingPublisher, clock: FakeClock
) -> AsyncIterator[Runtime]:
    rt = await build_runtime(settings, publisher=publisher, clock=clock)
    yield rt
    await rt.aclose()


async def drain(runtime: Runtime, clock: FakeClock) -> None:
    """Run jobs until none is left, moving the fake clock over retry backoffs instead of sleeping."""

    async def skip(seconds: float) -> None:
        clock.advance(seconds)

    await runtime.drain(wait=skip, max_rounds=200)
