"""draftbot's one error hierarchy, in the spirit of httpx: catch at the level you can act on.

```
DraftbotError
├── UserInputError            something a person typed or clicked; str(err) is fit to show them
│   ├── UnknownDestinationError
│   ├── BadImage              (bot.imaging) bytes someone gave us that we will not decode
│   └── UnknownDraft          a button or command naming a draft this team does not have
├── ConfigurationError        a setting is missing or wrong; stops start-up with the setting's name
│   └── MissingSetting
├── ProviderError             (bot.providers.base) an image provider failed
│   ├── Refused               moderation or safety: never retried, the person is told why
│   ├── RateLimited           Transient: wait Retry-After, then again
│   ├── Unavailable           Transient: 5xx, overloaded, timeouts, connection errors
│   ├── BadOutput             Transient: no image, or one we cannot use
│   └── ModelNotFound         also a ConfigurationError: the model is unknown or retired
├── SlackError                (bot.slack_publisher) Slack did not do what was asked
│   ├── FileNotReady          Transient
│   └── PostOutcomeUnknown    an Outage of Slack: a post that may still land; look for it, then retry
├── PermanentFailure          trying again cannot help: the job is given up now
└── IllegalTransition         a developer error: a status move the state machine does not have
```

Whether a job is tried again is decided by type: a :class:`Transient` error is retried (no sooner than its
``retry_after``), an :class:`Outage` is waited out without spending attempts, any other
:class:`DraftbotError` is given up at once, and an exception that is not ours at all is retried until the
job runs out of attempts (unless :mod:`bot.jobs.outages` recognises it as Slack or the database away).
Library code raises these; only the CLI turns them into exit codes.
"""

from __future__ import annotations

SLACK, DATABASE = "Slack", "the database"  # the dependencies an Outage names, as a sentence says them


class DraftbotError(Exception):
    """Base of draftbot's own errors. ``message`` is the text without the class name."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def retryable(self) -> bool:
        """Whether the job runner tries again: by type, so this is only a convenience for callers."""
        return isinstance(self, Transient)


class Transient(DraftbotError):
    """A failure that may pass: try again, no sooner than ``retry_after`` seconds when it is given."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Outage(Transient):
    """Something every job needs is away (Slack, the database): waited out for a long budget, without
    spending the job's attempts, since the job itself did nothing wrong."""

    def __init__(self, message: str, *, dependency: str, retry_after: float | None = None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.dependency = dependency


class RetryLater(Transient):
    """A job that cannot finish yet (something it needs is not there yet): try it again later."""


class PermanentFailure(DraftbotError):
    """Trying again cannot help: give the job up now, with this reason."""


class UserInputError(DraftbotError):
    """Something a person typed or clicked cannot be done; ``str(err)`` is the friendly explanation.

    Never raised for developer mistakes: those raise ordinary exceptions, loudly.
    """

    def __init__(self, message: str, *, suggestions: tuple[str, ...] = (), field: str | None = None) -> None:
        super().__init__(message)
        self.suggestions = suggestions
        self.field = field  # which form field it is about, where there is a form


class OverBudget(UserInputError):
    """A `/draft` whose estimated cost would pass a monthly budget: nothing was drafted. ``channel`` is
    the one whose settings can raise it."""

    def __init__(self, message: str, *, channel: str) -> None:
        super().__init__(message)
        self.channel = channel


class UnknownDestinationError(UserInputError):
    """The text after ``for`` names no destination in the catalog."""

    def __init__(self, asked: str, suggestions: tuple[str, ...]) -> None:
        hint = (
            "Did you mean " + ", ".join(f"*{s}*" for s in suggestions) + "?"
            if suggestions
            else "Try `/draft help` for the list of destinations."
        )
        super().__init__(
            f"I don't know the destination “{asked}”. {hint} "
            "You can also give the shape directly with `--ratio W:H`.",
            suggestions=suggestions,
        )
        self.asked = asked


class UnknownDraft(UserInputError):
    """A press or command names a draft this workspace does not have (deleted, or another team's)."""

    def __init__(self, draft_id: int) -> None:
        super().__init__(f"draft {draft_id} does not exist")
        self.draft_id = draft_id


class ConfigurationError(DraftbotError):
    """draftbot cannot run with these settings; the message names the setting to change."""


class MissingSetting(ConfigurationError):
    """A setting that this way of running needs is not set."""

    def __init__(self, names: str, why: str) -> None:
        super().__init__(f"{names} must be set {why}. See the README's 'Install in Slack'.")
        self.names = names


class SlackError(DraftbotError):
    """Slack did not do what was asked (the Web API's own errors stay slack_sdk's ``SlackApiError``)."""


class IllegalTransition(DraftbotError):
    """A developer error: code asked for a move the state machine does not have."""
