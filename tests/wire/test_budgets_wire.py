"""Budgets and spend over the wire: signed `/draft` commands in, the private answers out of the fake
Slack, the OpenAI provider's prices from its loopback fake, and `draftbot spend` / `draftbot audit export`
on the same database agreeing to the cent."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot import blocks
from bot.budgets import Month
from bot.cli import main as cli_main
from bot.tiers import Ratio, Tier
from fakes.asgi import serve_asgi
from fakes.openai import FakeOpenAI
from storage.models import utcnow
from tests.slack_harness import ALICE, BOB, CHANNEL, Wire, running_bot, start_draft, wait_for
from tests.wire.test_studio_review import reviewed


@asynccontextmanager
async def openai_bot(data_dir: Path, **overrides: Any) -> AsyncIterator[tuple[Wire, FakeOpenAI]]:
    api = FakeOpenAI()
    async with serve_asgi(api) as url:
        settings = {"openai_api_key": SecretStr(api.api_key), "openai_base_url": f"{url}/v1", **overrides}
        async with running_bot(data_dir, provider="openai", **settings) as wire:
            yield wire, api


def last_private(wire: Wire, user: str) -> Any:
    return wire.fake.state.ephemerals[-1] if wire.fake.state.ephemerals[-1].user == user else None


async def test_a_draft_over_the_workspace_budget_is_refused_privately_with_the_figures_and_a_raise_button(
    tmp_path: Path,
) -> None:
    async with openai_bot(tmp_path / "data", monthly_budget_usd=0.10) as (wire, api):
        await start_draft(wire, "a glass teapot for feed post --n 1", n=1)  # $0.053
        assert len(api.requests) == 1
        await wire.command(ALICE, "a glass teapot for feed post --n 2")  # $0.106 more
        said = await wait_for(lambda: last_private(wire, ALICE), what="Alice's private refusal")
        assert said.text.startswith(
            "These 2 variants cost about $0.11; $0.05 of the workspace's $0.10 is left"
        )
        buttons = [e for b in said.blocks or [] if b["type"] == "actions" for e in b["elements"]]
        assert [(b["action_id"], b["value"], b["text"]["text"]) for b in buttons] == [
            (blocks.SETTINGS_OPEN, CHANNEL, blocks.RAISE_BUDGET)
        ]
        await asyncio.sleep(0.3)
        assert len(wire.parents()) == 1 and len(api.requests) == 1  # nothing drafted, nothing asked


async def test_draft_spend_answers_privately_and_the_cli_gives_finance_the_same_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with openai_bot(tmp_path / "data", monthly_budget_usd=25.0) as (wire, _):
        await start_draft(wire, "a glass teapot for feed post --n 2", n=2)
        await wire.command(BOB, "a mug for feed post --n 1")
        await wait_for(lambda: len(wire.parents()) == 2, what="Bob's draft")
        bobs = int((wire.parents()[-1].metadata or {})["event_payload"]["draft_id"])
        await wait_for(lambda: len(wire.images(bobs)) == 1, what="Bob's variant")
        await wire.command(BOB, "spend")
        said = await wait_for(lambda: last_private(wire, BOB), what="Bob's spend report")
        month = Month.of(utcnow())
        shown = "\n".join(b["text"]["text"] for b in said.blocks or [])
        assert said.text == f"*Spend in {month}* (estimated): $0.16 of $25 — 3 × 1K"
        assert f"<#{CHANNEL}>: $0.16 — 3 × 1K" in shown
        assert f"<@{ALICE}>: $0.11 — 2 × 1K" in shown and "<@U0BOB>: $0.05 — 1 × 1K" in shown
        assert all(e.user == BOB for e in wire.fake.state.ephemerals[-1:])  # private to Bob

        await wire.command(BOB, "spend --month 2026-13")
        said = await wait_for(lambda: "not a month" in last_private(wire, BOB).text, what="a clear word")
        await wire.command(BOB, "spend --month 2020-01")
        await wait_for(
            lambda: "Nothing was generated" in json.dumps(last_private(wire, BOB).blocks or []), what="empty"
        )

        monkeypatch.setenv("DRAFTBOT_DATA_DIR", str(wire.runtime.settings.data_dir))
        monkeypatch.setenv("DRAFTBOT_MONTHLY_BUDGET_USD", "25")
        spend_csv, audit_csv = tmp_path / "spend.csv", tmp_path / "audit.csv"
        args = ["spend", "--format", "csv", "--month", str(month), "-o", str(spend_csv)]
        assert await asyncio.to_thread(cli_main, args) == 0
        text_out = tmp_path / "spend.txt"
        assert await asyncio.to_thread(cli_main, ["spend", "-o", str(text_out)]) == 0
        team = wire.fake.state.team.id
        assert text_out.read_text().splitlines()[:3] == [
            f"team {team}",
            f"  Spend in {month} (estimated): $0.16 of $25 — 3 × 1K",
            "  By channel",
        ]
        assert f"  • #{CHANNEL}: $0.16 — 3 × 1K" in text_out.read_text().splitlines()
        args = ["audit", "export", "--kind", "generation", "--month", str(month), "--format", "csv"]
        assert await asyncio.to_thread(cli_main, [*args, "-o", str(audit_csv)]) == 0

    lines = list(csv.DictReader(io.StringIO(spend_csv.read_text())))
    assert [(r["user_id"], r["tier"], r["images"]) for r in lines] == [(ALICE, "1K", "2"), (BOB, "1K", "1")]
    assert {r["channel_id"] for r in lines} == {CHANNEL} and {r["month"] for r in lines} == {str(month)}
    events = list(csv.DictReader(io.StringIO(audit_csv.read_text())))
    costs = [json.loads(e["details"])["cost_estimate_usd"] for e in events]
    assert len(costs) == 3 and {e["kind"] for e in events} == {"generation"}
    assert sum(float(r["cost_estimate_usd"]) for r in lines) == pytest.approx(sum(costs), abs=1e-4)


async def test_the_approve_button_shows_what_the_4k_costs_and_the_local_renderer_says_nothing(
    tmp_path: Path,
) -> None:
    def approve_labels(message: Any) -> list[str]:
        return [
            e["text"]["text"]
            for b in message.blocks or []
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == blocks.APPROVE
        ]

    async with openai_bot(tmp_path / "openai") as (wire, _):
        _, review = await reviewed(wire, "a matte black water bottle for feed post")
        estimate = wire.runtime.providers.estimate_usd(None, None, Ratio(1, 1), Tier.FINAL)
        assert round(estimate, 2) == 0.42
        assert approve_labels(review) == ["Approve for 4K · ~$0.42"]
    async with running_bot(tmp_path / "local") as wire:
        _, review = await reviewed(wire, "a matte black water bottle for feed post")
        assert approve_labels(review) == ["Approve for 4K"]
