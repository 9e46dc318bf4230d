"""Channel settings: who may change them, storing them (audited, before and after), and the policy a
channel's drafts are decided by (:class:`Policies`, which the desk holds).

The values and their rules are plain (:mod:`bot.channel_settings`); Slack is asked who is an admin and who
is in a group through :class:`~bot.slack_directory.SlackDirectory`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.audit import AuditKind, record
from bot.channel_settings import ChannelValues, FormInput, channel_policy, may_change, validate
from bot.slack_directory import SlackDirectory
from bot.workflow import Policy, Refusal
from storage import queries
from storage.models import ChannelSettings, Draft

# Where every decision about a draft reads its policy from: its channel's (Policies.for_draft), or one
# fixed policy (fixed_policy) where a runtime has no channel settings to read.
PolicyFor = Callable[[AsyncSession, Draft], Awaitable[Policy]]


def fixed_policy(policy: Policy) -> PolicyFor:
    async def policy_for(_session: AsyncSession, _draft: Draft) -> Policy:
        return policy

    return policy_for


GROUPS_UNAVAILABLE = "Slack did not list the workspace's user groups; name them by id (S0123ABC)."


def values_of(row: ChannelSettings | None) -> ChannelValues | None:
    if row is None:
        return None
    return ChannelValues(
        approvers=tuple(row.approvers or ()),
        approver_groups=tuple(row.approver_groups or ()),
        owners=tuple(row.owners or ()),
        required_approvals=row.required_approvals,
        allow_self_approval=row.allow_self_approval,
        default_destination=row.default_destination,
        default_variants=row.default_variants,
        vote_window_seconds=row.vote_window_seconds,
        brand_notes=row.brand_notes,
        provider=row.provider,
        quality=row.quality,
        monthly_budget_usd=row.monthly_budget_usd,
    )


async def channel_values(session: AsyncSession, team: str, channel: str) -> ChannelValues | None:
    return values_of(await queries.channel_settings(session, team, channel))


@dataclass(frozen=True)
class Policies:
    """The policy of each channel: the workspace's (``base``, from the environment) as the channel's
    settings change it, its approver groups resolved through Slack (cached briefly)."""

    base: Policy
    directory: SlackDirectory

    async def for_draft(self, session: AsyncSession, draft: Draft) -> Policy:
        """The policy ``draft`` is decided by: its channel's."""
        return await self.for_channel(session, draft.team_id, draft.channel_id)

    async def for_channel(self, session: AsyncSession, team: str, channel: str) -> Policy:
        values = await channel_values(session, team, channel)
        if values is None:
            return self.base
        members = await self.directory.members(team, values.approver_groups)
        return channel_policy(self.base, values, members)


@dataclass(frozen=True)
class Saved:
    values: ChannelValues


@dataclass(frozen=True)
class Invalid:
    errors: dict[str, str]  # block id -> what is wrong, shown beside the field


class ChannelSettingsService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        directory: SlackDirectory,
        *,
        providers: Sequence[str],
    ) -> None:
        self.sessions = sessions
        self.directory = directory
        self.providers = tuple(providers)  # what a channel may choose: the configured ones

    async def values(self, team: str, channel: str) -> ChannelValues | None:
        async with self.sessions() as session:
            return await channel_values(session, team, channel)

    async def may_change(self, team: str, channel: str, user: str) -> Refusal | None:
        """None if ``user`` may change the channel's settings; otherwise the refusal, audited."""
        values = await self.values(team, channel)
        refusal = may_change(user, is_admin=await self.directory.is_admin(team, user), values=values)
        if refusal is not None:
            async with self.sessions.begin() as session:
                self._refused(session, team, channel, user, refusal)
        return refusal

    async def save(self, team: str, channel: str, user: str, form: FormInput) -> Saved | Invalid | Refusal:
        """Check and store the form's values, with a ``settings_changed`` event (before and after)."""
        groups = await self.directory.group_ids(team) if form.approver_groups.strip() else {}
        is_admin = await self.directory.is_admin(team, user)
        checked = validate(form, providers=self.providers, groups=groups or {})
        if groups is None and isinstance(checked, dict) and "approver_groups" in checked:
            checked["approver_groups"] = GROUPS_UNAVAILABLE
        async with self.sessions.begin() as session:
            row = await queries.channel_settings(session, team, channel)
            before = values_of(row)
            refusal = may_change(user, is_admin=is_admin, values=before)  # the owners may have changed
            if refusal is not None:
                return self._refused(session, team, channel, user, refusal)
            if isinstance(checked, dict):
                return Invalid(checked)
            if row is None:
                row = ChannelSettings(team_id=team, channel_id=channel)
                session.add(row)
            for name, value in checked.audit().items():
                setattr(row, name, list(value) if isinstance(value, tuple) else value)
            row.updated_by = user
            record(
                session,
                team_id=team,
                kind=AuditKind.SETTINGS_CHANGED,
                actor=user,
                channel=channel,
                before=before.audit() if before else None,
                after=checked.audit(),
            )
        return Saved(checked)

    def _refused(
        self, session: AsyncSession, team: str, channel: str, user: str, refusal: Refusal
    ) -> Refusal:
        record(
            session,
            team_id=team,
            kind=AuditKind.ACTION_REFUSED,
            actor=user,
            action="settings",
            channel=channel,
            code=refusal.code,
            reason=refusal.reason,
        )
        return refusal
