"""Where an image comes from: the image it is made from, the 1K variant it descends from, and the change
requests it answers (read once for the job at hand)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.tiers import Tier
from storage.models import Variant


@dataclass(frozen=True)
class Lineage:
    source: Variant | None  # the image it is made from (its reference), if any
    winner: Variant | None = None  # a 2K or 4K: the 1K variant it descends from
    origin: Variant | None = None  # that 1K's own source, when it was made from an image
    feedback: tuple[str, ...] = ()  # the change requests it answers, oldest first (its own last)
    revises: bool = False  # a review version made from the one before it, with its own change request

    @property
    def compared_with(self) -> Variant | None:
        """What its side-by-side shows it beside: a review version the one it revises, else its 1K."""
        if self.source is not None and self.source.tier == Tier.REVIEW and self.revises:
            return self.source  # not a 4K: it inherits its versions' feedback, yet compares with its 1K
        return self.winner


async def lineage_of(session: AsyncSession, variant: Variant) -> Lineage:
    source = await made_from(session, variant)
    if variant.tier == Tier.EXPLORE:
        return Lineage(source)
    feedback = [variant.feedback] if variant.feedback else []
    winner, seen = source, {variant.id}
    while winner is not None and winner.tier != Tier.EXPLORE and winner.id not in seen:
        seen.add(winner.id)
        if winner.feedback:  # the change requests of the versions it revises
            feedback.insert(0, winner.feedback)
        winner = await made_from(session, winner)
    if winner is not None and winner.tier != Tier.EXPLORE:
        winner = None
    origin = await made_from(session, winner) if winner is not None else None
    return Lineage(source, winner, origin, tuple(feedback), revises=bool(variant.feedback))


async def made_from(session: AsyncSession, variant: Variant) -> Variant | None:
    return await session.get(Variant, variant.source_variant_id) if variant.source_variant_id else None
