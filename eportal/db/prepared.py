"""ORM queries compiled to SQL once per process, then run with new values.

The hot pages run the same few queries on every request with different values (the
patient's id, a week's dates). Building and compiling a queryset costs far more Python than
PostgreSQL needs to answer it, so :class:`PreparedQuery` compiles the queryset once, with a
placeholder value for each argument, remembers the SQL and where each argument's value goes
among its parameters, and afterwards only binds the new values, executes and turns the rows
into what the queryset would have returned (model instances with their ``select_related``
objects, or ``values_list`` tuples), using the compiler's own converters and populators.

The queryset stays the single statement of the query; the tests compare both. Rules for a
builder (checked where they can be, with an error at the first compile):

- every argument is used as a plain value: ``field=value``, ``field__in=[...]``, ``gte``,
  ``lt``..., not inside a string lookup such as ``icontains`` that rewrites it;
- an argument that changes the *shape* of the query (``None`` or not, a ``bool``, the length
  of a list) is part of the cache key: each shape is compiled once;
- the queryset uses a plain model or ``values_list`` iterable, no ``prefetch_related``.
"""

from __future__ import annotations

import contextlib
import datetime
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connections, transaction
from django.db.models import BigIntegerField, Expression, QuerySet
from django.db.models.query import (  # type: ignore[attr-defined]  # private get_related_populators
    FlatValuesListIterable,
    ModelIterable,
    ValuesListIterable,
    get_related_populators,
)

# Placeholders: values no real row has, inside every integer field's range (Django treats an
# out-of-range value as matching nothing, which would drop it from the SQL).
_INT_BASE = 1_987_654_321
_DATETIME_BASE = datetime.datetime(1111, 1, 1, tzinfo=datetime.UTC)
_DATE_BASE = datetime.date(1111, 1, 1)


def _sentinel(kind: type, n: int) -> Any:
    if kind is int:
        return _INT_BASE - n
    if kind is str:
        return f"\x1eprepared-{n}\x1e"
    if kind is datetime.datetime:
        return _DATETIME_BASE + datetime.timedelta(seconds=n)
    if kind is datetime.date:
        return _DATE_BASE + datetime.timedelta(days=n)
    raise TypeError(f"PreparedQuery cannot bind a {kind.__name__}")


