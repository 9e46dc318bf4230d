"""The composition root: build every service from :class:`Settings`, once, and hand them down.

Every entry point builds its runtime here: ``draftbot serve``, Socket Mode, ``draftbot worker``, the
playground, the demo, the test harness and the benchmarks. Nothing is created at import time, so each
chooses its own database, provider and Slack endpoint through the settings (and, for tests, the few
arguments below). It is the one module of :mod:`bot` that knows the listeners in :mod:`handlers`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_bolt.async_app import AsyncApp
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.drafts import Desk, DraftService, Uploads
from bot.drafts.home import HomeRefresh, Homes
from bot.drafts.reports import Reports
from bot.drafts.settings import ChannelSettingsService, Policies
from bot.errors import DATABASE, SLACK, MissingSetting
from bot.generation import Generator
from bot.generation.timers import Timers
from bot.image_store import open_blob_store
from bot.imaging import ImagingPool
from bot.installs import Installations
from bot.jobs import SCHEDULED, Doorbell, JobKind, JobRunner, default_worker_id
from bot.jobs.outages import OutageWatch, dependency_of
from bot.jobs.wakeup import woken_by_notifications
from bot.metrics import Metrics
from bot.providers import Providers, build_provider, build_providers
from bot.providers.base import ImageProvider
from bot.publisher import Publisher
from bot.retention import Retention
from bot.slack_app import build_bolt_app
from bot.slack_client import SlackClient, build_client
from bot.slack_directory import SlackDirectory
from bot.slack_home import SlackHome
from bot.slack_publisher import SlackPublisher
from bot.slack_workspaces import InstalledWorkspaces, OneWorkspace, Workspaces
from bot.spending import Budgets, Spend
from bot.workflow import Policy
from handlers import register_all
from storage import db, jobqueue
from storage.blobs import BlobStore
from storage.models import utcnow

OAUTH_STATE_SECONDS = 600  # how long an Add to Slack link stays good (Bolt's default)

# How an entry point that brings its own provider makes it, on the runtime's imaging pool.
ProviderFactory = Callable[[Settings, ImagingPool], ImageProvider]


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    blobs: BlobStore
    provider: ImageProvider
    imaging: ImagingPool
    publisher: Publisher
    generator: Generator
    drafts: DraftService
    runner: JobRunner
    slack: AsyncApp | None  # the Bolt app, with every listener; None when the runtime has no Slack
    providers: Providers  # ``provider`` and every other one configured, for the channels that choose
    budgets: Budgets
    spend: Spend
    homes: Homes | None = None  # the App Homes (with Slack only)
    metrics: Metrics = field(default_factory=Metrics)  # this runtime's own registry, for /metrics

    def slack_app(self) -> AsyncApp:
        """The Bolt app, for the entry points that serve Slack requests."""
        if self.slack is None:
            raise MissingSetting("SLACK_BOT_TOKEN", "to talk to Slack")
        return self.slack

    async def drain(
        self, *, wait: Callable[[float], Awaitable[None]] = asyncio.sleep, max_rounds: int = 10_000
    ) -> None:
        """Run jobs in this process until none is left unfinished (for the demo and tests; servers run
        :meth:`JobRunner.run_forever`). ``wait`` sleeps until a retry's backoff is over. A deadline or a
        reminder ahead is not unfinished work: it waits in the queue (move the clock past it, and drain
        again, to run it)."""
        for _ in range(max_rounds):
            await self.runner.run_until_idle()
            due = await jobqueue.next_due(self.sessions, scheduled=SCHEDULED)
            if due is None:
                return
            await wait(max(0.01, (due - self.runner.clock()).total_seconds()))
        raise RuntimeError("jobs are still unfinished after draining")

    async def aclose(self) -> None:
        await self.providers.aclose()
        self.imaging.close()
        await self.blobs.aclose()
        await self.engine.dispose()


async def build_runtime(
    settings: Settings,
    *,
    publisher: Publisher | None = None,
    provider: ProviderFactory = build_provider,
    migrate: bool = True,
    clock: Callable[[], datetime] | None = None,
) -> Runtime:
    """Everything draftbot runs on, from the settings.

    With ``SLACK_BOT_TOKEN`` set, the publisher talks to Slack (or whatever ``SLACK_API_URL`` points at) and
    the Bolt app shares its client. Without it there is no Slack: give a ``publisher`` (the demo and the
    service tests record what would have been posted).
    """
    metrics = Metrics(job_kinds=JobKind)  # recorded by the Slack clients, the maker and the runner
    outages = OutageWatch()  # the runner waits on it; only a call Slack answered says Slack is back
    engine = db.create_engine(settings.resolved_database_url)
    if migrate:
        await migrate_when_reachable(engine, budget=settings.outage_budget_seconds)
    try:  # DRAFTBOT_BLOB_URL: files here, or a bucket every machine shares; checked now
        blobs = await open_blob_store(settings)
    except BaseException:
        await engine.dispose()
        raise
    sessions = db.session_factory(engine)
    slack = _slack_clients(
        settings, engine, sessions, functools.partial(outages.came_back, SLACK), metrics.slack_error
    )
    slack_client = slack.client if slack else None
    if publisher is None:
        if slack is None:
            raise MissingSetting("SLACK_BOT_TOKEN", "to talk to Slack")
        publisher = SlackPublisher(
            slack.workspaces, vote_emoji=settings.vote_emoji, approve_emoji=settings.approve_emoji
        )
    pool = ImagingPool(settings.imaging_threads)
    image_provider = provider(settings, pool)
    providers = build_providers(settings, image_provider, pool)
    budgets = Budgets(providers, settings.monthly_budget_usd)
    spend = Spend(sessions, settings.monthly_budget_usd)
    doorbell = Doorbell()  # rung by whatever enqueues jobs, waited on by the runner
    policy = Policy(
        approvers=settings.approvers,
        allow_self_approval=settings.allow_self_approval,
        max_rounds=settings.max_rounds,
        max_variants=settings.max_variants_per_draft,
        max_versions=settings.max_review_versions,
        required_approvals=settings.required_approvals,
        drift_threshold=settings.drift_threshold,
    )
    clock = clock or utcnow
    # Without Slack, no admins and no group members; on the runtime's clock, tests step past its cache.
    directory = SlackDirectory(slack.workspaces if slack else None, clock=lambda: clock().timestamp())
    policies = Policies(policy, directory)  # every decision's policy: the draft's channel's
    refresh_homes = (
        HomeRefresh(
            policies.for_draft,
            timedelta(seconds=settings.home_debounce_seconds),
            max_attempts=settings.job_max_attempts,
            clock=clock,
        )
        if slack_client is not None
        else None
    )
    generator = Generator(
        sessions,
        providers,
        blobs,
        pool,
        publisher,
        doorbell,
        provider_concurrency=settings.provider_concurrency,
        images_per_minute=settings.images_per_minute,
        max_pixels=settings.max_reference_pixels,
        max_attempts=settings.job_max_attempts,
        clock=clock,
        policy=policy,
        review_reminder=settings.review_reminder,
        homes=refresh_homes,
        metrics=metrics,
    )
    desk = Desk(
        sessions,
        doorbell,
        publisher,
        policy,
        max_attempts=settings.job_max_attempts,
        clock=clock,
        policies=policies,
        budgets=budgets,
    )
    channel_settings = ChannelSettingsService(sessions, directory, providers=configured_providers(settings))
    uploads = Uploads(blobs, max_pixels=settings.max_reference_pixels)
    drafts = DraftService.over(
        desk,
        uploads,
        vote_emoji=settings.vote_emoji,
        approve_emoji=settings.approve_emoji,
        vote_window=settings.vote_window,
    )
    timers = Timers(
        sessions,
        publisher,
        drafts.deadlines,
        policies.for_draft,
        clock=clock,
        prices=providers.estimate_usd,
    )
    homes = (
        Homes(
            sessions,
            SlackHome(slack.workspaces),
            policies.for_draft,
            clock=clock,
            spend=spend,
        )
        if slack
        else None
    )
    home_jobs = {JobKind.HOME: homes.publish_job} if homes else {}
    retention = Retention(
        sessions, blobs, settings.image_retention_days, clock=clock, max_attempts=settings.job_max_attempts
    )
    await retention.schedule()  # the hourly sweep, when DRAFTBOT_IMAGE_RETENTION_DAYS is set
    runner = JobRunner(
        sessions,
        generator.handlers | timers.handlers | home_jobs | retention.handlers,
        worker_id=default_worker_id(),
        lease_seconds=settings.job_lease_seconds,
        concurrency=settings.job_concurrency,
        outage_budget_seconds=settings.outage_budget_seconds,
        on_give_up=generator.give_up,
        clock=clock,
        doorbell=doorbell,
        outages=outages,
        metrics=metrics,
    )
    bolt = None
    if slack is not None:
        bolt = build_bolt_app(settings, slack.client, installations=slack.store, states=slack.states)
        reports = Reports(sessions, homes.slack if homes else None, policies.for_draft, clock=clock)
        register_all(
            bolt,
            drafts,
            default_variants=settings.default_variants,
            homes=homes,
            reports=reports,
            channel_settings=channel_settings,
            spend=spend,
            installations=Installations(sessions, slack.workspaces, slack.store, clock=clock),
        )
    return Runtime(
        settings,
        engine,
        sessions,
        blobs,
        image_provider,
        pool,
        publisher,
        generator,
        drafts,
        runner,
        bolt,
        providers,
        budgets,
        spend,
        homes,
        metrics=metrics,
    )


@dataclass(frozen=True)
class SlackClients:
    """How the runtime talks to Slack: the app's client (Bolt's, with the one token or, for installs in many
    workspaces, none) and each workspace's client for the jobs."""

    client: SlackClient
    workspaces: Workspaces
    store: AsyncInstallationStore | None = None  # installs for many workspaces
    states: AsyncOAuthStateStore | None = None


