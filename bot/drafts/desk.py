"""What every action on a draft shares: the database, the job doorbell, the publisher and the approval
policy, and the few steps each action takes the same way (find the draft, move it on, refuse and audit
it, ask for an image again at the next tier)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.audit import AuditKind, record_for
from bot.cards import draft_card
from bot.destinations import Destination
from bot.drafts.moves import move_draft
from bot.drafts.settings import Policies
from bot.errors import UnknownDraft
from bot.jobs import Doorbell, JobKind, enqueue
from bot.publisher import Publisher
from bot.spending import Budgets
from bot.tiers import Ratio, Tier
from bot.workflow import DraftStatus, Policy, Refusal, VariantState
from storage import queries
from storage.models import Draft, Variant

log = logging.getLogger(__name__)

LOST_RACE = Refusal(
    "Someone else changed this draft a moment ago; the thread shows where it is now.", "changed"
)


@dataclass(frozen=True)
class Desk:
    sessions: async_sessionmaker[AsyncSession]
    doorbell: Doorbell
    publisher: Publisher
    policy: Policy
    max_attempts: int
    clock: Callable[[], datetime]
    policies: Policies | None = None  # each channel's own; None: ``policy`` everywhere
    budgets: Budgets | None = None  # None: nothing is ever refused for its cost

    async def policy_for(self, session: AsyncSession, draft: Draft) -> Policy:
        """The policy the draft's channel decides by: the workspace's, as the channel's settings change it."""
        if self.policies is None:
            return self.policy
        return await self.policies.for_channel(session, draft.team_id, draft.channel_id)

    async def over_budget(
        self, session: AsyncSession, draft: Draft, tier: Tier, count: int = 1, *, ratio: str | None = None
    ) -> Refusal | None:
        """Refused when ``count`` images of the draft at ``tier`` (in another ``ratio``: Also as…) would
        pass a monthly budget; checked in the transaction that would queue them."""
        if self.budgets is None:
            return None
        return await self.budgets.refusal(
            session,
            team_id=draft.team_id,
            channel_id=draft.channel_id,
            provider=draft.provider,
            quality=draft.quality,
            ratio=Ratio.parse(ratio or draft.ratio),
            tier=tier,
            count=count,
        )

    async def draft(self, session: AsyncSession, team_id: str, draft_id: int) -> Draft:
        draft = await queries.get_draft(session, team_id, draft_id)
        if draft is None:  # a button from another workspace, or a forged id: nothing to do
            raise UnknownDraft(draft_id)
        return draft

    async def advance(
        self, session: AsyncSession, draft: Draft, expected: DraftStatus, new: DraftStatus, **values: object
    ) -> bool:
        """Move the draft on, unless someone else moved it between our read and this write."""
        if not await move_draft(session, draft, expected, new, **values):
            return False
        await session.refresh(draft)
        return True

    def refuse(
        self, session: AsyncSession, draft: Draft, user: str, action: str, refusal: Refusal
    ) -> Refusal:
        record_for(
            session,
            draft,
            AuditKind.ACTION_REFUSED,
            user,
            action=action,
            code=refusal.code,
            reason=refusal.reason,
        )
        return refusal

    async def enqueue(self, session: AsyncSession, draft: Draft, kind: JobKind, **payload: object) -> None:
        await enqueue(session, draft, kind, max_attempts=self.max_attempts, **payload)

    async def regenerate(
        self,
        session: AsyncSession,
        draft: Draft,
        source: Variant,
        tier: Tier,
        *,
        feedback: str | None = None,
        shape: Destination | None = None,
    ) -> Variant:
        """Ask for ``source`` again at ``tier`` (same number and seed, the source as its reference), as the
        next version of that tier's image of the variant: a review made with ``feedback`` (Request changes),
        or a final in another ``shape`` (Also as…)."""
        version = await queries.next_version(session, draft.id, tier, source.number)
        image = Variant(
            team_id=draft.team_id,
            draft_id=draft.id,
            tier=tier,
            number=source.number,
            version=version,
            seed=source.seed,
            status=VariantState.PENDING,
            source_variant_id=source.id,
            round=source.round,
            prompt=source.prompt,
            feedback=feedback,
            ratio=str(shape.ratio) if shape else None,
            destination_key=shape.key if shape else None,
            destination_name=shape.name if shape else None,
        )
        session.add(image)
        await session.flush()
        await self.enqueue(
            session, draft, JobKind.GENERATE, tier=str(tier), number=source.number, version=version
        )
        await self.enqueue(session, draft, JobKind.REFRESH)
        return image

    async def tell(self, team_id: str, draft_id: int, user: str, text: str) -> None:
        """A private word to someone whose action had no response URL to answer on (a reaction)."""
        async with self.sessions() as session:
            draft = await self.draft(session, team_id, draft_id)
            card = await draft_card(session, draft)
        try:
            await self.publisher.tell_user(card, user, text)
        except Exception:  # telling is a courtesy; the refusal is already audited
            log.warning("could not tell %s why their reaction did nothing", user, exc_info=True)
