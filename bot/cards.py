"""Snapshots of a draft for publishers, read from the database in one place."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import SYSTEM
from bot.publisher import DraftCard, ImageCard, MessageRef, RoundCard, ThreadMessage
from bot.tiers import Size, Tier
from bot.workflow import DraftStatus, DraftView, Policy, VariantState, tally
from storage import queries
from storage.models import Draft, Variant


def draft_view(draft: Draft, *, review_ready: bool = False) -> DraftView:
    return DraftView(
        status=DraftStatus(draft.status),
        requester=draft.requester_id,
        n_variants=draft.n_variants,
        winner=draft.winner_index,
        review_ready=review_ready,
    )


async def draft_card(session: AsyncSession, draft: Draft, *, policy: Policy | None = None) -> DraftCard:
    """The draft as publishers show it. With ``policy``, whether another round still fits (its limits);
    without, the card is for words only and offers rounds as if it did."""
    images = await queries.variants_of(session, draft.team_id, draft.id)
    explore = [v for v in images if v.tier == Tier.EXPLORE]
    votes = await queries.votes_of(session, draft.team_id, draft.id)
    rounds = tuple(
        RoundCard(
            r.number,
            r.reason,
            r.prompt,
            r.started_by,
            r.first_number,
            r.size,
            r.source_number,
            r.sheet_file,
            tuple(r.sheet_numbers or ()),
        )
        for r in await queries.rounds_of(session, draft.team_id, draft.id)
    )
    parent = (
        MessageRef(draft.parent_channel, draft.parent_ts)
        if draft.parent_channel and draft.parent_ts
        else None
    )
    return DraftCard(
        draft_id=draft.id,
        team_id=draft.team_id,
        channel_id=draft.channel_id,
        requester=draft.requester_id,
        prompt=rounds[-1].prompt if rounds else draft.prompt,  # the latest
        destination=draft.destination_name,
        ratio=draft.ratio,
        status=DraftStatus(draft.status),
        n_variants=draft.n_variants,
        ready=sum(v.status == VariantState.POSTED for v in explore),
        failed=sum(v.status == VariantState.FAILED for v in explore),
        refused=sum(v.status == VariantState.REFUSED for v in explore),
        tally=tally(votes, range(1, draft.n_variants + 1)),
        votes=votes,
        winner=draft.winner_index,
        upgraded_by=draft.upgraded_by,
        winner_picked=draft.winner_picked,
        decided_by=draft.decided_by,
        tie_asked=draft.tie_asked,
        hints=tuple(draft.hints or ()),
        failure_reason=draft.failure_reason,
        parent=parent,
        messages=tuple(m for image in images for m in thread_messages(draft, image, rounds)),
        rounds=rounds,
        explorable=policy is None
        or (len(rounds) < policy.max_rounds and draft.n_variants < policy.max_variants),
        vote_deadline=draft.vote_deadline,
        closed_by_deadline=draft.upgraded_by == SYSTEM,
    )


def thread_messages(
    draft: Draft, variant: Variant, rounds: tuple[RoundCard, ...] = ()
) -> list[ThreadMessage]:
    """The messages in the thread about one image: the image once posted, the notice once it was lost."""
    found = []
    state = VariantState(variant.status)
    if variant.slack_channel and variant.slack_ts and state is VariantState.POSTED:
        found.append(
            ThreadMessage(
                variant.id,
                Tier(variant.tier),
                variant.number,
                state,
                image_card(draft, variant, rounds),
                ref=MessageRef(variant.slack_channel, variant.slack_ts, variant.slack_file_id),
                shown=variant.shown,
            )
        )
    if variant.notice_ts and draft.parent_channel:
        found.append(lost_image(variant, MessageRef(draft.parent_channel, variant.notice_ts)))
    return found


def lost_image(variant: Variant, ref: MessageRef | None = None) -> ThreadMessage:
    """The notice of a lost image (or of one lost earlier and since retried)."""
    return ThreadMessage(
        variant.id,
        Tier(variant.tier),
        variant.number,
        VariantState(variant.status),
        None,
        reason=variant.error,
        ref=ref,
        shown=variant.notice_shown,
    )


def image_card(draft: Draft, variant: Variant, rounds: tuple[RoundCard, ...] = ()) -> ImageCard:
    if variant.width is None or variant.height is None or variant.bytes is None or not variant.content_type:
        raise ValueError(f"variant {variant.id} has no stored image yet")
    extension = "png" if variant.content_type == "image/png" else "jpg"
    return ImageCard(
        draft_id=draft.id,
        number=variant.number,
        tier=Tier(variant.tier),
        size=Size(variant.width, variant.height),
        bytes=variant.bytes,
        content_type=variant.content_type,
        filename=f"draft-{draft.id}-{variant.tier.lower()}-{variant.number}.{extension}",
        seed=variant.seed,
        provider=variant.provider or "",
        model=variant.model or "",
        notes=tuple(filter(None, [variant.fit_note])),
        round=variant.round,
        source=next((r.source for r in rounds if r.number == variant.round), None),
    )
