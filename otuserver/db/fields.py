"""Typed model fields: how a value is checked, stored in SQLite and shown as JSON.

Each Field turns a decoded JSON value into a Python value or raises
FieldError with a message for the client ("must be a boolean"); it also
gives its column definition and its JSON Schema. Column names come from the
attribute name a Field is assigned to, checked to be a plain identifier, so
no value from a request ever reaches SQL text. Fields know nothing of tables,
rows or HTTP: model.py gathers their FieldErrors into a 400.
"""

import math
import re

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# SQLite stores INTEGER as a signed 64-bit value; anything outside cannot be a key.
SQLITE_INT_MIN, SQLITE_INT_MAX = -(1 << 63), (1 << 63) - 1


class FieldError(ValueError):
    """One field's value is wrong; the message is shown to the client as is."""


def quote_identifier(name: str) -> str:
    """Quote a table or column name for SQL, refusing anything but a plain identifier.

    >>> quote_identifier("client_id")
    '"client_id"'
    """
    if not IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


class Field:
    """A column of a Model; subclasses define `clean`, `sql_type` and `base_schema`.

    One stored differently from its JSON value (BooleanField: 0 or 1) also
    overrides `to_db`, `from_db` and, for a CHECK constraint, `check_sql`.
    """

    sql_type = "TEXT"

    def __init__(self, *, primary_key: bool = False, description: str = "", example: object = None) -> None:
        self.primary_key = primary_key
        self.description = description
        self.example = example
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        quote_identifier(name)
        self.name = name

    def clean(self, value: object) -> object:
        """The value as stored, or FieldError."""
        raise NotImplementedError

    def to_db(self, value: object) -> object:
        return value

    def from_db(self, value: object) -> object:
        return value

    def column_sql(self) -> str:
        """This column in CREATE TABLE."""
        if self.primary_key:
            return f"{quote_identifier(self.name)} {self.sql_type} PRIMARY KEY"
        return f"{quote_identifier(self.name)} {self.sql_type} NOT NULL{self.check_sql()}"

    def check_sql(self) -> str:
        return ""

    def json_schema(self, *, for_input: bool = False) -> dict:
        schema = self.base_schema(for_input=for_input)
        if self.description:
            schema["description"] = self.description
        if self.example is not None:
            schema["example"] = self.example
        return schema

    def base_schema(self, *, for_input: bool) -> dict:
        return {"type": "string"}


class IntegerField(Field):
    """A whole number within bounds; `true` and `1.0` are not integers here.

    >>> IntegerField(min_value=1).clean(5)
    5
    >>> IntegerField(min_value=1).clean(True)
    Traceback (most recent call last):
    ...
    otuserver.db.fields.FieldError: must be an integer
    """

    sql_type = "INTEGER"

    def __init__(self, *, min_value: int = SQLITE_INT_MIN, max_value: int = SQLITE_INT_MAX, **kwargs) -> None:
        super().__init__(**kwargs)
        self.min_value, self.max_value = min_value, max_value

    def clean(self, value: object) -> int:
        # bool is a subclass of int in Python, but `true` is not a number in JSON.
        if isinstance(value, bool) or not isinstance(value, int):
            raise FieldError("must be an integer")
        if not self.min_value <= value <= self.max_value:
            raise FieldError(f"must be between {self.min_value} and {self.max_value}")
        return value

    def base_schema(self, *, for_input: bool) -> dict:
        return {"type": "integer", "format": "int64", "minimum": self.min_value, "maximum": self.max_value}


class RealField(Field):
    """A finite number, stored as REAL; integers are accepted and widened.

    >>> RealField().clean(3), RealField().clean(2.5)
    (3.0, 2.5)
    """

    sql_type = "REAL"

    def clean(self, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FieldError("must be a finite number")
        try:
            number = float(value)
        except OverflowError:  # an integer literal too big for a double
            raise FieldError("must be a finite number") from None
        # json.loads turns 1e999 into inf; a score must be a real number.
        if not math.isfinite(number):
            raise FieldError("must be a finite number")
        return number

    def base_schema(self, *, for_input: bool) -> dict:
        return {"type": "number", "format": "double"}


_TRUE_OR_FALSE_ANY_CASE = "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$"


class BooleanField(Field):
    """true or false, stored as 0 or 1; the strings "true"/"false" (in any letter case)
    are accepted too, because the original project's Postman collection sent them.

    >>> BooleanField().clean(True), BooleanField().clean("false")
    (True, False)
    """

    sql_type = "INTEGER"
    STRINGS = {"true": True, "false": False}

    def clean(self, value: object) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in self.STRINGS:
            return self.STRINGS[value.lower()]
        raise FieldError("must be a boolean")

    def to_db(self, value: object) -> int:
        return int(bool(value))

    def from_db(self, value: object) -> bool:
        return bool(value)

    def check_sql(self) -> str:
        return f" CHECK ({quote_identifier(self.name)} IN (0, 1))"

    def base_schema(self, *, for_input: bool) -> dict:
        if for_input:
            # clean() takes the strings in any letter case, and JSON Schema's patterns (ECMA-262)
            # have no flag to ignore case, so the pattern spells both cases out.
            return {"oneOf": [{"type": "boolean"}, {"type": "string", "pattern": _TRUE_OR_FALSE_ANY_CASE}]}
        return {"type": "boolean"}
