"""What a decision reads about a draft's images: which 1K variants an upgrade may take, what a winner was
made from, and whether a final in another shape is made already."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.destinations import Destination
from bot.tiers import Tier
from bot.workflow import REJECTED, Refusal, VariantState
from storage import queries
from storage.models import Draft, Variant


async def source_chain(session: AsyncSession, variant: Variant) -> list[str]:
    """The winner and what it was made from, back to a first-round variant ("1K #6", "1K #2")."""
    chain, seen = [], set()
    current: Variant | None = variant
    while current is not None and current.id not in seen:
        seen.add(current.id)
        chain.append(f"{current.tier} #{current.number}")
        current = await session.get(Variant, current.source_variant_id) if current.source_variant_id else None
    return chain


async def eligible_numbers(session: AsyncSession, draft: Draft) -> list[int]:
    """The 1K variants an upgrade may take: those in the thread, but for any whose review was rejected."""
    images = await queries.variants_of(session, draft.team_id, draft.id)
    rejected = {v.number for v in images if v.tier == Tier.REVIEW and v.outcome == REJECTED}
    return [
        v.number
        for v in images
        if v.tier == Tier.EXPLORE and v.status == VariantState.POSTED and v.number not in rejected
    ]


def shape_refusal(draft: Draft, finals: list[Variant], shape: Destination) -> Refusal | None:
    """Refused when the final is in that shape already, or it is on its way."""
    ratio = str(shape.ratio)
    if ratio == draft.ratio:
        return Refusal(f"The final is {ratio} already; it is in the thread.", "shape_made")
    for made in finals:
        if made.ratio == ratio and made.status not in (VariantState.FAILED, VariantState.REFUSED):
            where = "in the thread" if made.status == VariantState.POSTED else "on its way"
            return Refusal(
                f"The final as {ratio} ({made.destination_name}) is {where} already.", "shape_made"
            )
    return None
