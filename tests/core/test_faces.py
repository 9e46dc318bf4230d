"""The no-stale-controls rule, pure: what each thread message offers in each state of its draft."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot import blocks
from bot.faces import Face, Offer, face_of
from bot.publisher import DraftCard, ImageCard, MessageRef, ThreadMessage
from bot.tiers import Size, Tier
from bot.workflow import DraftStatus as S
from bot.workflow import VariantState as V

CARD = DraftCard(1, "T1", "C1", "UREQ", "a fox", "Feed post", "1:1", S.VOTING, n_variants=4, ready=3)


def image(tier: Tier, number: int = 2) -> ThreadMessage:
    card = ImageCard(1, number, tier, Size(1024, 1024), 1000, "image/jpeg", "f.jpg", 7, "local", "m")
    return ThreadMessage(number, tier, number, V.POSTED, card, ref=MessageRef("C1", "1.2", "F1"))


def notice(state: V, tier: Tier = Tier.EXPLORE) -> ThreadMessage:
    return ThreadMessage(3, tier, 3, state, None, reason="Variant 3 could not be made: down")


def buttons(rendered: list[blocks.Block]) -> list[str]:
    return [e["action_id"] for b in rendered if b["type"] == "actions" for e in b["elements"]]


@pytest.mark.parametrize(
    ("status", "offer"),
    [
        (S.GENERATING, Offer.VOTE),
        (S.VOTING, Offer.VOTE),
        (S.REVIEWING, Offer.PICKED),
        (S.FINAL, Offer.PICKED),
        (S.CANCELLED, Offer.VOTING_OVER),
    ],
)
def test_a_variant_invites_votes_only_while_they_count(status: S, offer: Offer) -> None:
    winner = None if status in (S.GENERATING, S.VOTING, S.CANCELLED) else 2
    assert face_of(replace(CARD, status=status, winner=winner), image(Tier.EXPLORE)).offer is offer
    assert face_of(replace(CARD, status=S.REVIEWING, winner=3), image(Tier.EXPLORE)) == Face(
        Offer.NOT_PICKED, None, 3
    )


def test_the_review_offers_approve_changes_and_reject_only_while_in_review() -> None:
    review = image(Tier.REVIEW)
    reviewed = replace(CARD, review_id=review.variant_id, review_version=1)
    open_face = face_of(replace(reviewed, status=S.REVIEWING), review)
    assert buttons(blocks.image_blocks(CARD, review.image, "F1", open_face)) == [
        blocks.APPROVE,
        blocks.REQUEST_CHANGES,
        blocks.REJECT,
    ]  # type: ignore[arg-type]
    for status, offer, words in [
        (S.APPROVED, Offer.APPROVED, "Approved by <@UKIM>: the 4K final is being made."),
        (S.FINAL, Offer.FINAL_BELOW, "Approved by <@UKIM>: the 4K final is below."),
        (S.FAILED, Offer.FINAL_FAILED, "the 4K final could not be made"),
        (S.REJECTED, Offer.REJECTED, "Rejected by <@UKIM>."),
    ]:
        card = replace(reviewed, status=status, decided_by="UKIM")
        face = face_of(card, review)
        assert face == Face(offer, "UKIM")
        rendered = blocks.image_blocks(card, review.image, "F1", face)  # type: ignore[arg-type]
        assert buttons(rendered) == [] and words in str(rendered)


def test_a_face_key_changes_exactly_when_what_it_shows_does() -> None:
    assert Face(Offer.APPROVED, "U1").key != Face(Offer.FINAL_BELOW, "U1").key
    assert Face(Offer.APPROVED, "U1").key != Face(Offer.APPROVED, "U2").key
    assert Face(Offer.VOTE).key == Face(Offer.VOTE).key


@pytest.mark.parametrize(
    ("status", "state", "tier", "offer", "controls"),
    [
        (S.VOTING, V.FAILED, Tier.EXPLORE, Offer.RETRY_IMAGE, [blocks.RETRY]),
        (S.GENERATING, V.FAILED, Tier.EXPLORE, Offer.RETRY_IMAGE, [blocks.RETRY]),
        (S.VOTING, V.REFUSED, Tier.EXPLORE, Offer.LOST, []),
        (S.REVIEWING, V.FAILED, Tier.EXPLORE, Offer.LOST, []),
        (S.VOTING, V.PENDING, Tier.EXPLORE, Offer.RETRYING, []),
        (S.VOTING, V.POSTED, Tier.EXPLORE, Offer.RECOVERED, []),
        (S.FAILED, V.FAILED, Tier.REVIEW, Offer.RETRY_DRAFT, [blocks.RETRY]),
        (S.REVIEWING, V.PENDING, Tier.REVIEW, Offer.RETRYING, []),
    ],
)
def test_a_lost_image_offers_retry_only_where_it_can_work(
    status: S, state: V, tier: Tier, offer: Offer, controls: list[str]
) -> None:
    card = replace(CARD, status=status)
    message = notice(state, tier)
    face = face_of(card, message)
    assert face.offer is offer
    assert buttons(blocks.loss_blocks(card, message, face)) == controls


def test_one_failed_variant_retries_alone_and_a_failed_draft_retries_whole() -> None:
    alone = blocks.loss_blocks(CARD, notice(V.FAILED), Face(Offer.RETRY_IMAGE))
    whole = blocks.loss_blocks(CARD, notice(V.FAILED), Face(Offer.RETRY_DRAFT))
    values = [
        [e["value"] for b in r if b["type"] == "actions" for e in b["elements"]] for r in (alone, whole)
    ]
    assert values == [["1:3"], ["1"]]


def test_progress_is_exact() -> None:
    card = replace(CARD, n_variants=8, ready=6, failed=1, refused=1)
    assert card.progress == "6/8 ready · 1 failed (Retry in the thread) · 1 refused"
    assert replace(card, status=S.REVIEWING).progress == "6/8 ready · 1 failed · 1 refused"
    assert replace(CARD, ready=4).progress == "4/4 ready"


def test_the_parent_offers_the_tie_to_the_requester_while_it_lasts() -> None:
    posted = tuple(image(Tier.EXPLORE, n) for n in (1, 2, 3))
    card = replace(CARD, tie_asked=True, messages=posted, tally={1: 1, 2: 1, 3: 0, 4: 0})
    assert blocks.offered_tie(card) == (1, 2)
    explore = [blocks.UPGRADE, blocks.NEW_ROUND, blocks.EDIT_PROMPT, blocks.CANCEL]
    assert buttons(blocks.parent_blocks(card)) == [blocks.CHOOSE_TIED] * 2 + explore
    broken = replace(card, tally={1: 2, 2: 1, 3: 0, 4: 0})
    assert blocks.offered_tie(broken) == () and buttons(blocks.parent_blocks(broken)) == explore
    assert buttons(blocks.parent_blocks(replace(card, status=S.REVIEWING, winner=1))) == []


def test_the_parent_names_the_voters_up_to_five_then_counts() -> None:
    votes = {f"U{i}": 1 for i in range(7)} | {"UX": 2}
    card = replace(CARD, votes=votes, tally={1: 7, 2: 1, 3: 0, 4: 0})
    summary = blocks.vote_summary(card)
    assert summary.splitlines() == [
        "*Votes:* variant 1 leads with 7 votes.",
        "• #1: 7 · <@U0>, <@U1>, <@U2>, <@U3>, <@U4>, 2 more",
        "• #2: 1 · <@UX>",
    ]
    assert blocks.vote_summary(replace(CARD, tally={1: 0})) == "*Votes:* none yet."


def test_a_notice_retried_before_a_cancel_says_nothing_is_coming() -> None:
    for state in (V.PENDING, V.GENERATED):
        assert face_of(replace(CARD, status=S.CANCELLED), notice(state)).offer is Offer.LOST
        assert face_of(replace(CARD, status=S.VOTING), notice(state)).offer is Offer.RETRYING


def test_a_tie_of_every_variant_offers_each_of_them_within_slacks_limits() -> None:
    posted = tuple(image(Tier.EXPLORE, n) for n in range(1, 33))
    card = replace(CARD, n_variants=32, tie_asked=True, messages=posted, tally={n: 0 for n in range(1, 33)})
    rendered = blocks.parent_blocks(card)
    assert buttons(rendered).count(blocks.CHOOSE_TIED) == 32
    assert all(len(b["elements"]) <= 25 for b in rendered if b["type"] == "actions")


def test_a_long_vote_summary_keeps_whole_lines_and_says_what_is_left() -> None:
    votes = {f"U{i:08d}": 1 + i % 32 for i in range(400)}
    tally = {n: sum(1 for v in votes.values() if v == n) for n in range(1, 33)}
    summary = blocks.vote_summary(replace(CARD, n_variants=32, votes=votes, tally=tally))
    assert len(summary) <= 3000
    last = summary.splitlines()[-1]
    assert last.startswith("…and ") and "more variants with" in last
    assert all(line.startswith(("*Votes:*", "• #", "…and")) for line in summary.splitlines())


def test_compare_below_points_at_a_side_by_side_that_shows_the_1k() -> None:
    """A drifted 4K is shown beside its 1K; a drifted v2 beside v1, so its drift line can't say compare."""
    drifted = {"drift": 0.4, "drifted": True, "compare_file": "F9"}
    final = replace(image(Tier.FINAL).image, compare_label="1K #2 beside the 4K", **drifted)  # type: ignore[arg-type]
    v2 = replace(
        image(Tier.REVIEW).image,  # type: ignore[arg-type]
        version=2,
        feedback="warmer",
        compare_label="v1 beside v2",
        **drifted,
    )

    def words(card: ImageCard) -> str:
        return str(blocks.image_blocks(CARD, card, "F1", Face(Offer.REVIEW_OVER)))

    assert "drifted from #2: 40% — compare below" in words(final)
    assert "drifted from #2: 40% (the changes asked for count too)." in words(v2)
    assert "compare below" not in words(v2)
