"""Every ORM read made for a caller is confined to the caller's CoC, in one place.

A request's session learns its CoC once the caller is known (``scope_to_coc``); from then on
each ORM ``SELECT`` it runs gets ``coc_id = <the CoC>`` on every distributed table it reads
(the models marked ``CocScoped``: a NOT NULL ``coc_id``, ``app.models.layout``). Besides the
visibility rules of each service, this keeps one CoC's rows out of another's answers by
construction, and gives a CoC-sharded deployment (Citus, distributed by ``coc_id``) the
distribution column it routes by. Background jobs and sign-in, which work across CoCs on
purpose, have no scope; a request that must read the caller's own rows in other CoCs (their
memberships) says so with ``ALL_COCS``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, event, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from app.models.base import CocScoped

_SCOPE = "cas_coc_id"
# execution_options(**ALL_COCS): this statement reads across CoCs on purpose.
ALL_COCS = {"cas_all_cocs": True}


def scope_to_coc(session: Any, coc_id: uuid.UUID) -> None:
    """Confine the ORM reads of ``session`` (sync or async) to ``coc_id`` from now on."""
    session.info[_SCOPE] = coc_id


def scoped_coc(session: Any) -> uuid.UUID | None:
    """The CoC ``session``'s reads are confined to (its caller's), or None (a job, sign-in)."""
    coc_id: uuid.UUID | None = session.info.get(_SCOPE)
    return coc_id


# One option for every table, made once: the CoC is a bound parameter, so the statement cache
# keeps working and a statement pays only for adding the option (not for finding its tables).
_PARAM = "cas_coc_scope"
_CONFINE = with_loader_criteria(
    CocScoped,
    # _PARAM spelled out: a lambda's criterion would track a global it names as a variable.
    lambda cls: cls.coc_id == bindparam("cas_coc_scope"),
    include_aliases=True,
    track_closure_variables=False,
)


@event.listens_for(Session, "do_orm_execute")
def _confine(orm_execute_state: ORMExecuteState) -> None:
    coc_id = orm_execute_state.session.info.get(_SCOPE)
    if coc_id is None or not orm_execute_state.is_select:
        return
    params = orm_execute_state.parameters
    if params is not None and not isinstance(params, Mapping):
        return  # several parameter sets: a bulk write, not a read
    # A relationship's load carries the criterion of the statement that loaded its parent (the
    # option propagates): scoped after a scoped read, not after one across CoCs on purpose
    # (the user's memberships and their organizations).
    if not orm_execute_state.is_relationship_load and not orm_execute_state.execution_options.get(
        "cas_all_cocs"
    ):
        orm_execute_state.statement = orm_execute_state.statement.options(_CONFINE)
    orm_execute_state.parameters = {**(params or {}), _PARAM: coc_id}


async def refresh(session: AsyncSession, instance: Any) -> None:
    """``session.refresh(instance)`` as a read like any other: SQLAlchemy leaves the criteria
    above out of a refresh (a column load by primary key), so the row is read again with a
    SELECT, which names the CoC."""
    mapper = inspect(instance).mapper
    key = mapper.primary_key_from_instance(instance)
    await session.execute(
        select(mapper.class_)
        .where(*[column == value for column, value in zip(mapper.primary_key, key, strict=True)])
        .execution_options(populate_existing=True)
    )


__all__ = ["ALL_COCS", "refresh", "scope_to_coc", "scoped_coc"]
