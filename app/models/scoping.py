"""Every ORM read made for a caller is confined to the caller's CoC, in one place.

A request's session learns its CoC once the caller is known (``scope_to_coc``); from then on
each ORM ``SELECT`` it runs gets ``coc_id = <the CoC>`` on every distributed table it reads
(tables with a NOT NULL ``coc_id``, ``app.models.layout``). Besides the visibility rules of
each service, this keeps one CoC's rows out of another's answers by construction, and gives a
CoC-sharded deployment (Citus, distributed by ``coc_id``) the distribution column it routes
by. Background jobs and sign-in, which work across CoCs on purpose, have no scope; a request
that must read the caller's own rows in other CoCs (their memberships) says so with
``ALL_COCS``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import bindparam, event
from sqlalchemy.orm import Mapper, ORMExecuteState, Session, with_loader_criteria

from app.models.layout import GLOBAL_TABLES, REFERENCE_TABLES

_SCOPE = "cas_coc_id"
# execution_options(**ALL_COCS): this statement reads across CoCs on purpose.
ALL_COCS = {"cas_all_cocs": True}


def scope_to_coc(session: Any, coc_id: uuid.UUID) -> None:
    """Confine the ORM reads of ``session`` (sync or async) to ``coc_id`` from now on."""
    session.info[_SCOPE] = coc_id


# The CoC is a bound parameter of one option per table, made once: the statement cache keeps
# working and the options cost little per statement.
_PARAM = "cas_coc_scope"


@cache
def _option(mapper: Mapper[Any]) -> Any | None:
    """The criterion for ``mapper``'s table when it is distributed (a NOT NULL ``coc_id``)."""
    table = mapper.local_table
    column = getattr(table, "c", {}).get("coc_id")
    name = getattr(table, "name", "")
    if column is None or column.nullable or name in GLOBAL_TABLES or name in REFERENCE_TABLES:
        return None
    return with_loader_criteria(
        mapper.class_, mapper.class_.coc_id == bindparam(_PARAM), include_aliases=True
    )


@event.listens_for(Session, "do_orm_execute")
def _confine(orm_execute_state: ORMExecuteState) -> None:
    coc_id = orm_execute_state.session.info.get(_SCOPE)
    if coc_id is None or not orm_execute_state.is_select:
        return
    if orm_execute_state.execution_options.get("cas_all_cocs"):
        return
    params = orm_execute_state.parameters
    if params is not None and not isinstance(params, Mapping):
        return  # several parameter sets: a bulk write, not a read
    options = [o for m in orm_execute_state.all_mappers if (o := _option(m)) is not None]
    if options:
        orm_execute_state.statement = orm_execute_state.statement.options(*options)
        orm_execute_state.parameters = {**(params or {}), _PARAM: coc_id}


__all__ = ["ALL_COCS", "scope_to_coc"]
