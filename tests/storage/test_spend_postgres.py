"""Budgets and spend on PostgreSQL too: the audit trail's JSON cost estimates are summed in SQL, and JSON
paths differ by database. The service tests, run again against the throwaway PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.publisher import RecordingPublisher
from fakes.openai import FakeOpenAI
from tests.conftest import FakeClock
from tests.services import test_budgets_refuse_before_the_provider as budgets

pytestmark = pytest.mark.postgres
openai = budgets.openai  # the loopback OpenAI fake, as a fixture here too


@pytest.fixture
def pg_settings(tmp_path: Path, postgres_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=postgres_url, _env_file=None)  # type: ignore[call-arg]


async def test_a_workspace_budget_refuses_on_postgres(
    pg_settings: Settings, openai: tuple[FakeOpenAI, str], clock: FakeClock
) -> None:
    await budgets.test_a_workspace_budget_refuses_the_round_that_would_pass_it_with_no_provider_call(
        pg_settings, openai, RecordingPublisher(), clock
    )


async def test_what_is_on_its_way_counts_on_postgres(
    pg_settings: Settings, openai: tuple[FakeOpenAI, str], clock: FakeClock
) -> None:
    await budgets.test_what_is_on_its_way_counts_against_the_budget_before_it_is_made(
        pg_settings, openai, RecordingPublisher(), clock
    )


async def test_spend_is_the_sum_of_the_trails_estimates_on_postgres(
    pg_settings: Settings, openai: tuple[FakeOpenAI, str], clock: FakeClock
) -> None:
    await budgets.test_spend_is_the_sum_of_the_audit_trails_cost_estimates(
        pg_settings, openai, RecordingPublisher(), clock
    )
