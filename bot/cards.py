"""Snapshots of a draft for publishers, read from the database in one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import SYSTEM
from bot.publisher import DraftCard, ImageCard, MessageRef, RoundCard, ThreadMessage
from bot.tiers import Ratio, Size, Tier
from bot.workflow import REJECTED, DraftStatus, DraftView, Policy, VariantState, tally
from storage import queries
from storage.models import Draft, Variant

# What an image costs by provider, quality, ratio and tier (bot.providers.Providers.estimate_usd).
Pricing = Callable[[str | None, str | None, Ratio, Tier], float]


def draft_view(draft: Draft, *, review: ReviewFacts | None = None) -> DraftView:
    return DraftView(
        status=DraftStatus(draft.status),
        requester=draft.requester_id,
        n_variants=draft.n_variants,
        winner=draft.winner_index,
        review_ready=review is not None and review.latest.status == VariantState.POSTED,
        review_ref=(review.latest.number, review.latest.version) if review else None,
        versions=review.versions if review else 0,
        approved_by=frozenset(review.approvers) if review else frozenset(),
    )


@dataclass(frozen=True)
class ReviewFacts:
    """The review under way, as decisions need it: its latest 2K version, the versions the draft has had,
    and who approved the latest."""

    latest: Variant
    versions: int
    approvers: tuple[str, ...]


async def review_facts(session: AsyncSession, draft: Draft) -> ReviewFacts | None:
    latest = await queries.latest_of_tier(session, draft.team_id, draft.id, Tier.REVIEW)
    if latest is None:
        return None
    reviews = await queries.variants_of(session, draft.team_id, draft.id, Tier.REVIEW)
    return ReviewFacts(latest, len(reviews), await queries.approvers_of(session, latest.id))


async def draft_card(
    session: AsyncSession, draft: Draft, *, policy: Policy | None = None, prices: Pricing | None = None
) -> DraftCard:
    """The draft as publishers show it. With ``policy``, whether another round still fits (its limits);
    without, the card is for words only and offers rounds as if it did. With ``prices``, what the 4K
    would cost, for the Approve button."""
    images = await queries.variants_of(session, draft.team_id, draft.id)
    explore = [v for v in images if v.tier == Tier.EXPLORE]
    reviews = sorted((v for v in images if v.tier == Tier.REVIEW), key=lambda v: v.id)
    latest = reviews[-1] if reviews else None
    threshold = (policy or Policy()).drift_threshold
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
    final_usd = (
        prices(draft.provider, draft.quality, Ratio.parse(draft.ratio), Tier.FINAL)
        if prices is not None and latest is not None
        else 0.0
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
        brand_notes=draft.brand_notes,
        failure_reason=draft.failure_reason,
        parent=parent,
        messages=tuple(
            m for image in images for m in thread_messages(draft, image, rounds, drift_threshold=threshold)
        ),
        rounds=rounds,
        explorable=policy is None
        or (len(rounds) < policy.max_rounds and draft.n_variants < policy.max_variants),
        review_id=latest.id if latest else None,
        review_version=latest.version if latest else None,
        review_state=VariantState(latest.status) if latest else None,
        versions_left=len(reviews) < (policy or Policy()).max_versions,
        approvals=await queries.approvers_of(session, latest.id) if latest else (),
        required_approvals=await _required_approvals(session, draft, policy or Policy()),
        decision_reason=draft.decision_reason,
        rejected={
            v.number: (v.outcome_by or "", v.outcome_reason or "")
            for v in reviews
            if v.outcome == REJECTED and v.number != draft.winner_index
        }
        if draft.status in (DraftStatus.GENERATING, DraftStatus.VOTING)
        else {},
        shapes=tuple(
            v.destination_key
            for v in images
            if v.tier == Tier.FINAL
            and v.destination_key
            and v.status not in (VariantState.FAILED, VariantState.REFUSED)
        ),
        destination_key=draft.destination_key,
        vote_deadline=draft.vote_deadline,
        closed_by_deadline=draft.upgraded_by == SYSTEM,
        final_estimate_usd=final_usd,
    )


def thread_messages(
    draft: Draft, variant: Variant, rounds: tuple[RoundCard, ...] = (), *, drift_threshold: float = 1.0
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
                image_card(draft, variant, rounds, drift_threshold=drift_threshold),
                ref=MessageRef(variant.slack_channel, variant.slack_ts, variant.slack_file_id),
                shown=variant.shown,
                version=variant.version,
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
        version=variant.version,
    )


def image_card(
    draft: Draft, variant: Variant, rounds: tuple[RoundCard, ...] = (), *, drift_threshold: float = 1.0
) -> ImageCard:
    if variant.width is None or variant.height is None or variant.bytes is None or not variant.content_type:
        raise ValueError(f"variant {variant.id} has no stored image yet")
    extension = "png" if variant.content_type == "image/png" else "jpg"
    version = f"-v{variant.version}" if variant.version > 1 else ""
    return ImageCard(
        draft_id=draft.id,
        number=variant.number,
        tier=Tier(variant.tier),
        size=Size(variant.width, variant.height),
        bytes=variant.bytes,
        content_type=variant.content_type,
        filename=f"draft-{draft.id}-{variant.tier.lower()}-{variant.number}{version}.{extension}",
        seed=variant.seed,
        provider=variant.provider or "",
        model=variant.model or "",
        notes=tuple(filter(None, [variant.fit_note])),
        round=variant.round,
        source=next((r.source for r in rounds if r.number == variant.round), None),
        version=variant.version,
        feedback=variant.feedback,
        outcome=variant.outcome,
        outcome_by=variant.outcome_by,
        outcome_reason=variant.outcome_reason,
        drift=variant.drift,
        drifted=variant.drift is not None and variant.drift > drift_threshold,
        compare_file=variant.compare_file,
        compare_label=variant.compare_label,
        shape=variant.destination_name,
    )


async def _required_approvals(session: AsyncSession, draft: Draft, policy: Policy) -> int:
    """The channel's number, where its settings set one; else the workspace's."""
    channel = await queries.channel_settings(session, draft.team_id, draft.channel_id)
    return channel.required_approvals if channel and channel.required_approvals else policy.required_approvals
