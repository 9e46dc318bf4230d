"""Which dependency an error says is away: the job runner waits out those and spends no attempts on them."""

from __future__ import annotations

import asyncpg.exceptions
import pytest
from sqlalchemy.exc import DBAPIError

from bot.errors import DATABASE
from bot.jobs.outages import dependency_of


def wrapped(driver_error: Exception) -> DBAPIError:
    """``driver_error`` as SQLAlchemy hands it on when a connection could not even be made."""
    try:
        try:
            raise driver_error
        except Exception as err:
            raise DBAPIError("SELECT 1", None, Exception(str(err))) from err
    except DBAPIError as outer:
        return outer


@pytest.mark.parametrize(
    "driver_error",
    [
        asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
    ],
)
def test_a_server_shutting_down_or_gone_is_the_database_away(driver_error: Exception) -> None:
    assert dependency_of(wrapped(driver_error)) == DATABASE


def test_a_query_error_is_not_an_outage() -> None:
    assert (
        dependency_of(wrapped(asyncpg.exceptions.UndefinedTableError('relation "x" does not exist'))) is None
    )
