"""A new draft: the `/draft` command or form, stored with its variants and every job they need."""

from __future__ import annotations

import dataclasses
import logging
import random
from datetime import timedelta

from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import AuditKind, record, record_for
from bot.channel_settings import ChannelValues
from bot.command import DraftRequest
from bot.drafts.closing import schedule_close
from bot.drafts.desk import Desk
from bot.drafts.settings import channel_values
from bot.drafts.uploads import StoredReference
from bot.errors import OverBudget
from bot.jobs import JobKind, enqueue_many
from bot.providers.base import reference_note
from bot.tiers import Tier
from bot.workflow import DraftStatus, Refusal, RoundReason, VariantState
from storage.models import Draft, Round, Variant

log = logging.getLogger(__name__)


class Intake:
    def __init__(
        self, desk: Desk, *, rng: random.Random | None = None, vote_window: timedelta | None = None
    ) -> None:
        self.desk = desk
        self._rng = rng or random.SystemRandom()
        self.vote_window = vote_window  # DRAFTBOT_VOTE_WINDOW: voting closes by itself, unless `--vote`

    async def channel_defaults(self, *, team_id: str, channel_id: str) -> ChannelValues:
        """The channel's settings a command starts from (its default destination, its number of variants),
        read once per command; :meth:`create_draft` reads them again in its own transaction. A convenience:
        without the database, `/draft help` still answers, so this is then "no channel settings"."""
        try:
            async with self.desk.sessions() as session:
                channel = await channel_values(session, team_id, channel_id)
        except SQLAlchemyError:
            log.warning("could not read the settings of %s", channel_id, exc_info=True)
            return ChannelValues()
        return channel or ChannelValues()

    async def create_draft(
        self,
        *,
        team_id: str,
        channel_id: str,
        requester: str,
        request: DraftRequest,
        command_text: str,
        reference: StoredReference | None = None,
    ) -> int:
        """Store the draft, its variants and every job they need, in one transaction. With ``reference``
        (Draft from this image) the first round's variants are made from that image. Raises
        :class:`OverBudget` (and audits it) when the variants would pass a monthly budget."""
        hints = list(request.hints)
        if reference is not None and (note := reference_note(reference.size, request.ratio)):
            hints.append(f"{note[0].upper()}{note[1:]} (the destination decides the ratio).")
        refusal: Refusal | None = None
        async with self.desk.sessions.begin() as session:
            channel = await channel_values(session, team_id, channel_id) or ChannelValues()
            request = with_channel_defaults(request, channel)
            window = request.vote_window_or(channel.vote_window or self.vote_window)
            base_seed = (
                request.seed
                if request.seed is not None
                else self._rng.randrange(0, 2**31 - request.n_variants)
            )
            draft = Draft(
                team_id=team_id,
                channel_id=channel_id,
                requester_id=requester,
                prompt=request.prompt,
                destination_key=request.destination.key if request.destination else None,
                destination_name=request.destination_name,
                ratio=str(request.ratio),
                output_format=request.format.value,
                safe_zone=request.safe_zone.value,
                n_variants=request.n_variants,
                base_seed=base_seed,
                status=DraftStatus.GENERATING,
                hints=hints,
                reference_key=reference.key if reference else None,
                reference_type=reference.content_type if reference else None,
                reference_file=reference.file_id if reference else None,
                vote_deadline=self.desk.clock() + window if window else None,
                brand_notes=channel.brand_notes,  # kept: a later change of the settings does not change it
                provider=channel.provider,  # None: the workspace's
                quality=channel.quality,
            )
            refusal = await self.desk.over_budget(session, draft, Tier.EXPLORE, request.n_variants)
            if refusal is None:
                await self._store(session, draft, request, command_text, reference)
            else:  # nothing drafted; the trail keeps what was asked and why not
                record(
                    session,
                    team_id=team_id,
                    kind=AuditKind.INPUT_REJECTED,
                    actor=requester,
                    text=command_text,
                    channel=channel_id,
                    code=refusal.code,
                    reason=refusal.reason,
                )
        if refusal is not None:
            raise OverBudget(refusal.reason, channel=channel_id)
        self.desk.doorbell.ring()
        return draft.id

    async def _store(
        self,
        session: AsyncSession,
        draft: Draft,
        request: DraftRequest,
        command_text: str,
        reference: StoredReference | None,
    ) -> None:
        """In the caller's transaction: the draft, its first round, its variants, its audit and jobs."""
        team_id, requester, base_seed, hints = draft.team_id, draft.requester_id, draft.base_seed, draft.hints
        channel_id = draft.channel_id
        session.add(draft)
        await session.flush()
        session.add(
            Round(
                team_id=team_id,
                draft_id=draft.id,
                number=1,
                reason=RoundReason.DRAFT,
                prompt=request.prompt,
                started_by=requester,
                first_number=1,
                size=request.n_variants,
            )
        )
        numbers = range(1, request.n_variants + 1)
        variants = [
            {
                "team_id": team_id,
                "draft_id": draft.id,
                "tier": Tier.EXPLORE,
                "number": number,
                "seed": base_seed + number - 1,
                "status": VariantState.PENDING,
            }
            for number in numbers
        ]
        await session.execute(insert(Variant), variants)  # one statement: the ack waits for this commit
        record_for(
            session,
            draft,
            AuditKind.COMMAND,
            requester,
            text=command_text,
            channel=channel_id,
            prompt=request.prompt,
            destination=request.destination_name,
            ratio=str(request.ratio),
            n=request.n_variants,
            seed=base_seed,
            format=request.format,
            hints=hints,
            vote_deadline=draft.vote_deadline.isoformat() if draft.vote_deadline else None,
            brand_notes=draft.brand_notes,
            reference=(
                {"file": reference.file_id, "name": reference.name, "size": str(reference.size)}
                if reference
                else None
            ),
        )
        generate = [(JobKind.GENERATE, {"tier": str(Tier.EXPLORE), "number": n}) for n in numbers]
        await enqueue_many(
            session, draft, [(JobKind.ANNOUNCE, {}), *generate], max_attempts=self.desk.max_attempts
        )
        await schedule_close(session, draft, self.desk.max_attempts)

    async def reject_input(self, *, team_id: str, user: str, text: str, reason: str) -> None:
        """A command we could not parse: the person is told, the trail keeps it."""
        async with self.desk.sessions.begin() as session:
            record(
                session, team_id=team_id, kind=AuditKind.INPUT_REJECTED, actor=user, text=text, reason=reason
            )


def with_channel_defaults(request: DraftRequest, channel: ChannelValues) -> DraftRequest:
    """The channel's number of variants, where `--n` was not typed."""
    if request.n_given or not channel.default_variants:
        return request
    return dataclasses.replace(request, n_variants=channel.default_variants, n_given=True)
