"""A person's App Home: gather what is on it, publish it, and queue a refresh of it when a draft on it
changes.

Refreshes are jobs, one queued per person at a time (a dedupe key per team and user) and due a moment
after the change (``DRAFTBOT_HOME_DEBOUNCE``), so a burst of votes and posts publishes each Home once, well
inside ``views.publish``'s rate limit. Only the Homes of people who opened theirs are refreshed; anyone
else's is built fresh when they open it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.blocks.home import (
    DRAFTS_PER_PAGE,
    FINALS_SHOWN,
    DraftLine,
    FinalLine,
    HomeItems,
    SpendLine,
    WaitingItem,
    home_view,
)
from bot.cards import draft_view, review_facts
from bot.drafts.facts import eligible_numbers
from bot.drafts.settings import PolicyFor
from bot.jobs import JobKind
from bot.reviews import may_approve
from bot.spending import Spend
from bot.workflow import DraftStatus, Policy, Tie, pick_winner, tally
from storage import home as stored
from storage import jobqueue, queries
from storage.jobqueue import ClaimedJob
from storage.models import Draft

log = logging.getLogger(__name__)

REVIEWS_LOOKED_AT = 200  # reviews under way, newest first, checked for whether this person may approve


class HomeSlack(Protocol):
    """What the Home needs from Slack: publish a person's Home, and a link to a draft's thread."""

    async def publish(self, team: str, user: str, view: dict[str, Any]) -> None: ...

    async def permalink(self, team: str, channel: str, ts: str) -> str | None: ...


def may_approve_now(draft: Draft, user: str, policy: Policy, facts: Any) -> bool:
    """Whether ``user`` may approve the draft's latest review now (and has not already): the one rule the
    Home and the Approve button share, through :func:`bot.reviews.may_approve`."""
    if facts is None or user in facts.approvers:
        return False
    return may_approve(draft_view(draft, review=facts), user, policy) is None


@dataclass(frozen=True)
class HomeRefresh:
    """Queues Home refreshes when a draft changes (called in the transaction of the parent's refresh)."""

    policy_for: PolicyFor
    debounce: timedelta
    max_attempts: int
    clock: Callable[[], datetime]

    async def draft_changed(self, session: AsyncSession, draft: Draft) -> None:
        for user in await affected_homes(session, draft, await self.policy_for(session, draft)):
            await queue_home(
                session, draft.team_id, user, at=self.clock() + self.debounce, max_attempts=self.max_attempts
            )


async def affected_homes(session: AsyncSession, draft: Draft, policy: Policy) -> list[str]:
    """Whose Home may show this draft: the requester, its voters, the approvers (everyone, when anyone may
    approve and the draft is or was in review), and for a final everyone who drafts in its channel; of those,
    who opened their Home."""
    if not policy.approvers and (draft.status == DraftStatus.REVIEWING or draft.winner_index is not None):
        return await stored.homes_of(session, draft.team_id, None)  # the review is (or was) on every Home
    people = {
        draft.requester_id,
        *await stored.voters_of(session, draft.team_id, draft.id),
        *policy.approvers,
    }
    if draft.decided_by:
        people.add(draft.decided_by)
    if draft.status in (DraftStatus.APPROVED, DraftStatus.FINAL):
        people |= await stored.drafters_in(session, draft.team_id, draft.channel_id)
    return await stored.homes_of(session, draft.team_id, people)


async def queue_home(
    session: AsyncSession, team_id: str, user: str, *, at: datetime, max_attempts: int
) -> None:
    await jobqueue.enqueue(
        session,
        team_id=team_id,
        kind=JobKind.HOME,
        payload={"user": user},
        max_attempts=max_attempts,
        run_after=at,
        dedupe_key=f"home:{team_id}:{user}",
    )


class Homes:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        slack: HomeSlack,
        policy_for: PolicyFor,
        *,
        clock: Callable[[], datetime],
        spend: Spend | None = None,
    ) -> None:
        self.spend = spend  # this month's spend in the person's channels (None: no Spend section)
        self.sessions = sessions
        self.slack = slack
        self.policy_for = policy_for  # who approves a draft: its channel's policy
        self.clock = clock

    async def opened(self, team_id: str, user: str) -> None:
        """``app_home_opened``: remember the person has a Home, and publish it."""
        async with self.sessions.begin() as session:
            page = await stored.opened(session, team_id, user, self.clock())
        await self.publish(team_id, user, page)

    async def show_page(self, team_id: str, user: str, page: int) -> None:
        async with self.sessions.begin() as session:
            await stored.opened(session, team_id, user, self.clock())
            await stored.set_page(session, team_id, user, max(0, page))
        await self.publish(team_id, user, max(0, page))

    async def publish_job(self, job: ClaimedJob) -> None:
        """The HOME job: publish a person's Home as it is now."""
        user = str(job.payload["user"])
        async with self.sessions() as session:
            page = await stored.page_of(session, job.team_id, user)
        await self.publish(job.team_id, user, page or 0)

    async def publish(self, team_id: str, user: str, page: int = 0, *, notice: str | None = None) -> None:
        items = await self.items(team_id, user, page)
        await self.slack.publish(team_id, user, home_view(items, notice=notice))

    async def tell(self, team_id: str, user: str, text: str) -> None:
        """Answer a press on the person's Home on the Home itself (at the top, until it next changes)."""
        async with self.sessions() as session:
            page = await stored.page_of(session, team_id, user)
        await self.publish(team_id, user, page or 0, notice=text)

    async def items(self, team_id: str, user: str, page: int = 0) -> HomeItems:
        async with self.sessions() as session:
            waiting = await self._waiting(session, team_id, user)
            mine, total = await stored.drafts(session, team_id, requester=user, limit=0)
            page = min(page, max(0, (total - 1) // DRAFTS_PER_PAGE))
            mine, total = await stored.drafts(
                session, team_id, requester=user, offset=page * DRAFTS_PER_PAGE, limit=DRAFTS_PER_PAGE
            )
            channels = await stored.channels_of(session, team_id, user)
            finals, finals_total = await stored.finals_in(session, team_id, channels, limit=FINALS_SHOWN)
        lines = tuple(
            [
                DraftLine(d.id, d.prompt, d.destination_name, d.status, d.channel_id, await self._link(d))
                for d in mine
            ]
        )
        shown = tuple(
            [
                FinalLine(
                    d.id,
                    d.prompt,
                    (final.destination_name if final else None) or d.destination_name,
                    d.channel_id,
                    d.decided_by,
                    final.slack_file_id if final else None,
                    await self._link(d),
                )
                for d, final in finals
            ]
        )
        linked = tuple([_with_link(item, await self._link_of(item)) for item in waiting])
        spent = None
        if self.spend is not None:
            spent = tuple(
                SpendLine(channel, total.usd, budget, total.tiers())
                for channel, total, budget in await self.spend.of_person(team_id, user)
            )
        return HomeItems(user, linked, lines, total, page, shown, finals_total, spent)

    async def _waiting(
        self, session: AsyncSession, team_id: str, user: str
    ) -> list[tuple[WaitingItem, Draft]]:
        found: list[tuple[WaitingItem, Draft]] = []
        for draft in await stored.in_status(session, team_id, DraftStatus.REVIEWING, limit=REVIEWS_LOOKED_AT):
            facts = await review_facts(session, draft)
            if facts is not None and may_approve_now(
                draft, user, await self.policy_for(session, draft), facts
            ):
                ref = (facts.latest.number, facts.latest.version)
                found.append((_item("review", draft, review=ref), draft))
        for draft in await stored.in_status(session, team_id, DraftStatus.VOTING, requester=user):
            votes = await queries.votes_of(session, team_id, draft.id)
            eligible = await eligible_numbers(session, draft)
            if not eligible:  # every variant's review was rejected: nothing to upgrade
                continue
            result = pick_winner(tally(votes, range(1, draft.n_variants + 1)), eligible)
            if draft.tie_asked and isinstance(result, Tie):
                found.append((_item("tie", draft, tied=result.variants), draft))
            else:
                found.append((_item("upgrade", draft), draft))
        return found

    async def _link_of(self, item: tuple[WaitingItem, Draft]) -> str | None:
        return await self._link(item[1])

    async def _link(self, draft: Draft) -> str | None:
        if not (draft.parent_channel and draft.parent_ts):
            return None
        try:
            return await self.slack.permalink(draft.team_id, draft.parent_channel, draft.parent_ts)
        except Exception:  # a link is a courtesy: the Home is shown without it
            log.warning("no permalink for draft %s", draft.id, exc_info=True)
            return None


def _item(kind: Any, draft: Draft, **extra: Any) -> WaitingItem:
    return WaitingItem(kind, draft.id, draft.prompt, draft.destination_name, draft.channel_id, **extra)


def _with_link(item: tuple[WaitingItem, Draft], link: str | None) -> WaitingItem:
    return replace(item[0], link=link)
