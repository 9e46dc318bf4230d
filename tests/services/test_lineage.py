"""What an image's side-by-side shows it beside: a revised review version the one it revises, anything
else (a 4K made from a revised version included) the 1K it descends from, as its caption says."""

from __future__ import annotations

from bot.generation.lineage import Lineage
from bot.tiers import Tier
from storage.models import Variant


def _variant(tier: Tier, number: int, version: int = 1, feedback: str | None = None) -> Variant:
    return Variant(tier=tier, number=number, version=version, feedback=feedback)


def test_a_review_version_is_compared_with_the_one_it_revises() -> None:
    winner, v1 = _variant(Tier.EXPLORE, 1), _variant(Tier.REVIEW, 1)
    v2 = Lineage(v1, winner, feedback=("warmer",), revises=True)
    assert v2.compared_with is v1


def test_a_4k_made_from_a_revised_version_is_compared_with_its_1k() -> None:
    winner, v2 = _variant(Tier.EXPLORE, 1), _variant(Tier.REVIEW, 1, 2, "warmer")
    final = Lineage(v2, winner, feedback=("warmer",))  # it answers v2's feedback, but revises nothing
    assert final.compared_with is winner
