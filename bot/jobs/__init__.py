"""Durable jobs: the runner that claims and runs them."""

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
    "Backoff",
    "ClaimedJob",
    "GiveUpHook",
    "Handler",
    "JobRunner",
    "PermanentFailure",
    "RetryLater",
    "default_worker_id",
]
