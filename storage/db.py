"""Engines, sessions and migrations.

SQLite (the default, via aiosqlite) is tuned for one process serving a team:

- WAL, so readers never wait for the writer; ``busy_timeout`` so a writer waits its turn instead of failing.
- SQLAlchemy, not the sqlite3 module, emits ``BEGIN``: the module's legacy mode starts no transaction for a
  SELECT or a SAVEPOINT, which breaks savepoints (a released savepoint would commit on its own).
- That ``BEGIN`` is ``BEGIN IMMEDIATE``: each transaction takes the write lock up front. A deferred
  transaction that reads and then writes fails at once with "database is locked" when another connection
  wrote in between (``busy_timeout`` cannot help there), which is exactly what concurrent jobs do. The price:
  transactions run one at a time, so keep sessions short and never hold one across a network call.
- Since they run one at a time anyway, a file database gets one pooled connection: tasks in this process wait
  for it on the pool, awake, where SQLite's busy handler would sleep in growing steps past the moment the lock
  frees (benchmarks/bench_slack.py: 50 concurrent `/draft` acks, p99 740 ms before). The wait is not strictly
  first-come: nothing may rely on the order. Other processes (``draftbot worker``) still meet
  ``busy_timeout``. Never open a second session while holding one.

Every process migrates at start (``build_runtime``), so several may start at once on an empty database;
without a lock two of them both find no ``alembic_version`` and both create it, and the loser dies (on
PostgreSQL: ``UniqueViolationError`` on ``CREATE TABLE alembic_version``). So the migration transaction
takes a database-wide lock before Alembic reads the version, and holds it until the schema is committed.
The next process waits for it, then finds the schema current and does nothing:

- PostgreSQL: ``pg_advisory_xact_lock(MIGRATION_LOCK_KEY)``, the first statement of the transaction
  (``migrations/env.py`` takes it, for ``draftbot db upgrade`` and the alembic CLI alike). A transaction-level
  lock, so commit, rollback or a dead connection frees it; nothing can leave it held. It waits as long as
  the migration runs.
- SQLite: the writer lock, which ``BEGIN IMMEDIATE`` (above) already takes as the transaction starts,
  before Alembic reads anything. A waiting process meets ``busy_timeout``, raised for the migration to
  ``MIGRATION_BUSY_TIMEOUT_MS``: a migration that copies a big table takes as long as it takes, and a
  process starting meanwhile should wait for it rather than die.

tests/storage/test_migrations_at_start.py starts four processes at the same instant on each.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
SQLITE_POOL_TIMEOUT_S = 60
MIGRATION_BUSY_TIMEOUT_MS = 300_000
# Any fixed 64-bit number, the same in every process and every release; this one is the first 8 bytes of
# sha256("draftbot migrations"), so it is unlikely to meet another application's advisory lock.
MIGRATION_LOCK_KEY = -7418211533993228574


def create_engine(url: str) -> AsyncEngine:
    sa_url = make_url(url)
    if sa_url.get_backend_name() != "sqlite":
        return create_async_engine(sa_url, pool_pre_ping=True)

    database = sa_url.database or ""
    if database in ("", ":memory:"):
        # One shared connection, or every checkout would see its own empty database.
        engine = create_async_engine(sa_url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        if not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(sa_url, pool_size=1, max_overflow=0, pool_timeout=SQLITE_POOL_TIMEOUT_S)
    event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
    event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see the module docstring
    cursor = dbapi_connection.cursor()
    try:
        for pragma in (
            f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",  # first: switching a new database to WAL takes a lock
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
        ):
            cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config built in code, so neither an ini file nor the working directory matters.

    Also the way to write a new revision: ``alembic.command.revision(alembic_config(), "message")``.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # ConfigParser interpolation
    return config


async def upgrade(url: str | AsyncEngine, revision: str = "head") -> None:
    """Migrate the database to ``revision``, in one transaction, under the migration lock (see the module
    docstring): safe to run from any number of processes at once. Give an engine instead of a URL for a
    ``:memory:`` database."""
    engine = create_engine(url) if isinstance(url, str) else url
    config = alembic_config()
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_upgrade_on, config, revision)
    finally:
        if isinstance(url, str):
            await engine.dispose()


async def revisions(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """The database's migration revision (None: not migrated) and the newest one there is."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    async with engine.connect() as connection:
        current = await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
    return current, ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade_on(connection: Connection, config: Config, revision: str) -> None:
    # env.py runs on this connection (inside our transaction) instead of making an engine of its own.
    config.attributes["connection"] = connection
    with _sqlite_busy_timeout(connection, MIGRATION_BUSY_TIMEOUT_MS), connection.begin():
        command.upgrade(config, revision)
    log.info("database upgraded to %s", revision)


def lock_for_migrations(connection: Connection) -> None:
    """Wait for, then hold until the transaction ends, the lock every migration takes first. On SQLite the
    transaction's ``BEGIN IMMEDIATE`` already holds the writer lock; this checks that it does."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    elif connection.dialect.name == "sqlite" and not connection.in_transaction():
        raise RuntimeError("migrations must run inside a transaction, which takes SQLite's writer lock")


@contextlib.contextmanager
def _sqlite_busy_timeout(connection: Connection, timeout_ms: int) -> Iterator[None]:
    """``busy_timeout`` raised on this connection while the block runs, then set back.

    Set on the driver connection, not through ``connection``: a statement there would begin the
    transaction (``BEGIN IMMEDIATE``, waiting under the old timeout) before the pragma could run.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={timeout_ms}")
        yield
    finally:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()
