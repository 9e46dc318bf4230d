"""Durable jobs: the runner that claims and runs them, the kinds draftbot queues, and the bell that says
one was just queued."""

from bot.jobs.doorbell import Doorbell
from bot.jobs.kinds import SCHEDULED, JobKind, enqueue, enqueue_many, schedule
from bot.jobs.runner import (
    Backoff,
    ClaimedJob,
    GiveUpHook,
    Handler,
    JobRunner,
    PermanentFailure,
    RetryLater,
    default_worker_id,
)

__all__ = [
    "SCHEDULED",
    "Backoff",
    "ClaimedJob",
    "Doorbell",
    "GiveUpHook",
    "Handler",
    "JobKind",
    "JobRunner",
    "PermanentFailure",
    "RetryLater",
    "default_worker_id",
    "enqueue",
    "enqueue_many",
    "schedule",
]
