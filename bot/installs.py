"""A workspace leaving: ``app_uninstalled`` or ``tokens_revoked`` forget its installation and stop its
jobs, and the audit trail (which stays) says so.

Stopping the jobs at once is what keeps a worker from trying a dead token again and again: a job that was
running loses its lease and stops before its next call, and a job started meanwhile finds no installation
(:class:`~bot.slack_workspaces.WorkspaceGone`) and is given up quietly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.audit import SYSTEM, AuditKind, record
from bot.slack_workspaces import Workspaces
from storage import installs, jobqueue
from storage.models import OrgTeam

log = logging.getLogger(__name__)

UNINSTALLED = "app_uninstalled"
REVOKED = "tokens_revoked"


@dataclass(frozen=True)
class Leaving:
    """Who is leaving, as the event's envelope says: a workspace, or a whole organisation (org-wide)."""

    team_id: str | None
    enterprise_id: str | None
    org_wide: bool
    reason: str  # UNINSTALLED or REVOKED


class Installations:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        workspaces: Workspaces,
        store: AsyncInstallationStore | None,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self.sessions = sessions
        self.workspaces = workspaces
        self.store = store  # None: one workspace from SLACK_BOT_TOKEN; its jobs still stop
        self.clock = clock
        self._orgs_seen: set[tuple[str, str, bool]] = set()

    async def arrived_from(self, team_id: str, enterprise_id: str, *, org_wide: bool) -> None:
        """A request from ``team_id`` of the organisation ``enterprise_id``: remember it (once per process),
        so a job of that team finds the organisation's installation."""
        key = (team_id, enterprise_id, org_wide)
        if key in self._orgs_seen:
            return
        await installs.remember_org_once(self.sessions, team_id, enterprise_id, org_wide=org_wide)
        self._orgs_seen.add(key)

    async def left(self, leaving: Leaving) -> int:
        """Forget the installation and stop the jobs of every team it covered; the number of jobs stopped."""
        teams = await self._teams(leaving)
        if self.store is not None:
            team = None if leaving.org_wide else leaving.team_id
            await self.store.async_delete_bot(enterprise_id=leaving.enterprise_id, team_id=team)
            await self.store.async_delete_installation(enterprise_id=leaving.enterprise_id, team_id=team)
        stopped = 0
        now = self.clock()
        why = f"stopped: the workspace's {_said(leaving.reason)}"
        async with self.sessions() as session, session.begin():
            for team_id in teams:
                jobs = await jobqueue.stop_team(session, team_id=team_id, now=now, why=why)
                stopped += jobs
                record(
                    session,
                    team_id=team_id,
                    kind=AuditKind.WORKSPACE_LEFT,
                    actor=SYSTEM,
                    at=now,
                    reason=leaving.reason,
                    enterprise_id=leaving.enterprise_id,
                    org_wide=leaving.org_wide,
                    jobs_stopped=jobs,
                )
                if leaving.org_wide:
                    await installs.forget_org(session, team_id)
        for team_id in teams:
            self.workspaces.forget(team_id)
        log.info("a workspace left (%s); %d of its jobs stopped", leaving.reason, stopped)
        return stopped

    async def _teams(self, leaving: Leaving) -> list[str]:
        """The teams an org-wide installation covered (those that ever sent a request), or the one team."""
        teams = {leaving.team_id} if leaving.team_id else set()
        if leaving.org_wide and leaving.enterprise_id:
            async with self.sessions() as session:
                teams |= set(
                    await session.scalars(
                        select(OrgTeam.team_id).where(
                            OrgTeam.enterprise_id == leaving.enterprise_id, OrgTeam.is_enterprise_install
                        )
                    )
                )
        return sorted(teams)


def _said(reason: str) -> str:
    return "tokens were revoked" if reason == REVOKED else "app was uninstalled"
