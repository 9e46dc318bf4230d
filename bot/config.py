"""All configuration, read once from the environment (and an optional ``.env``) and passed down."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.durations import parse_duration
from bot.errors import UserInputError


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "draftbot"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # Slack
    slack_bot_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(None, validation_alias=_env("SLACK_SIGNING_SECRET"))
    slack_app_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_APP_TOKEN"))
    slack_api_url: str = Field("https://slack.com/api/", validation_alias=_env("SLACK_API_URL"))
    slack_timeout_seconds: float = Field(30.0, gt=0, validation_alias=_env("DRAFTBOT_SLACK_TIMEOUT"))
    # Installs for many workspaces (HTTP mode): with both set, `draftbot serve` runs Bolt's OAuth flow and
    # every request and job uses its own team's token from the installation store (SLACK_BOT_TOKEN unused).
    slack_client_id: str | None = Field(None, validation_alias=_env("SLACK_CLIENT_ID"))
    slack_client_secret: SecretStr | None = Field(None, validation_alias=_env("SLACK_CLIENT_SECRET"))
    # The bot scopes the Add to Slack link asks for (manifest.yml's), comma-separated.
    slack_scopes: Annotated[tuple[str, ...], NoDecode] = Field(
        (
            "channels:history",
            "chat:write",
            "commands",
            "files:read",
            "files:write",
            "groups:history",
            "reactions:read",
            "reactions:write",
            "usergroups:read",
            "users:read",
        ),
        validation_alias=_env("SLACK_SCOPES"),
    )
    # Where Slack sends the installer back (the app's Redirect URL); unset: the one in the app's settings.
    slack_redirect_uri: str | None = Field(None, validation_alias=_env("SLACK_REDIRECT_URI"))
    # The page that asks the installer to allow the app (GovSlack and tests point it elsewhere).
    slack_authorize_url: str = Field(
        "https://slack.com/oauth/v2/authorize", validation_alias=_env("SLACK_AUTHORIZE_URL")
    )

    # Storage
    data_dir: Path = Field(default_factory=_default_data_dir, validation_alias=_env("DRAFTBOT_DATA_DIR"))
    # Secret: a PostgreSQL URL carries its password.
    database_url: SecretStr | None = Field(None, validation_alias=_env("DRAFTBOT_DATABASE_URL"))
    # Where images are kept: unset, files under DRAFTBOT_DATA_DIR/blobs (one machine); `s3://bucket/prefix`,
    # an S3-compatible bucket shared by every machine (endpoint, region and credentials from the usual AWS
    # variables: AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
    blob_url: str | None = Field(None, validation_alias=_env("DRAFTBOT_BLOB_URL"))
    # 1K variants of drafts finished this many days ago are deleted (finals and the audit stay); None: never.
    image_retention_days: int | None = Field(
        None, ge=1, validation_alias=_env("DRAFTBOT_IMAGE_RETENTION_DAYS")
    )

    # Operators
    log_format: Literal["text", "json"] = Field("text", validation_alias=_env("DRAFTBOT_LOG_FORMAT"))
    # /metrics on a port of its own (any process, workers included); unset: on `draftbot serve`'s port only.
    metrics_port: int | None = Field(None, ge=1, le=65535, validation_alias=_env("DRAFTBOT_METRICS_PORT"))

    # Images
    provider: Literal["local", "openai", "gemini"] = Field(
        "local", validation_alias=_env("DRAFTBOT_PROVIDER")
    )
    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str = Field("https://api.openai.com/v1", validation_alias=_env("OPENAI_BASE_URL"))
    gemini_api_key: SecretStr | None = Field(None, validation_alias=_env("GEMINI_API_KEY"))
    gemini_base_url: str = Field(
        "https://generativelanguage.googleapis.com/v1beta", validation_alias=_env("GEMINI_BASE_URL")
    )
    # Model names and prices change often, so they are settings, not code.
    openai_model: str = Field("gpt-image-2", validation_alias=_env("OPENAI_IMAGE_MODEL"))
    openai_quality: Literal["low", "medium", "high", "auto"] = Field(
        "medium", validation_alias=_env("OPENAI_IMAGE_QUALITY")
    )
    gemini_model: str = Field("gemini-3-pro-image", validation_alias=_env("GEMINI_IMAGE_MODEL"))
    provider_timeout_seconds: float = Field(300.0, gt=0, validation_alias=_env("DRAFTBOT_PROVIDER_TIMEOUT"))
    # USD per image by tier, e.g. {"1K": 0.05, "2K": 0.13, "4K": 0.24}; unset: the provider's estimate.
    prices: dict[str, float] = Field(default_factory=dict, validation_alias=_env("DRAFTBOT_PRICES"))
    images_per_minute: int = Field(0, ge=0, validation_alias=_env("DRAFTBOT_IMAGES_PER_MINUTE"))  # 0: none
    provider_concurrency: int = Field(4, ge=1, le=64, validation_alias=_env("DRAFTBOT_PROVIDER_CONCURRENCY"))
    imaging_threads: int = Field(2, ge=1, le=32, validation_alias=_env("DRAFTBOT_IMAGING_THREADS"))
    max_reference_pixels: int = Field(
        64_000_000, ge=1_000_000, validation_alias=_env("DRAFTBOT_MAX_IMAGE_PIXELS")
    )

    # Workflow policy
    default_variants: int = Field(4, ge=1, le=8, validation_alias=_env("DRAFTBOT_DEFAULT_VARIANTS"))
    approvers: Annotated[frozenset[str], NoDecode] = Field(
        frozenset(), validation_alias=_env("DRAFTBOT_APPROVERS")
    )
    allow_self_approval: bool = Field(True, validation_alias=_env("DRAFTBOT_ALLOW_SELF_APPROVAL"))
    max_rounds: int = Field(8, ge=1, le=50, validation_alias=_env("DRAFTBOT_MAX_ROUNDS"))
    max_variants_per_draft: int = Field(
        32, ge=1, le=200, validation_alias=_env("DRAFTBOT_MAX_VARIANTS_PER_DRAFT")
    )
    # Review: versions a draft's 2K review may have (Request changes), distinct approvals the 4K needs, and
    # how far (0–1) a 2K or 4K may drift from the composition of the 1K it came from before it says so.
    max_review_versions: int = Field(5, ge=1, le=20, validation_alias=_env("DRAFTBOT_MAX_REVIEW_VERSIONS"))
    required_approvals: int = Field(1, ge=1, le=10, validation_alias=_env("DRAFTBOT_REQUIRED_APPROVALS"))
    drift_threshold: float = Field(0.25, gt=0, le=1, validation_alias=_env("DRAFTBOT_DRIFT_THRESHOLD"))
    # Deadlines, off by default: voting closes by itself this long after the draft (`/draft … --vote 2h`
    # overrides it), and a review nobody decided gets one reminder this long after it was posted.
    vote_window: Annotated[timedelta | None, NoDecode] = Field(
        None, validation_alias=_env("DRAFTBOT_VOTE_WINDOW")
    )
    review_reminder: Annotated[timedelta | None, NoDecode] = Field(
        None, validation_alias=_env("DRAFTBOT_REVIEW_REMINDER")
    )
    # A workspace-wide monthly spending limit in USD over every channel (None: none); channels may set
    # their own in their settings.
    monthly_budget_usd: float | None = Field(None, ge=0, validation_alias=_env("DRAFTBOT_MONTHLY_BUDGET_USD"))
    # The App Home is published again this long after a draft on it changed, once for a burst of changes.
    home_debounce_seconds: float = Field(2.0, ge=0, le=300, validation_alias=_env("DRAFTBOT_HOME_DEBOUNCE"))
    vote_emoji: str = Field("+1", validation_alias=_env("DRAFTBOT_VOTE_EMOJI"))
    approve_emoji: str = Field("white_check_mark", validation_alias=_env("DRAFTBOT_APPROVE_EMOJI"))

    # Jobs
    # Short, renewed every third of it: a worker that died on another host hands its jobs on within this
    # many seconds (one on the same host does at once, at the next start); a stall of the database this
    # long makes a worker stop its jobs (fencing), and another finishes them.
    job_lease_seconds: float = Field(15.0, gt=0, validation_alias=_env("DRAFTBOT_JOB_LEASE_SECONDS"))
    job_max_attempts: int = Field(5, ge=1, le=50, validation_alias=_env("DRAFTBOT_JOB_MAX_ATTEMPTS"))
    job_concurrency: int = Field(8, ge=1, le=64, validation_alias=_env("DRAFTBOT_JOB_CONCURRENCY"))
    # How long a job waits out Slack or the database being away before it gives up (and says so).
    outage_budget_seconds: float = Field(900.0, gt=0, validation_alias=_env("DRAFTBOT_OUTAGE_BUDGET_SECONDS"))

    @field_validator("approvers", mode="before")
    @classmethod
    def _split_user_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.replace(";", ",").split(",") if part.strip())
        return value

    @field_validator("slack_scopes", mode="before")
    @classmethod
    def _split_scopes(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @property
    def oauth_installs(self) -> bool:
        """Many workspaces: installs through Bolt's OAuth flow, tokens from the installation store."""
        secret = self.slack_client_secret
        return bool(self.slack_client_id and secret is not None and secret.get_secret_value())

    @field_validator("vote_window", "review_reminder", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except UserInputError as err:
                raise ValueError(err.message) from None
        return value

    @field_validator("vote_emoji", "approve_emoji")
    @classmethod
    def _bare_emoji_name(cls, value: str) -> str:
        return value.strip().strip(":")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url and self.database_url.get_secret_value():
            return self.database_url.get_secret_value()
        return f"sqlite+aiosqlite:///{self.data_dir / 'draftbot.db'}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"