def _slack_clients(
    settings: Settings,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    on_answer: Callable[[], None],
    on_error: Callable[[str, Exception], None],
) -> SlackClients | None:
    """One workspace from ``SLACK_BOT_TOKEN``, many from the installation store (``SLACK_CLIENT_ID`` and
    ``SLACK_CLIENT_SECRET``), or None: no Slack."""

    def client_for(token: str | None) -> SlackClient:
        return build_client(
            token,
            settings.slack_api_url,
            timeout=settings.slack_timeout_seconds,
            on_answer=on_answer,
            on_error=on_error,
        )

    if settings.oauth_installs:
        client_id, secret = str(settings.slack_client_id), settings.slack_client_secret
        app_client = client_for(None)
        store = AsyncSQLAlchemyInstallationStore(client_id=client_id, engine=engine)
        rotator = AsyncTokenRotator(
            client_id=client_id,
            client_secret=secret.get_secret_value() if secret else "",
            client=app_client,
        )
        workspaces = InstalledWorkspaces(store, sessions, client_for, rotator=rotator)
        states = AsyncSQLAlchemyOAuthStateStore(expiration_seconds=OAUTH_STATE_SECONDS, engine=engine)
        return SlackClients(app_client, workspaces, store, states)
    token = settings.slack_bot_token
    if token is None:
        return None
    app_client = client_for(token.get_secret_value())
    return SlackClients(app_client, OneWorkspace(app_client))


