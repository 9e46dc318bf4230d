"""Every Block Kit builder's output passes slack_sdk's own models, for every draft status and the hardest
inputs a person can give: the longest prompts, Slack markup, emoji, markdown, the most variants."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from bot import blocks, modals
from bot.command import MAX_PROMPT_CHARS, MAX_VARIANTS, MIN_VARIANTS, help_text, usage_text
from bot.faces import Face, Offer, face_of
from bot.publisher import DraftCard, ImageCard, MessageRef, ThreadMessage
from bot.tiers import Size, Tier
from bot.workflow import DraftStatus, VariantState
from tests.block_kit import message_problems, view_problems

HOSTILE = (
    '<!channel> <!here|here> <@U999> <#C123|general> <https://evil.example|click> & "quoted copy" '
    ":tada: 🎉👩🏽‍🎨 *bold* _italic_ ~strike~ `code` ```fence``` > quote\n\n• bullet\n"
)
PROMPTS = {
    "short": "a fox",
    "hostile": HOSTILE,
    "the longest allowed": (HOSTILE * 100)[:MAX_PROMPT_CHARS],
    "5,000 characters": (HOSTILE * 100)[:5000],
    "one long word": "x" * 5000,
    "only markup": "<>" * 2500,
    "blank lines": "\n\n\n" * 1000 + "a",
}


def card(status: DraftStatus, prompt: str, **changes: object) -> DraftCard:
    base = DraftCard(
        draft_id=2_147_483_647,
        team_id="T0PLAYGRND",
        channel_id="C0GENERAL",
        requester="U0ALICE",
        prompt=prompt,
        destination="mobile cover <!channel> & *friends*",
        ratio="9:16",
        status=status,
        n_variants=MAX_VARIANTS,
        ready=MAX_VARIANTS - 2,
        failed=1,
        refused=1,
        tally={n: n * 1000 for n in range(1, MAX_VARIANTS + 1)},
        votes={f"U{i:08d}": 1 + i % MAX_VARIANTS for i in range(36_000)},
        winner=MAX_VARIANTS,
        upgraded_by="U0BOB",
        winner_picked=True,
        decided_by="U0DAVE",
        tie_asked=True,
        messages=tuple(posted(n) for n in range(1, MAX_VARIANTS + 1)),
        hints=("The prompt asks for 40 words of copy; " * 3, "Small text rarely comes out legible. " * 3),
        failure_reason=f"<!channel> the provider said: {'no ' * 2000}",
        parent=MessageRef("C0GENERAL", "1700000000.000100"),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def cards() -> Iterator[tuple[str, DraftCard]]:
    for status in DraftStatus:
        for name, prompt in PROMPTS.items():
            yield f"{status}/{name}", card(status, prompt)
        yield f"{status}/empty", card(status, "", tally={}, winner=None, hints=(), failure_reason=None)


def posted(number: int) -> ThreadMessage:
    return ThreadMessage(
        number, Tier.EXPLORE, number, VariantState.POSTED, image(Tier.EXPLORE, number=number), ref=None
    )


def image(tier: Tier, **changes: object) -> ImageCard:
    base = ImageCard(
        draft_id=2_147_483_647,
        number=MAX_VARIANTS,
        tier=tier,
        size=Size(4096, 4096),
        bytes=50 * 1024 * 1024,
        content_type="image/png",
        filename="draft-1-v8-4K.png",
        seed=2**63 - 1,
        provider="<!channel> provider",
        model="model *with* `markup`" * 20,
        notes=("<!here> the provider rewrote the prompt: " + "x" * 4000,),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "draft"), list(cards()), ids=[name for name, _ in cards()])
def test_the_parent_message_is_valid(name: str, draft: DraftCard) -> None:
    for emoji in ("+1", "white_check_mark"):
        payload = {"text": blocks.parent_text(draft), "blocks": blocks.parent_blocks(draft, vote_emoji=emoji)}
        assert message_problems(payload) == []


def test_only_a_failed_draft_offers_retry_and_only_voting_offers_the_upgrade() -> None:
    """The kinds the collection test looks for exist (a test over the wire would otherwise pass vacuously)."""
    for status in DraftStatus:
        tied = {n: 5 for n in range(1, MAX_VARIANTS + 1)}  # every variant tied: the most tie buttons
        sent = str(blocks.parent_blocks(card(status, "a fox", tally=tied)))
        assert (blocks.RETRY in sent) is (status is DraftStatus.FAILED), status
        assert (blocks.UPGRADE in sent) is (status is DraftStatus.VOTING), status
        assert (blocks.CHOOSE_TIED in sent) is (status is DraftStatus.VOTING), status
        payload = {
            "text": blocks.parent_text(card(status, "a fox")),
            "blocks": blocks.parent_blocks(card(status, "a fox", tally=tied)),
        }
        assert message_problems(payload) == []


@pytest.mark.parametrize("tier", list(Tier))
@pytest.mark.parametrize("prompt", list(PROMPTS.values()), ids=list(PROMPTS))
def test_image_messages_are_valid(tier: Tier, prompt: str) -> None:
    for status in DraftStatus:
        draft = card(status, prompt)
        for each in (image(tier), image(tier, number=1, notes=(), bytes=1)):
            message = ThreadMessage(1, tier, each.number, VariantState.POSTED, each)
            face = face_of(draft, message)
            payload = {
                "text": f"{blocks.image_title(each)} ({each.tier}, {each.size})",
                "blocks": blocks.image_blocks(
                    draft, each, "F0123456789", face, approve_emoji="white_check_mark"
                ),
                "metadata": blocks.image_metadata(each),
            }
            assert message_problems(payload) == []


@pytest.mark.parametrize("offer", list(Offer))
def test_every_face_renders_valid_messages(offer: Offer) -> None:
    draft = card(DraftStatus.VOTING, HOSTILE)
    face = Face(offer, "U0DAVE", 3)
    for tier in Tier:
        lost = ThreadMessage(1, tier, MAX_VARIANTS, VariantState.FAILED, None, reason=HOSTILE * 40)
        payload = {
            "text": blocks.loss_text(lost, face),
            "blocks": blocks.loss_blocks(draft, lost, face),
            "metadata": blocks.loss_metadata(lost, draft.draft_id),
        }
        assert message_problems(payload) == []
        shown = image(tier)
        payload = {"text": "image", "blocks": blocks.image_blocks(draft, shown, "F0123456789", face)}
        assert message_problems(payload) == []


@pytest.mark.parametrize("votes", [0, 1, 10_000])
def test_the_tie_notice_is_valid(votes: int) -> None:
    draft = card(DraftStatus.VOTING, HOSTILE)
    for tied in ((1, 2), tuple(range(1, MAX_VARIANTS + 1))):
        assert message_problems({"text": blocks.tie_text(draft, tied, votes)}) == []


@pytest.mark.parametrize(
    "text",
    [
        help_text(),
        usage_text(),
        "x" * 40_000,  # one paragraph as long as a message's text may be
        "\n\n".join(["y" * 2999, "z"] * 13),  # paragraphs that never fit two to a section
    ],
    ids=["help", "usage", "one paragraph", "ragged paragraphs"],
)
def test_long_text_as_sections_is_valid(text: str) -> None:
    assert message_problems({"text": "How to use /draft", "blocks": blocks.text_blocks(text)}) == []


@pytest.mark.parametrize("default_variants", range(MIN_VARIANTS, MAX_VARIANTS + 1))
def test_the_draft_modal_is_valid(default_variants: int) -> None:
    view = modals.draft_modal("C" + "0" * 20, default_variants=default_variants)
    assert view_problems(view) == []


def test_the_checker_can_fail() -> None:
    """What these tests rely on: slack_sdk's models (and our message limits) do refuse bad payloads."""
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    assert message_problems({"text": "x", "blocks": [section]})
    assert message_problems({"text": "x", "blocks": [{"type": "divider"}] * 51})
    assert message_problems({"blocks": [{"type": "divider"}]})  # no text fallback
    assert message_problems({"text": "x" * 40_001})
    assert message_problems({"text": "x", "blocks": [{"type": "image", "alt_txt": "typo", "image_url": "u"}]})
    assert message_problems({"text": "x", "blocks": [{"type": "divider", "colour": "red"}]})
    assert view_problems({**modals.draft_modal("C1"), "title": {"type": "plain_text", "text": "x" * 25}})
