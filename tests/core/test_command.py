"""The `/draft` grammar: what it accepts, what it refuses, and that it refuses nicely."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.command import (
    EXAMPLE,
    MAX_PROMPT_CHARS,
    DraftRequest,
    HelpRequest,
    help_text,
    parse,
    prompt_hints,
    too_long_reason,
)
from bot.destinations import CATALOG, ImageFormat
from bot.errors import UnknownDestinationError, UserInputError
from bot.tiers import Ratio


def draft(text: str) -> DraftRequest:
    result = parse(text)
    assert isinstance(result, DraftRequest)
    return result


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP", "--help", "?"])
def test_help(text: str) -> None:
    assert isinstance(parse(text), HelpRequest)


def test_prompt_for_destination() -> None:
    req = draft("a matte black water bottle, dramatic side light, empty title area for mobile cover")
    assert req.prompt == "a matte black water bottle, dramatic side light, empty title area"
    assert req.destination is not None and req.destination.key == "mobile-cover"
    assert req.ratio == Ratio(9, 16)
    assert req.n_variants == 4 and req.seed is None
    assert req.format is ImageFormat.JPEG


def test_last_for_names_the_destination() -> None:
    req = draft("a gift for my mother for presentation slide")
    assert req.prompt == "a gift for my mother"
    assert req.ratio == Ratio(16, 9)


def test_destination_colon_prompt() -> None:
    req = draft("Poster: a jazz night in a rainy city")
    assert req.prompt == "a jazz night in a rainy city"
    assert req.destination is not None and req.destination.name == "poster"
    assert req.ratio == Ratio(2, 3)


def test_colon_inside_prompt_is_prose_when_not_a_destination() -> None:
    req = draft("style: noir, a detective in rain for wide website hero")
    assert req.prompt == "style: noir, a detective in rain"
    assert req.ratio == Ratio(16, 9)


@pytest.mark.parametrize(
    ("text", "ratio"),
    [
        ("x for story", "9:16"),
        ("x for Wide Website Hero", "16:9"),
        ("x for a presentation slide", "16:9"),
        ("x for the square product card.", "1:1"),
        ("x for feed post", "1:1"),
        ("x for editorial", "3:4"),
        ("x for product board", "4:3"),
        ("x for ultrawide", "21:9"),
        ("x for slides", "16:9"),
    ],
)
def test_catalog_names_and_synonyms(text: str, ratio: str) -> None:
    assert str(draft(text).ratio) == ratio


def test_options_anywhere_both_spellings() -> None:
    req = draft("--n 6 a red kite --seed=42 for feed post --ratio 4:5")
    assert (req.n_variants, req.seed, req.ratio) == (6, 42, Ratio(4, 5))
    assert req.prompt == "a red kite"
    assert req.destination is not None and req.destination.key == "feed-post"


def test_ratio_alone_is_enough_and_for_stays_prose() -> None:
    req = draft("a cake for kids --ratio 1:1")
    assert req.destination is None and req.prompt == "a cake for kids"
    assert req.destination_name == "custom 1:1"


def test_unknown_destination_names_the_closest() -> None:
    with pytest.raises(UnknownDestinationError) as err:
        parse("a bottle for mobil cover")
    assert err.value.suggestions == ("mobile cover",)  # not the banner nor the editorial ("cover" words)
    assert "mobile cover" in str(err.value)


def test_unknown_destination_with_shared_word() -> None:
    with pytest.raises(UnknownDestinationError) as err:
        parse("a bottle for website banner")
    assert set(err.value.suggestions) & {"wide website hero", "banner"}


def test_missing_destination_explains_the_grammar() -> None:
    with pytest.raises(UserInputError, match="for <destination>"):
        parse("a lonely red bicycle")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("x for story --n 0", "between 1 and 8"),
        ("x for story --n 9", "between 1 and 8"),
        ("x for story --n four", "whole number"),
        ("x for story --ratio 16-9", "not an aspect ratio"),
        ("x for story --ratio 10:1", "too extreme"),
        ("x for story --ratio 0:1", "not an aspect ratio"),
        ("x for story --seed -1", "whole number"),
        ("x for story --size 2K", "don't know the option"),
        ("x for story --n", "needs a value"),
        ("x for story --n 2 --n 3", "twice"),
        (" for story", "empty"),
        ("story: ", "Where will"),
        ("... for story", "empty"),
    ],
)
def test_bad_input_gets_a_clear_message(text: str, needle: str) -> None:
    with pytest.raises(UserInputError, match=needle):
        parse(text)


def test_prompt_length_limit() -> None:
    assert draft("a" * MAX_PROMPT_CHARS + " for story").prompt
    with pytest.raises(UserInputError, match="limit is 4,000"):
        parse("a" * (MAX_PROMPT_CHARS + 1) + " for story")


@pytest.mark.parametrize(
    "text",
    [
        "a" * 5000 + " for banner",
        "banner: " + "a" * 5000,
        "a" * 5000 + " for mobile cover --n 6 --seed 42",
        "a" * 5000,  # no destination: all of it is prompt
    ],
)
def test_too_long_counts_the_prompt_alone(text: str) -> None:
    expected = "The prompt is 5,000 characters; the limit is 4,000."
    assert too_long_reason(text).startswith(expected)
    with pytest.raises(UserInputError, match=expected):
        parse(text if "for" in text or ":" in text else text + " for banner")


def test_too_long_keeps_a_for_that_is_prose() -> None:
    text = "a gift " + "a" * 4993 + " for my mother"  # "my mother" is no destination: it is prompt
    assert too_long_reason(text).startswith("The prompt is 5,014 characters")


def test_dashes_in_prose_are_not_options() -> None:
    assert draft("a sign -- hand painted for poster").prompt == "a sign -- hand painted"


def test_transparency_asks_for_png() -> None:
    assert draft("a fox mascot, transparent background for feed post").format is ImageFormat.PNG
    assert draft("a fox mascot for sticker").format is ImageFormat.PNG


def test_hints_for_long_copy_and_small_text() -> None:
    long_copy = 'a poster that says "Join us this Saturday for the biggest summer sale of the year"'
    assert any("headline-safe" in h for h in prompt_hints(long_copy))
    assert prompt_hints("a menu with small text and prices")
    assert prompt_hints('a bottle with the word "HYDRATE"') == ()
    assert draft(long_copy + " for poster").hints


def test_help_lists_every_destination() -> None:
    text = help_text()
    for dest in CATALOG:
        assert dest.name in text and str(dest.ratio) in text


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_or_raises_our_error(text: str) -> None:
    try:
        result = parse(text)
    except UserInputError as err:
        assert str(err)
        return
    assert isinstance(result, HelpRequest | DraftRequest)
    if isinstance(result, DraftRequest):
        assert 0 < len(result.prompt) <= MAX_PROMPT_CHARS
        assert 1 <= result.n_variants <= 8
        assert 1 / 3 <= result.ratio.value <= 3


_words = st.sampled_from(["for", "story", "poster", "--n", "--ratio", "--seed", "4:5", "3", ":", "a", "x"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_words, st.text(max_size=8)), max_size=12).map(" ".join))
def test_grammar_shaped_text_parses_or_raises_our_error(text: str) -> None:
    test_any_text_parses_or_raises_our_error.hypothesis.inner_test(text)  # type: ignore[attr-defined]


def test_one_example_everywhere() -> None:
    """The README, the playground's banner (built from EXAMPLE) and its page suggest the same /draft."""
    request = draft(EXAMPLE)
    assert request.destination is not None and request.destination.name == "mobile cover"
    root = Path(__file__).resolve().parents[2]
    static = root / "fakes" / "slack" / "static"
    for path in (root / "README.md", static / "index.html", static / "playground.js"):
        text = path.read_text(encoding="utf-8")
        suggested = set(re.findall(r"/draft ([a-z][^`<\"]*? for [a-z ]+?)(?=[`<\"])", text))
        assert suggested == {EXAMPLE}, f"{path.name} suggests {suggested}"
    assert "/draft {EXAMPLE}" in (root / "bot" / "playground" / "run.py").read_text(encoding="utf-8")


