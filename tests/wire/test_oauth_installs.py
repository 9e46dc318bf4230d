"""Installs for many workspaces, over the wire: the Add to Slack page, Slack's redirect back with a code,
``oauth.v2.access`` on the fake Slack (two workspaces behind one Slack, :mod:`fakes.slack.teams`), drafts in
both with each workspace's own token, and one workspace uninstalling while its draft is being made."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy import func, select

from bot.audit import AuditKind
from bot.blocks import DRAFT_EVENT, IMAGE_EVENT
from bot.config import Settings
from bot.providers.base import GeneratedImage, GenerationRequest
from bot.providers.local import LocalProvider
from bot.runtime import Runtime, open_runtime
from bot.slack_workspaces import InstalledWorkspaces, WorkspaceGone
from bot.tiers import Ratio, Size, Tier
from bot.web import build_web_app
from fakes.asgi import serve_asgi
from fakes.slack import FakeSlack, Message, Workspace
from fakes.slack.state.records import Team
from fakes.slack.teams import FakeSlackTeams, serve_fake_teams
from storage.models import AuditEvent, Draft, Job
from tests.conftest import provided
from tests.processes import free_port
from tests.slack_harness import ALICE, CHANNEL, SECRET, USERS, _event, wait_for

T1, T2 = "T0TEAMONE", "T0TEAMTWO"


class HeldProvider:
    """The local renderer; a prompt with the word "held" waits until :meth:`release`."""

    name = "local"
    model = "draftbot-local-1"

    def __init__(self) -> None:
        self._inner = LocalProvider()
        self._open = asyncio.Event()
        self.waiting = 0

    def target_size(self, ratio: Ratio, tier: Tier) -> Size:
        return self._inner.target_size(ratio, tier)

    def estimate_usd(self, ratio: Ratio, tier: Tier, quality: str | None = None) -> float:
        return self._inner.estimate_usd(ratio, tier, quality)

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        if "held" in request.prompt:
            self.waiting += 1
            await self._open.wait()
        return await self._inner.generate(request)

    def release(self) -> None:
        self._open.set()

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass
class Installed:
    teams: FakeSlackTeams
    runtime: Runtime
    url: str
    provider: HeldProvider

    def fake(self, team: str) -> FakeSlack:
        return self.teams.teams[team]

    async def install(self, team: str) -> httpx.Response:
        """What an installer's browser does: open the Add to Slack page (which sets the state cookie),
        follow its link, allow (the fake's authorize page, for ``team``), and come back with the code.
        The cookie is Secure, as it must be: over this test's plain http it is carried by hand, as a
        browser carries it over https."""
        async with httpx.AsyncClient(trust_env=False) as browser:
            page = await browser.get(f"{self.url}/slack/install")
            assert page.status_code == 200, page.text
            cookie = page.headers["set-cookie"].split(";")[0]
            assert "Secure" in page.headers["set-cookie"]
            found = re.search(r'href="([^"]*oauth/v2/authorize[^"]*)"', page.text)
            assert found is not None, page.text
            allowed = await browser.get(f"{unescape(found[1])}&team={team}")
            assert allowed.status_code == 302, allowed.text
            back = allowed.headers["location"]
            assert back.startswith(f"{self.url}/slack/oauth_redirect?")
            return await browser.get(back, headers={"cookie": cookie})

    async def draft(self, team: str, text: str) -> httpx.Response:
        delivery = self.fake(team).delivery
        assert delivery is not None
        return await delivery.send_slash_command(ALICE, CHANNEL, text)

    def images(self, team: str) -> list[Message]:
        """Every image message in the team's draft threads."""
        fake = self.fake(team)
        parents = [m for m in fake.messages(CHANNEL) if _event(m) == DRAFT_EVENT]
        return [m for p in parents for m in fake.thread(CHANNEL, p.ts) if _event(m) == IMAGE_EVENT]

    async def count(self, model: Any, *where: Any) -> int:
        async with self.runtime.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@contextlib.asynccontextmanager
async def installed_bot(data_dir: Path, *, rotation: bool = False) -> AsyncIterator[Installed]:
    workspaces = {
        team: FakeSlack(
            state=Workspace(team=Team(id=team, name=name, domain=name.lower()), default_users=USERS)
        )
        for team, name in ((T1, "Studio"), (T2, "Agency"))
    }
    provider = HeldProvider()
    async with serve_fake_teams(FakeSlackTeams(workspaces, rotation=rotation)) as teams:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            data_dir=data_dir,
            slack_signing_secret=SECRET,
            slack_client_id=teams.client_id,
            slack_client_secret=teams.client_secret,
            slack_api_url=teams.base_url,
            slack_authorize_url=teams.authorize_url,
            slack_redirect_uri=f"{url}/slack/oauth_redirect",
        )
        async with (
            open_runtime(settings, provider=provided(provider)) as runtime,
            serve_asgi(build_web_app(runtime), port=port),
        ):
            for fake in workspaces.values():
                fake.connect_app(f"{url}/slack/events", SECRET)
            yield Installed(teams, runtime, url, provider)


