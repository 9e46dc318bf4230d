from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.destinations import CATALOG, lookup, suggest
from bot.errors import UserInputError
from bot.tiers import Ratio, Size, Tier, exact_size, local_size


def test_catalog_is_rich_and_consistent() -> None:
    assert len(CATALOG) >= 14
    assert len({d.key for d in CATALOG}) == len(CATALOG)
    for dest in CATALOG:
        assert dest.why and lookup(dest.name) is dest
        for synonym in dest.synonyms:
            assert lookup(synonym) is dest


@pytest.mark.parametrize(
    ("name", "ratio"),
    [
        ("mobile cover", "9:16"),
        ("story", "9:16"),
        ("wide website hero", "16:9"),
        ("banner", "16:9"),
        ("presentation slide", "16:9"),
        ("square product card", "1:1"),
        ("feed post", "1:1"),
        ("portrait", "4:5"),
        ("editorial", "3:4"),
        ("product board", "4:3"),
        ("poster", "2:3"),
        ("ultrawide", "21:9"),
    ],
)
def test_design_ratios(name: str, ratio: str) -> None:
    found = lookup(name)
    assert found is not None and str(found.ratio) == ratio


def test_suggestions_are_catalog_names() -> None:
    names = {d.name for d in CATALOG}
    assert set(suggest("mobile hero")) <= names
    assert "poster" in suggest("postr")
    assert suggest("zzzzqqq") == ()


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        ("mobil cover", ("mobile cover",)),
        ("movile cover", ("mobile cover",)),
        ("bannr", ("banner",)),
        ("potser", ("poster",)),
        ("insta post", ("feed post",)),
        ("wallpapper", ("desktop wallpaper",)),
        ("web hero", ("wide website hero",)),
    ],
)
def test_suggestions_are_only_the_close_names(asked: str, expected: tuple[str, ...]) -> None:
    assert suggest(asked) == expected


def test_a_vague_word_offers_names_that_have_it() -> None:
    by_name = {d.name: d for d in CATALOG}
    offered = suggest("cover")
    assert offered and all(any("cover" in n for n in by_name[o].names) for o in offered)


def test_ratio_reduces_and_parses() -> None:
    assert Ratio(32, 18) == Ratio(16, 9)
    assert Ratio.parse("1920x1080") == Ratio(16, 9)
    assert str(Ratio.parse(" 4 : 5 ")) == "4:5"
    with pytest.raises(UserInputError):
        Ratio.parse("wide")


@pytest.mark.parametrize(
    ("ratio", "tier", "size"),
    [
        ("16:9", Tier.EXPLORE, Size(1024, 576)),
        ("9:16", Tier.EXPLORE, Size(576, 1024)),
        ("1:1", Tier.REVIEW, Size(2048, 2048)),
        ("16:9", Tier.FINAL, Size(4096, 2304)),
        ("21:9", Tier.EXPLORE, Size(1008, 432)),
        ("3:4", Tier.EXPLORE, Size(768, 1024)),
    ],
)
def test_local_sizes(ratio: str, tier: Tier, size: Size) -> None:
    assert local_size(Ratio.parse(ratio), tier) == size


@given(st.integers(1, 60), st.integers(1, 60), st.sampled_from(list(Tier)))
def test_exact_size_rules(w: int, h: int, tier: Tier) -> None:
    ratio = Ratio(w, h)
    if not 1 / 3 <= ratio.value <= 3:
        return
    size = local_size(ratio, tier)
    assert size.width % 16 == 0 and size.height % 16 == 0
    assert abs((size.width / size.height) / ratio.value - 1) <= 0.01
    assert tier.long_edge * 0.9 <= max(size.width, size.height) <= tier.long_edge


def test_exact_size_other_steps() -> None:
    size = exact_size(Ratio(16, 9), 1344, step=8)
    assert size.width % 8 == 0 and abs(size.width / size.height / (16 / 9) - 1) <= 0.01


def test_tier_ceilings() -> None:
    assert [t.jpeg_ceiling_bytes for t in Tier] == [400_000, 1_200_000, 5_000_000]
