"""Plain SQL for the worker's hottest writes, built once per process from the models' metadata.

Every ticket's run starts the ticket, claims its steps (the two that start together in one
statement, ``rows_update``), completes each of the four and settles the ticket: eight conditional
UPDATEs. Django's ORM spends 0.3-0.8 ms of CPU building and compiling each one (a step's claim, with
its lease conditions, is the dearest), and in a worker whose threads share one interpreter lock that
time is added to every ticket's wall time. Measured by alternating runs: CPU per ticket in-process
16.4-19.3 -> 13.8-14.2 ms with the step claims and results alone.

So these statements are written in SQL with column names in braces (``{status}``; ``{table}`` is the
model's table; ``{step.status}`` another model's column, named in ``others``), and built once:
table and column names come quoted from ``_meta`` and every value is a parameter prepared by its own
field (JSON, Decimal and datetimes are stored exactly as the ORM stores them), the same on
PostgreSQL and SQLite, as ``routing/audit.py`` builds its insert. Everything else stays on the ORM.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

from django.db import connections
from django.db.models import Field, Model

_statements: dict[tuple[Any, ...], str] = {}


def row_update(
    model: type[Model],
    pk: int,
    values: dict[str, Any],
    *,
    where: str = "",
    params: list[Any] | tuple[Any, ...] = (),
    set_sql: str = "",
    others: dict[str, type[Model]] | None = None,
) -> int:
    """``UPDATE`` row ``pk`` of ``model`` with ``values`` (field name -> value) and ``set_sql`` (more
    assignments in SQL), where ``where`` holds with ``params``; the number of rows changed (0 or 1)."""
    connection = connections[model._default_manager.db]
    sql = _update_sql(model, connection, tuple(values), where, set_sql, others or {}, rows=0)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*_prepared(model, values, connection), pk, *params])
        return int(cursor.rowcount)


def rows_update(
    model: type[Model],
    pks: list[int],
    values: dict[str, Any],
    *,
    where: str = "",
    params: list[Any] | tuple[Any, ...] = (),
) -> set[int]:
    """``UPDATE`` the rows ``pks`` of ``model`` as ``row_update`` does, in one statement; the primary
    keys of the rows it changed (``RETURNING``), so a caller knows which of them its conditions took.
    Only where the database can return them (``can_update_returning``)."""
    if not pks:
        return set()
    connection = connections[model._default_manager.db]
    sql = _update_sql(model, connection, tuple(values), where, "", {}, rows=len(pks))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*_prepared(model, values, connection), *pks, *params])
        return {row[0] for row in cursor.fetchall()}


def can_update_returning(model: type[Model]) -> bool:
    """PostgreSQL, and SQLite from 3.35 (Django 5.2 itself accepts 3.31: Debian 11 ships 3.34)."""
    return bool(connections[model._default_manager.db].features.can_return_columns_from_insert)


def _update_sql(
    model: type[Model],
    connection: Any,
    names_set: tuple[str, ...],
    where: str,
    set_sql: str,
    others: dict[str, type[Model]],
    *,
    rows: int,
) -> str:
    """The statement, built once per process: one row by its key (``rows=0``), or ``rows`` keys
    with the changed ones returned."""
    key = (connection.alias, model, names_set, where, set_sql, tuple(others.items()), rows)
    sql = _statements.get(key)
    if sql is None:
        names = _names(model, connection)
        scope = {**vars(names), **{alias: _names(other, connection) for alias, other in others.items()}}
        assignments = [f"{getattr(names, name)} = %s" for name in names_set]
        if set_sql:
            assignments.append(set_sql.format(**scope))
        condition = f" AND ({where.format(**scope)})" if where else ""
        target = (
            f"= %s{condition}"
            if not rows
            else f"IN ({', '.join(['%s'] * rows)}){condition} RETURNING {names.pk}"
        )
        # names from _meta, quoted; every value is a parameter
        sql = f"UPDATE {names.table} SET {', '.join(assignments)} WHERE {names.pk} {target}"  # noqa: S608
        _statements[key] = sql
    return sql


def _prepared(model: type[Model], values: dict[str, Any], connection: Any) -> list[Any]:
    fields = _fields(model)
    return [fields[name].get_db_prep_save(value, connection) for name, value in values.items()]


def prep(model: type[Model], name: str, value: Any) -> Any:
    """``value`` as the database takes it for ``model``'s field ``name`` (for a condition's parameter)."""
    return _fields(model)[name].get_db_prep_save(value, connections[model._default_manager.db])


def _names(model: type[Model], connection: Any) -> SimpleNamespace:
    quote = connection.ops.quote_name
    columns = {name: quote(field.column) for name, field in _fields(model).items()}
    pk = model._meta.pk
    assert pk is not None
    return SimpleNamespace(table=quote(model._meta.db_table), pk=quote(pk.column), **columns)


@functools.cache
def _fields(model: type[Model]) -> dict[str, Field[Any, Any]]:
    return {field.name: field for field in model._meta.concrete_fields}


def current_steps_with_ticket(ticket_id: int) -> list[Any]:
    """The ticket's current step rows in one query, each with the one ticket object (and its router)
    attached, as ``select_related("ticket__router")`` would load them: the start of every run."""
    from triage.models import Router, Ticket, TriageStep

    models = (TriageStep, Ticket, Router)
    connection = connections[TriageStep._default_manager.db]
    key = (connection.alias, "current_steps_with_ticket")
    sql = _statements.get(key)
    if sql is None:
        step, ticket, router = (_names(model, connection) for model in models)
        columns = ", ".join(
            f"{names.table}.{getattr(names, field)}"
            for model, names in zip(models, (step, ticket, router), strict=True)
            for field in _fields(model)
        )
        sql = (
            f"SELECT {columns} FROM {step.table} "  # noqa: S608 - names from _meta
            f"JOIN {ticket.table} ON {ticket.table}.{ticket.pk} = {step.table}.{step.ticket} "
            f"JOIN {router.table} ON {router.table}.{router.pk} = {ticket.table}.{ticket.router} "
            f"WHERE {step.table}.{step.ticket} = %s AND {step.table}.{step.is_current} = %s"
        )
        _statements[key] = sql
    with connection.cursor() as cursor:
        cursor.execute(sql, [ticket_id, True])
        rows = cursor.fetchall()
    steps: list[Any] = []
    ticket_object = None
    for row in rows:
        values = iter(row)
        step_row, ticket_row, router_row = (
            _from_db(model, [next(values) for _ in _fields(model)], connection) for model in models
        )
        if ticket_object is None:
            ticket_object = ticket_row
            ticket_object.router = router_row
        step_row.ticket = ticket_object
        steps.append(step_row)
    return steps


def _from_db(model: type[Model], values: list[Any], connection: Any) -> Any:
    """A model instance from a row of its concrete fields, converted as the ORM's own reads convert
    them (the backend's converters, then the field's: JSON, SQLite's dates and booleans)."""
    converters = _converters(model, connection.alias)
    converted = []
    for (column, functions), value in zip(converters, values, strict=True):
        for function in functions:
            value = function(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, [column.target.attname for column, _ in converters], converted)


@functools.cache
def _converters(model: type[Model], alias: str) -> list[tuple[Any, list[Any]]]:
    connection = connections[alias]
    found = []
    for field in _fields(model).values():
        column = field.get_col(model._meta.db_table)
        backend, own = connection.ops.get_db_converters(column), column.get_db_converters(connection)
        found.append((column, backend + own))
    return found