async def test_two_workspaces_install_draft_with_their_own_tokens_and_one_uninstalls(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with installed_bot(tmp_path / "data") as bot:
        # Before any install, a workspace's command is refused by Bolt and nothing is drafted.
        refused = await bot.draft(T1, "a lighthouse at dusk for feed post")
        assert refused.status_code == 200
        told = [str(p.get("text", "")) for p in bot.fake(T1).calls_for("response_url")]
        assert any("reinstall this app" in text for text in told), told
        assert await bot.count(Draft) == 0

        for team in (T1, T2):
            done = await bot.install(team)
            assert done.status_code == 200, done.text
        assert [grant.team_id for grant in bot.teams.grants] == [T1, T2]

        for team in (T1, T2):
            answer = await bot.draft(team, f"a lighthouse at dusk in {team} for feed post --n 2")
            assert answer.status_code == 200, answer.text
        for team in (T1, T2):
            await wait_for(lambda t=team: len(bot.images(t)) == 2 or None, what=f"two variants in {team}")
        # Every call reached the workspace whose token it carried; none went out without one.
        methods = {(method, team) for method, team in bot.teams.calls}
        assert {("chat.postMessage", T1), ("chat.postMessage", T2)} <= methods
        assert all(team in (T1, T2) for method, team in bot.teams.calls if method != "oauth.v2.access")
        for team in (T1, T2):
            async with bot.runtime.sessions() as session:
                drafts = (await session.scalars(select(Draft).where(Draft.team_id == team))).all()
            assert len(drafts) == 1 and team in drafts[0].prompt

        # T2 drafts again; while its variants are being made, it uninstalls the app.
        await bot.draft(T2, "a held kite over the sea for feed post --n 2")
        await wait_for(lambda: bot.provider.waiting == 2 or None, what="T2's variants at the provider")
        bot.teams.revoke(T2)
        t2_delivery = bot.fake(T2).delivery
        assert t2_delivery is not None
        gone = await t2_delivery.send_event({"type": "app_uninstalled"})
        assert gone.status_code == 200
        await _until(lambda: bot.count(AuditEvent, AuditEvent.kind == AuditKind.WORKSPACE_LEFT))
        calls_then = len(bot.teams.calls)
        bot.provider.release()
        # Its jobs were stopped: none is left to run, and none knocks on Slack with the dead token.
        await _until(lambda: _unfinished(bot, T2), want=0)
        await bot.runtime.runner.run_until_idle()
        await asyncio.sleep(0.5)
        dead_calls = [c for c in bot.teams.calls[calls_then:] if c[1] is None and c[0] != "oauth.v2.access"]
        assert len(dead_calls) <= 2, dead_calls  # at most the one or two calls already on their way
        async with bot.runtime.sessions() as session:
            stopped = (
                await session.scalars(select(Job).where(Job.team_id == T2, Job.status == "failed"))
            ).all()
        # Stopped by the uninstall, or (one that ran between the revocation and the event) given up at once.
        reasons = {"uninstalled", "no longer installed"}
        assert stopped and all(any(r in (job.last_error or "") for r in reasons) for job in stopped)
        assert all(job.attempts <= 1 for job in stopped)
        assert (
            await bot.runtime.slack_app().installation_store.async_find_bot(  # type: ignore[union-attr]
                enterprise_id=None, team_id=T2
            )
            is None
        )
        # Its audit trail stays; a job that asks for its workspace now finds it gone.
        assert await bot.count(AuditEvent, AuditEvent.team_id == T2) > 0
        publisher = bot.runtime.publisher
        with contextlib.suppress(WorkspaceGone):
            await publisher.workspaces.client(T2)  # type: ignore[attr-defined]
            raise AssertionError("T2's client after the uninstall")

        # T1 is unaffected: it drafts again and gets its variants.
        await bot.draft(T1, "a second lighthouse for feed post --n 2")
        await wait_for(lambda: len(bot.images(T1)) == 4 or None, what="T1's second draft")

        # Tokens and the client secret never reach the log.
        secrets = [grant.token for grant in bot.teams.grants] + [bot.teams.client_secret]
        assert not [s for s in secrets if s in caplog.text]


async def _unfinished(bot: Installed, team: str) -> int:
    return await bot.count(Job, Job.team_id == team, Job.status.in_(("queued", "running")))


async def _until(check: Any, *, want: int | None = None, within: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await check()
        if (value == want) if want is not None else value:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out: {value}")
        await asyncio.sleep(0.05)


async def test_a_token_about_to_expire_is_rotated_before_a_job_uses_it(tmp_path: Path) -> None:
    async with installed_bot(tmp_path / "data", rotation=True) as bot:
        assert (await bot.install(T1)).status_code == 200
        store = bot.runtime.slack_app().installation_store
        assert store is not None
        installed = await store.async_find_bot(enterprise_id=None, team_id=T1)
        assert installed is not None and installed.bot_refresh_token and installed.bot_token_expires_at
        # Slack's clock moves on: the token now expires in a minute (within the rotation window).
        installed.bot_token_expires_at = int(time.time()) + 60
        installed.installed_at = time.time() + 1  # saved as the newest row
        await store.async_save_bot(installed)
        old = installed.bot_token

        fresh = await _workspaces(bot.runtime).client(T1)
        assert fresh.token != old and (await fresh.auth_test())["team_id"] == T1
        assert [grant.team_id for grant in bot.teams.grants] == [T1, T1]  # installed, then rotated once
        saved = await store.async_find_bot(enterprise_id=None, team_id=T1)
        assert saved is not None and saved.bot_token == fresh.token
        # The whole loop runs on the rotated token: the old one no longer works in the fake.
        await bot.draft(T1, "a lighthouse at dusk for feed post --n 2")
        await wait_for(lambda: len(bot.images(T1)) == 2 or None, what="variants on the rotated token")


async def test_an_org_wide_install_serves_every_workspace_of_the_org(tmp_path: Path) -> None:
    """Enterprise Grid: the organisation installs once (no team of its own); a request from one of its
    workspaces is authorised by that installation, and the workspace's jobs find the org's token."""
    async with installed_bot(tmp_path / "data") as bot:
        store = bot.runtime.slack_app().installation_store
        assert store is not None
        token = "xoxb-E0GRID-org-wide"
        bot.fake(T1).bot_tokens.add(token)
        await store.async_save(
            Installation(
                app_id="A0DRAFTBOT",
                enterprise_id="E0GRID",
                team_id=None,
                user_id="U0ALICE",
                bot_token=token,
                bot_id="B0DRAFTBOT",
                bot_user_id="U0DRAFTBOT",
                is_enterprise_install=True,
            )
        )
        with contextlib.suppress(WorkspaceGone):
            await _workspaces(bot.runtime).client(T1)
            raise AssertionError("a job found the org's token before the org was known")

        delivery = bot.fake(T1).delivery
        assert delivery is not None
        envelope = {
            "team_id": T1,
            "enterprise_id": "E0GRID",
            "api_app_id": "A0DRAFTBOT",
            "type": "event_callback",
            "event_id": "Ev0GRID0001",
            "event_time": int(time.time()),
            "is_enterprise_install": True,
            "authorizations": [
                {
                    "enterprise_id": "E0GRID",
                    "team_id": None,
                    "user_id": "U0DRAFTBOT",
                    "is_bot": True,
                    "is_enterprise_install": True,
                }
            ],
            "event": {"type": "app_home_opened", "user": ALICE, "channel": "D0ALICE", "tab": "home"},
        }
        body = json.dumps(envelope).encode()
        answer = await delivery.post("event", envelope, body, "application/json")
        assert answer.status_code == 200
        # The Home was published with the org's token, in that workspace.
        await wait_for(lambda: bot.fake(T1).calls_for("views.publish") or None, what="the Home")
        client = await _workspaces(bot.runtime).client(T1)
        assert client.token == token


def _workspaces(runtime: Runtime) -> InstalledWorkspaces:
    workspaces = runtime.publisher.workspaces  # type: ignore[attr-defined]
    assert isinstance(workspaces, InstalledWorkspaces)
    return InstalledWorkspaces(
        workspaces.store, workspaces.sessions, workspaces.make_client, rotator=workspaces.rotator
    )


async def test_tokens_revoked_forgets_the_workspace_only_for_the_bots_token(tmp_path: Path) -> None:
    async with installed_bot(tmp_path / "data") as bot:
        assert (await bot.install(T1)).status_code == 200
        store = bot.runtime.slack_app().installation_store
        assert store is not None
        delivery = bot.fake(T1).delivery
        assert delivery is not None
        # A person's own token revoked: draftbot uses none, so nothing changes.
        await delivery.send_event({"type": "tokens_revoked", "tokens": {"oauth": [ALICE]}})
        await asyncio.sleep(0.3)
        assert await store.async_find_bot(enterprise_id=None, team_id=T1) is not None
        # The bot's token revoked: the workspace is forgotten, and the audit trail says why.
        await delivery.send_event({"type": "tokens_revoked", "tokens": {"bot": ["U0DRAFTBOT"]}})
        await _until(lambda: bot.count(AuditEvent, AuditEvent.kind == AuditKind.WORKSPACE_LEFT))
        assert await store.async_find_bot(enterprise_id=None, team_id=T1) is None
        async with bot.runtime.sessions() as session:
            left = (
                await session.scalars(select(AuditEvent).where(AuditEvent.kind == "workspace_left"))
            ).one()
        assert left.team_id == T1 and left.details["reason"] == "tokens_revoked"