def _shape(value: Any) -> Any:
    """What of an argument is baked into the SQL (the rest is bound per call)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, list | tuple):
        return ("list", len(value), tuple(type(v) for v in value))
    return type(value)


@dataclass
class _Compiled:
    sql: str
    #: Per parameter: a constant, or (argument name, index in a list argument or None, adapt).
    slots: list[tuple[bool, Any]]
    materialize: Callable[[list[tuple[Any, ...]]], list[Any]]
    fast_timestamps: bool = False


class PreparedQuery:
    """``PreparedQuery(lambda pk, clinic_id: Patient.objects.filter(...))(pk=1, clinic_id=2)``.

    Returns a list: what ``list(queryset)`` would give. Arguments are passed by name.
    """

    def __init__(self, build: Callable[..., QuerySet[Any]], *, using: str = "default") -> None:
        self._build = build
        self._using = using
        self._lock = threading.Lock()
        # One compile per database alias and shape of arguments.
        self._cache: dict[tuple[str, tuple[Any, ...]], _Compiled] = {}

    def _compiled(self, connection: Any, values: dict[str, Any]) -> _Compiled:
        # By alias, not by connection object: the SQL depends on the database, and a threaded
        # server opens a connection per thread (a key per connection would grow for ever).
        key = (connection.alias, tuple((name, _shape(v)) for name, v in sorted(values.items())))
        compiled = self._cache.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._cache.get(key) or self._compile(connection, values)
                self._cache[key] = compiled
        return compiled

    def _params(self, compiled: _Compiled, values: dict[str, Any]) -> list[Any]:
        return [
            value if constant else self._bind(values, value) for constant, value in compiled.slots
        ]

    def __call__(self, **values: Any) -> list[Any]:
        connection = connections[self._using]
        compiled = self._compiled(connection, values)
        params = self._params(compiled, values)
        with connection.cursor() as cursor:
            if compiled.fast_timestamps:
                _use_c_timestamp_loader(cursor.cursor)
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        return compiled.materialize(rows)

    def send(self, **values: Any) -> Callable[[], list[Any]]:
        """Run it without waiting for the rows (a lock): inside :func:`pipeline` the
        statement goes out with the next one whose result is read. Call the result to read
        the rows, if needed, once the transaction has gone on (no round trip of its own
        then)."""
        connection = connections[self._using]
        compiled = self._compiled(connection, values)
        cursor = connection.cursor()
        try:
            if compiled.fast_timestamps:
                _use_c_timestamp_loader(cursor.cursor)
            cursor.execute(compiled.sql, self._params(compiled, values))
        except BaseException:
            cursor.close()
            raise

        def rows() -> list[Any]:
            with cursor:
                return compiled.materialize(cursor.fetchall())

        return rows

    def first(self, **values: Any) -> Any:
        found = self(**values)
        return found[0] if found else None

    @staticmethod
    def _bind(values: dict[str, Any], slot: tuple[str, int | None, Callable[[Any], Any]]) -> Any:
        name, index, adapt = slot
        value = values[name] if index is None else values[name][index]
        return adapt(value)

    def _compile(self, connection: Any, values: dict[str, Any]) -> _Compiled:
        ops = connection.ops
        sentinels: dict[str, Any] = {}
        # (sentinel as it appears among the parameters) -> (name, list index, adapter)
        lookup: dict[Any, tuple[str, int | None, Callable[[Any], Any]]] = {}
        counter = 0

        def placeholder(name: str, value: Any, index: int | None) -> Any:
            nonlocal counter
            counter += 1
            kind = type(value)
            sentinel = _sentinel(kind, counter)
            adapters: list[Callable[[Any], Any]] = [lambda v: v]
            if kind is datetime.datetime:
                adapters.append(ops.adapt_datetimefield_value)
            elif kind is datetime.date:
                adapters.append(ops.adapt_datefield_value)
            for adapt in adapters:
                lookup[_hashable(adapt(sentinel))] = (name, index, adapt)
            return sentinel

        for name, value in values.items():
            if value is None or isinstance(value, bool):
                sentinels[name] = value
            elif isinstance(value, list | tuple):
                sentinels[name] = [placeholder(name, v, i) for i, v in enumerate(value)]
            else:
                sentinels[name] = placeholder(name, value, None)

        queryset = self._build(**sentinels).using(connection.alias)
        # QuerySet's private state, read to refuse what the prepared path cannot replay.
        if queryset._prefetch_related_lookups or queryset._known_related_objects:  # type: ignore[attr-defined]
            raise ValueError("PreparedQuery does not support prefetch_related")
        compiler = queryset.query.get_compiler(using=connection.alias)
        sql, params = compiler.as_sql()
        slots: list[tuple[bool, Any]] = []
        found = set()
        for param in params:
            slot = lookup.get(_hashable(param))
            if slot is None:
                if isinstance(param, str) and "\x1eprepared-" in param:
                    raise ValueError("A PreparedQuery argument was rewritten by its lookup")
                slots.append((True, param))
            else:
                slots.append((False, slot))
                found.add((slot[0], slot[1]))
        missing = [
            name
            for name, value in values.items()
            if not (value is None or isinstance(value, bool))
            and not all(
                (name, i) in found
                for i in (range(len(value)) if isinstance(value, list | tuple) else [None])
            )
        ]
        if missing:
            raise ValueError(f"PreparedQuery arguments not found in the SQL: {missing}")
        fast = connection.vendor == "postgresql" and connection.timezone_name == "UTC"
        return _Compiled(sql, slots, _materializer(queryset, compiler), fast)


def _use_c_timestamp_loader(cursor: Any) -> None:
    """Read ``timestamptz`` with psycopg's C loader on this cursor.

    Django's connection-wide loader is Python (it parses each value, then sets ``tzinfo``);
    on a connection whose time zone is UTC, which Django sets when ``USE_TZ``, psycopg's C
    loader returns equal values with the same ``datetime.timezone.utc``, several times
    faster: a week of free slots is a hundred of them.
    """
    import psycopg
    from psycopg.pq import Format

    oid = psycopg.adapters.types["timestamptz"].oid
    cursor.adapters.register_loader(oid, psycopg.adapters.get_loader(oid, Format.TEXT))


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return (type(value), value)


def _materializer(queryset: QuerySet[Any], compiler: Any) -> Callable[[list[Any]], list[Any]]:
    db = queryset.db
    fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
    converters = compiler.get_converters(fields)

    def converted(rows: list[Any]) -> Any:
        return compiler.apply_converters(rows, converters) if converters else rows

    iterable = queryset._iterable_class
    if iterable is FlatValuesListIterable:
        return lambda rows: [row[0] for row in converted(rows)]
    # values_list's field names live in QuerySet's private _fields, not in the stubs.
    if iterable is ValuesListIterable and not queryset._fields:  # type: ignore[attr-defined]
        raise ValueError("PreparedQuery supports values_list with named fields")
    if iterable is ValuesListIterable:
        names = list(queryset._fields)  # type: ignore[attr-defined]
        selected = [
            *queryset.query.extra_select,
            *queryset.query.values_select,
            *queryset.query.annotation_select,
        ]
        if names == selected:
            return lambda rows: [tuple(row) for row in converted(rows)]
        positions = [selected.index(name) for name in names]
        return lambda rows: [tuple(row[i] for i in positions) for row in converted(rows)]
    if iterable is not ModelIterable:
        raise ValueError(f"PreparedQuery does not support {iterable.__name__}")

    select, klass_info = compiler.select, compiler.klass_info
    annotation_col_map = compiler.annotation_col_map
    model_cls = klass_info["model"]
    select_fields = klass_info["select_fields"]
    start, end = select_fields[0], select_fields[-1] + 1
    init_list = [f[0].target.attname for f in select[start:end]]
    populators = get_related_populators(klass_info, select, db)

    def models(rows: list[Any]) -> list[Any]:
        objects = []
        for row in converted(rows):
            obj = model_cls.from_db(db, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            if annotation_col_map:
                for attr_name, col_pos in annotation_col_map.items():
                    setattr(obj, attr_name, row[col_pos])
            objects.append(obj)
        return objects

    return models


class PreparedInsert:
    """``Model.objects.create(**values)`` with the INSERT statement compiled once per process.

    Builds the instance as ``create()`` does (defaults, ``auto_now_add``), binds each
    field's ``get_db_prep_save`` value and sets the primary key from ``RETURNING``. No
    ``save()`` override or model signal runs: use it for plain inserts of models that have
    neither (the tests hold the rows equal to ``create()``'s).
    """

    def __init__(self, model: type[Any], *, using: str = "default") -> None:
        self._model = model
        self._using = using
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, bool, bool], tuple[str, list[Any]]] = {}

    def __call__(self, *, fetch_pk: bool = True, **values: Any) -> Any:
        """Insert; ``fetch_pk=False`` does not wait for the new id (the instance keeps no
        primary key), so inside :func:`pipeline` the INSERT goes out with the next read.
        A primary key among the values (one from :func:`reserve_pk`) is inserted as given,
        and nothing is fetched."""
        obj = self._model(**values)
        connection = connections[self._using]
        with_pk = obj.pk is not None
        returning = fetch_pk and not with_pk
        key = (connection.alias, with_pk, returning)
        compiled = self._cache.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._cache[key] = self._compile(connection, obj, with_pk, returning)
        sql, fields = compiled
        params = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if returning:
                (obj.pk,) = cursor.fetchone()
        obj._state.adding = False
        obj._state.db = connection.alias
        return obj

    def _compile(
        self, connection: Any, obj: Any, with_pk: bool, returning: bool
    ) -> tuple[str, list[Any]]:
        from django.db.models.sql import InsertQuery

        meta = self._model._meta
        if not connection.features.can_return_columns_from_insert:
            raise ValueError("PreparedInsert needs INSERT … RETURNING")
        fields = [f for f in meta.local_concrete_fields if with_pk or f is not meta.auto_field]
        if any(getattr(f, "generated", False) for f in fields):
            raise ValueError("PreparedInsert does not support generated fields")
        query = InsertQuery(self._model)
        query.insert_values(fields, [obj])
        compiler = query.get_compiler(connection.alias)
        if returning:
            compiler.returning_fields = [meta.pk]
        ((sql, _params),) = compiler.as_sql()
        return sql, fields


class NextPk(Expression):
    """The next id of ``model``'s table, taken in the statement that selects it
    (``nextval`` of the id column's sequence): an INSERT with that id need not wait for
    ``RETURNING``. Like every ``nextval``, a rolled back transaction leaves a gap. SQLite has
    no sequences: there it is NULL, and the insert fetches its id.
    """

    output_field = BigIntegerField()

    def __init__(self, model: type[Any]) -> None:
        super().__init__()
        self.model = model

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        meta = self.model._meta
        return "nextval(pg_get_serial_sequence(%s, %s))", [
            connection.ops.quote_name(meta.db_table),
            meta.pk.column,
        ]

    def as_sqlite(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return "NULL", []


@contextlib.contextmanager
def pipeline(using: str = "default") -> Iterator[bool]:
    """psycopg 3's pipeline mode on PostgreSQL: statements whose results nobody reads
    (:meth:`PreparedQuery.send`, ``PreparedInsert(fetch_pk=False)``) go to the server with
    the next statement whose result is read, in one round trip instead of one each. The
    server still runs them one after the other, each with its own snapshot. Errors of those
    statements surface at that read or when the block ends, as Django's database errors.
    Elsewhere (SQLite) it does nothing. Yields whether pipeline mode is on.

    Keep it to statements you chose: ``cursor.rowcount`` is not known before a sync, so an
    ORM ``save()``/``update()`` inside it misreads "no row changed"; open it inside
    ``transaction.atomic()`` so the commit and the on-commit hooks run outside it (or use
    :func:`atomic_pipeline`).
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield False
        return
    import psycopg

    connection.ensure_connection()
    if not psycopg.Pipeline.is_supported():
        yield False
        return
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield True


@contextlib.contextmanager
def atomic_pipeline(using: str = "default") -> Iterator[None]:
    """``transaction.atomic()`` in :func:`pipeline` mode whose ``BEGIN`` and ``COMMIT`` cost
    no round trip of their own.

    psycopg, left to itself, sends a transaction's ``BEGIN`` in pipeline mode with a sync of
    its own (a round trip before the first statement), and Django's commit after the
    pipeline is another. Here, in the outermost atomic block on PostgreSQL, psycopg's
    connection is put in autocommit for the block's duration (Django's bookkeeping stays in
    its transaction) and the block sends ``BEGIN`` and ``COMMIT`` itself as statements of the
    pipeline: ``BEGIN`` goes out with the block's first read, ``COMMIT`` with whatever is
    still unsent when the block ends, and one sync reads every result. Django's own commit
    then finds the transaction ended (psycopg does nothing for an idle connection) and runs
    the on-commit hooks as usual, after pipeline mode.

    An error in any statement or in the ``COMMIT`` raises as Django's database error when
    the block ends; an exception in the block, or a block marked for rollback, rolls back;
    either way nothing of the block stays, as with ``atomic()``. Inside another atomic block
    (a savepoint), or with a connection that sets an isolation level, it is plain
    ``atomic()`` and :func:`pipeline`.

    A failed statement aborts the rest of the pipeline, so a savepoint inside the block
    cannot catch an error and go on (the whole block fails, safely): keep ``get_or_create``
    and ``sms_queue(idempotency_key=...)`` out of it.
    """
    connection = connections[using]
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=using):
        raw = connection.connection
        if not (
            outermost
            and connection.vendor == "postgresql"
            and raw.isolation_level is None
            and raw.read_only is None
            and raw.deferrable is None
        ):
            with pipeline(using):
                yield
            return
        from psycopg.pq import TransactionStatus

        raw.autocommit = True  # no BEGIN (and its sync) from psycopg; Django is unaware
        try:
            with pipeline(using):
                with raw.cursor() as cursor:
                    # Transaction commands are never prepared statements.
                    cursor.execute("BEGIN", prepare=False)
                yield
                # Django's own rule: a block marked for rollback (set_rollback(True), an
                # error caught inside mark_for_rollback_on_error) does not commit.
                if not connection.needs_rollback:
                    with raw.cursor() as cursor:
                        cursor.execute("COMMIT", prepare=False)
        finally:
            if raw.info.transaction_status in (
                TransactionStatus.INTRANS,
                TransactionStatus.INERROR,
            ):
                # psycopg's rollback(), not a ROLLBACK statement: it also forgets the
                # statements it meant to prepare in the aborted pipeline (the server
                # skipped them), or the next use of one fails "does not exist".
                with contextlib.suppress(Exception), connection.wrap_database_errors:
                    raw.rollback()
            if raw.info.transaction_status == TransactionStatus.IDLE:
                raw.autocommit = False
            else:  # a broken connection: Django discards it at the end of the request
                connection.needs_rollback = True
