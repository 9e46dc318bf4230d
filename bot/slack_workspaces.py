"""Which Slack client speaks for a workspace: the one token of ``SLACK_BOT_TOKEN``, or each team's own
token from the installation store when the app is installed in many workspaces (OAuth).

Requests carry their workspace's client (Bolt authorises each one by its team's installation); jobs, which
run in workers long after the request, ask here with the draft's team. A team with no installation (never
installed, uninstalled, its tokens revoked) raises :class:`WorkspaceGone`: the job is given up at once
and quietly, since nobody in that workspace can be told and retrying would only knock on Slack's door
with a dead token.

Enterprise Grid: an org-wide installation has no team of its own; the teams of the organisation are
remembered as their requests arrive (``slack_org_teams``), so a job finds the org's token by its team.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import DraftbotError
from storage import installs

log = logging.getLogger(__name__)

# Slack's answers that say the token will never work again: the app was uninstalled, the token revoked,
# the workspace deleted or its access withdrawn.
DEAD_TOKEN_ERRORS = frozenset(
    {
        "account_inactive",
        "invalid_auth",
        "not_authed",
        "org_login_required",
        "team_access_not_granted",
        "team_disabled",
        "token_expired",
        "token_revoked",
    }
)
# How long a team's token is trusted from memory before it is read again (an uninstall on another machine
# is seen within this long; meanwhile Slack itself refuses the dead token).
TOKEN_CACHE_SECONDS = 10.0
# A bot token that expires within this many minutes is rotated before it is used (token rotation).
ROTATE_MINUTES_BEFORE = 120


class WorkspaceGone(DraftbotError):
    """The app is not installed in this workspace (any more): nothing can be posted there."""

    def __init__(self, team_id: str, why: str = "the app is not installed there") -> None:
        super().__init__(f"workspace {team_id} is out of reach: {why}")
        self.team_id = team_id


def dead_token(exc: BaseException) -> bool:
    """Whether ``exc`` is Slack saying that the token used will never work again."""
    return isinstance(exc, SlackApiError) and exc.response.get("error") in DEAD_TOKEN_ERRORS


class Workspaces(Protocol):
    async def client(self, team_id: str) -> AsyncWebClient:
        """The client for ``team_id``; raises :class:`WorkspaceGone` when there is none."""
        ...

    def forget(self, team_id: str) -> None:
        """Drop what is remembered of ``team_id`` (its installation was removed)."""
        ...


class OneWorkspace:
    """``SLACK_BOT_TOKEN``: one client, for whatever team the draft names (there is one)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def client(self, team_id: str) -> AsyncWebClient:
        return self._client

    def forget(self, team_id: str) -> None:
        return None


@dataclass
class _Known:
    token: str
    client: AsyncWebClient
    read_at: float


class InstalledWorkspaces:
    """Each team's bot token from slack_sdk's installation store, rotated before it expires (when the app
    has token rotation on), with one client per token kept for :data:`TOKEN_CACHE_SECONDS`."""

    def __init__(
        self,
        store: AsyncInstallationStore,
        sessions: async_sessionmaker[AsyncSession],
        make_client: Callable[[str], AsyncWebClient],
        *,
        rotator: AsyncTokenRotator | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.sessions = sessions
        self.make_client = make_client
        self.rotator = rotator
        self.monotonic = monotonic
        self._known: dict[str, _Known] = {}

    async def client(self, team_id: str) -> AsyncWebClient:
        known = self._known.get(team_id)
        if known is not None and self.monotonic() - known.read_at < TOKEN_CACHE_SECONDS:
            return known.client
        bot = await self.find_bot(team_id)
        if bot is None or not bot.bot_token:
            self._known.pop(team_id, None)
            raise WorkspaceGone(team_id)
        bot = await self._rotated(bot)
        token = str(bot.bot_token)
        client = known.client if known is not None and known.token == token else self.make_client(token)
        self._known[team_id] = _Known(token, client, self.monotonic())
        return client

    def forget(self, team_id: str) -> None:
        self._known.pop(team_id, None)

    async def find_bot(self, team_id: str) -> Bot | None:
        """The newest bot installation that covers ``team_id``: the workspace's own, or its organisation's."""
        org = await installs.org_of(self.sessions, team_id)
        if org is None:
            return await self.store.async_find_bot(enterprise_id=None, team_id=team_id)
        return await self.store.async_find_bot(
            enterprise_id=org.enterprise_id,
            team_id=None if org.is_enterprise_install else team_id,
            is_enterprise_install=org.is_enterprise_install,
        )

    async def _rotated(self, bot: Bot) -> Bot:
        if self.rotator is None or not bot.bot_refresh_token:
            return bot
        refreshed = await self.rotator.perform_bot_token_rotation(
            bot=bot, minutes_before_expiration=ROTATE_MINUTES_BEFORE
        )
        if refreshed is None:
            return bot
        await self.store.async_save_bot(refreshed)
        log.info("rotated the bot token of a workspace")
        return refreshed