def test_vote_option_sets_the_voting_window() -> None:
    req = draft("a red bicycle at dawn for poster --vote 2h")
    assert req.vote_window == timedelta(hours=2) and not req.no_vote_deadline
    assert req.vote_window_or(timedelta(days=1)) == timedelta(hours=2)
    assert draft("x for poster --vote=1h30m").vote_window == timedelta(minutes=90)
    plain = draft("x for poster")
    assert plain.vote_window is None and plain.vote_window_or(timedelta(days=1)) == timedelta(days=1)


def test_vote_off_means_no_deadline_even_with_a_default() -> None:
    req = draft("x for poster --vote off")
    assert req.no_vote_deadline and req.vote_window_or(timedelta(days=1)) is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("x for poster --vote 2x", "`--vote 2x` is not a duration"),
        ("x for poster --vote soon", "`--vote soon` is not a duration"),
        ("x for poster --vote 31d", "at most 30 days"),
        ("x for poster --vote", "`--vote` needs a value, e.g. `--vote 2h`"),
        ("x for poster --vote 1h --vote 2h", "given twice"),
    ],
)
def test_bad_vote_values_get_a_clear_message(text: str, needle: str) -> None:
    with pytest.raises(UserInputError) as err:
        parse(text)
    assert needle in err.value.message


def test_help_names_the_vote_option() -> None:
    assert "--vote 2h" in help_text()