def configured_providers(settings: Settings) -> tuple[str, ...]:
    """The providers a channel may choose: the local renderer always, the others when their key is set."""
    keyed = {"openai": settings.openai_api_key, "gemini": settings.gemini_api_key}
    return ("local", *(name for name, key in keyed.items() if key is not None and key.get_secret_value()))


async def migrate_when_reachable(engine: AsyncEngine, *, budget: float) -> None:
    """Run the migrations, waiting out a database that is not there yet (a process started before it, or
    during an outage) for up to ``budget`` seconds, said once in the log; any other failure raises."""
    watch = OutageWatch(effect="draftbot waits for it before starting")
    deadline = time.monotonic() + budget
    while True:
        try:
            await db.upgrade(engine)
        except Exception as err:
            if dependency_of(err) != DATABASE or time.monotonic() >= deadline:
                raise
            await asyncio.sleep(min(watch.went_away(DATABASE, err), max(0.0, deadline - time.monotonic())))
            continue
        watch.came_back(DATABASE)
        return


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    publisher: Publisher | None = None,
    provider: ProviderFactory = build_provider,
    migrate: bool = True,
    clock: Callable[[], datetime] | None = None,
) -> AsyncIterator[Runtime]:
    """:func:`build_runtime` for the length of a block, closed on the way out."""
    runtime = await build_runtime(
        settings, publisher=publisher, provider=provider, migrate=migrate, clock=clock
    )
    try:
        yield runtime
    finally:
        await runtime.aclose()


@contextlib.asynccontextmanager
async def running_worker(runtime: Runtime) -> AsyncIterator[asyncio.Task[None]]:
    """Run the job worker in the background for as long as the block lasts."""
    stop = asyncio.Event()
    async with woken_by_notifications(runtime.settings.resolved_database_url, runtime.runner.doorbell):
        task = asyncio.create_task(runtime.runner.run_forever(stop), name="draftbot-worker")
        try:
            yield task
        finally:
            stop.set()
            await task
