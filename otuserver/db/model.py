"""The Model base class: a table, its primary key, typed fields, JSON in and out, and CRUD.

A subclass names its table and declares Fields as class attributes:

    class Score(Model):
        table = "score"
        client_id = IntegerField(primary_key=True, min_value=1)
        score = RealField()

The SQL for each operation is built once per class from those names (checked
to be plain identifiers); values always travel as parameters. The CRUD is
exactly what otuserver.web's generic services need, and errors come out as
HTTPErrors: ValidationError (400), Conflict (409), DatabaseBusy (503). A Model
knows nothing of routing, requests or sockets: it is given decoded JSON, an
Engine and, for get_json, the encoder to write with.
"""

import sqlite3
from collections.abc import Callable
from math import isfinite
from typing import ClassVar

from .engine import Engine
from .errors import Conflict, ValidationError
from .fields import Field, FieldError, quote_identifier


class Model:
    """One row of `table`; attributes named after the fields hold the values."""

    table: ClassVar[str] = ""
    fields: ClassVar[dict[str, Field]] = {}
    pk_name: ClassVar[str] = ""
    _sql: ClassVar[dict[str, str]] = {}
    _from_db: ClassVar[list[tuple[str, Callable[[object], object]]]] = []
    _json_template: ClassVar[bytes | None] = None

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.fields = {name: value for name, value in vars(cls).items() if isinstance(value, Field)}
        keys = [name for name, field in cls.fields.items() if field.primary_key]
        if len(keys) != 1:
            raise TypeError(f"{cls.__name__} needs exactly one primary key field, has {keys}")
        cls.pk_name = keys[0]
        cls._sql = _statements(cls.table, cls.pk_name, list(cls.fields))
        # Only these fields read back differently from how SQLite stores them (a boolean is 0 or 1).
        cls._from_db = [(name, field.from_db) for name, field in cls.fields.items()
                        if type(field).from_db is not Field.from_db]
        cls._json_template = _json_template(cls)

    def __init__(self, **values: object) -> None:
        for name in self.fields:
            setattr(self, name, values.pop(name, None))
        if values:
            raise TypeError(f"unknown fields for {type(self).__name__}: {sorted(values)}")

    @property
    def pk_value(self) -> object:
        return getattr(self, self.pk_name)

    # -- JSON ------------------------------------------------------------------

    @classmethod
    def from_json(cls, data: object, *, pk: object = None) -> "Model":
        """A validated instance from a decoded JSON body, or ValidationError naming every bad field.

        The primary key may be left out (the database picks one); when `pk` comes
        from the path, a key in the body must agree with it.
        """
        if not isinstance(data, dict):
            raise ValidationError({}, f"request body must be a JSON object, not {_json_kind(data)}")
        fields = cls.fields
        values, errors = {}, {}
        # A subset test runs in C; only a body with a name the model lacks (rare) needs the loop.
        if not data.keys() <= fields.keys():
            errors = {name: "unknown field" for name in data if name not in fields}
        for name, field in fields.items():
            if name in data:
                try:
                    values[name] = field.clean(data[name])
                except FieldError as exc:
                    errors[name] = str(exc)
            elif not field.primary_key:
                errors[name] = "is required"
        if pk is not None:
            if values.get(cls.pk_name, pk) != pk:
                errors[cls.pk_name] = f"must match the path ({pk}) or be left out"
            values[cls.pk_name] = pk
        if errors:
            raise ValidationError(errors)
        values.setdefault(cls.pk_name, None)  # left out: the database picks it when the row is stored
        # Every field is in `values`, checked, so __init__ would only check the names again:
        # the dict becomes the instance's attributes, as in _from_row.
        instance = cls.__new__(cls)
        instance.__dict__ = values
        return instance

    def to_json(self) -> dict:
        """The object as a client sees it, e.g. {"client_id": 1, "score": 3.5}.

        A plain loop, not a comprehension: it runs for every object sent, and on
        Python 3.11 a comprehension is a call to a function of its own.
        """
        data = {}
        for name in self.fields:
            data[name] = getattr(self, name)
        return data

    @classmethod
    def get_json(cls, db: Engine, pk: object, encode: Callable[[dict], bytes]) -> bytes | None:
        """`encode(cls.get(db, pk).to_json())`, the stored object as JSON bytes, or None.

        `encode` writes compact JSON (no spaces), as otuserver.web's dump_json does.
        A row of plain numbers needs no instance, no dict and no encoder: its
        values go straight into the class's template, which writes the same bytes
        (a JSON encoder writes an int or a finite float as its repr).
        >>> from otuserver.db import IntegerField, RealField
        >>> class Point(Model):
        ...     table = "point"
        ...     point_id = IntegerField(primary_key=True)
        ...     x = RealField()
        >>> Point._json_template % (7, 0.5)
        b'{"point_id":7,"x":0.5}'
        """
        template = cls._json_template
        if template is None:
            instance = cls.get(db, pk)
            return None if instance is None else encode(instance.to_json())
        row = db.lookup(cls._sql["get"], (pk,))
        if row is None:
            return None
        # Only ints and finite floats, which %r writes exactly as JSON does, go into the
        # template. A column may hold anything SQLite accepts (text in a REAL column, say)
        # and JSON has no infinity, so any other value takes the encoder's path. The
        # check is inline, not a helper: it runs for every row sent, and there a
        # Python call costs more than the loop itself.
        for value in row:
            kind = type(value)
            if kind is not int and (kind is not float or not isfinite(value)):
                return encode(cls._from_row(row).to_json())
        return template % row

    @classmethod
    def parse_pk(cls, value: object) -> object | None:
        """The key if some row could have it, else None (so a lookup can answer 404 at once)."""
        try:
            return cls.fields[cls.pk_name].clean(value)
        except FieldError:
            return None

    @classmethod
    def json_schema(cls, *, for_input: bool = False) -> dict:
        """The JSON Schema of a body (`for_input`: the key is optional) or of a stored object."""
        required = [name for name, field in cls.fields.items() if not (for_input and field.primary_key)]
        return {"type": "object", "additionalProperties": False, "required": required,
                "properties": {name: field.json_schema(for_input=for_input)
                               for name, field in cls.fields.items()}}

    # -- SQL -------------------------------------------------------------------

    @classmethod
    def create_table_sql(cls) -> str:
        columns = ", ".join(field.column_sql() for field in cls.fields.values())
        return f"CREATE TABLE IF NOT EXISTS {quote_identifier(cls.table)} ({columns})"

    @classmethod
    def _from_row(cls, row: tuple) -> "Model":
        """An instance from a row whose columns come in field order (every SELECT here lists them so).

        It runs for every row read, so it skips __init__: a stored row needs no checks.
        """
        values = dict(zip(cls.fields, row))
        for name, from_db in cls._from_db:
            values[name] = from_db(values[name])
        instance = cls.__new__(cls)
        instance.__dict__ = values  # adopted, not copied: the row becomes the instance's attributes
        return instance

    def _db_values(self) -> list[object]:
        return [field.to_db(getattr(self, name)) for name, field in self.fields.items()]

    # -- CRUD ------------------------------------------------------------------

    @classmethod
    def get(cls, db: Engine, pk: object) -> "Model | None":
        """The row with key `pk`, or None."""
        # A primary key names at most one row, which is what Engine.lookup asks.
        row = db.lookup(cls._sql["get"], (pk,))
        return None if row is None else cls._from_row(row)

    @classmethod
    def page(cls, db: Engine, offset: int, limit: int) -> tuple[int, list["Model"]]:
        """The total count and one slice in key order, both from the same snapshot."""
        with db.read() as conn:
            count = conn.execute(cls._sql["count"]).fetchone()[0]
            rows = conn.execute(cls._sql["page"], (limit, offset)).fetchall()
        return count, [cls._from_row(row) for row in rows]

    def insert(self, db: Engine) -> None:
        """Store a new row; with no key, SQLite assigns the next one and we read it back."""
        with db.write() as conn:
            try:
                cursor = conn.execute(self._sql["insert"], self._db_values())
            except sqlite3.IntegrityError as exc:
                if _is_duplicate_key(exc):
                    raise Conflict(f"{type(self).__name__} with {self.pk_name} {self.pk_value} "
                                   "already exists") from None
                raise
            if self.pk_value is None:
                setattr(self, self.pk_name, cursor.lastrowid)

    def replace(self, db: Engine) -> bool:
        """Overwrite every field of the existing row; False when there is none."""
        values = [field.to_db(getattr(self, name)) for name, field in self.fields.items()
                  if not field.primary_key]
        with db.write() as conn:
            cursor = conn.execute(self._sql["update"], [*values, self.pk_value])
        return cursor.rowcount > 0

    @classmethod
    def delete(cls, db: Engine, pk: object) -> bool:
        """Remove the row with key `pk`; False when there was none."""
        with db.write() as conn:
            cursor = conn.execute(cls._sql["delete"], (pk,))
        return cursor.rowcount > 0

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.to_json() == self.to_json()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_json()})"


def _statements(table: str, pk: str, columns: list[str]) -> dict[str, str]:
    """The SQL text of every operation; only identifiers are put in, values are `?`.

    >>> _statements("score", "client_id", ["client_id", "score"])["update"]
    'UPDATE "score" SET "score" = ? WHERE "client_id" = ?'
    """
    t, k = quote_identifier(table), quote_identifier(pk)
    cols = [quote_identifier(c) for c in columns]
    others = [quote_identifier(c) for c in columns if c != pk]
    return {
        "get": f"SELECT {', '.join(cols)} FROM {t} WHERE {k} = ?",
        "count": f"SELECT COUNT(*) FROM {t}",
        "page": f"SELECT {', '.join(cols)} FROM {t} ORDER BY {k} LIMIT ? OFFSET ?",
        "insert": f"INSERT INTO {t} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        "update": f"UPDATE {t} SET {', '.join(c + ' = ?' for c in others)} WHERE {k} = ?",
        "delete": f"DELETE FROM {t} WHERE {k} = ?",
    }


def _json_template(cls: type) -> bytes | None:
    """`{"name":%r,...}` for a model whose JSON is its row as stored, else None.

    Field names are plain identifiers (quote_identifier checks), so each is its
    own JSON string between quotes, and a % in one cannot happen.
    """
    if cls.to_json is not Model.to_json or cls.get.__func__ is not Model.get.__func__ or cls._from_db:
        # The class shapes its JSON or its lookup itself, or converts values read back (booleans).
        return None
    return b"{" + b",".join(b'"%s":%%r' % name.encode() for name in cls.fields) + b"}"


def _is_duplicate_key(exc: sqlite3.IntegrityError) -> bool:
    name = getattr(exc, "sqlite_errorname", "")
    return name in ("SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE") or "UNIQUE" in str(exc)


def _json_kind(data: object) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if data is None else kinds.get(type(data), type(data).__name__)
