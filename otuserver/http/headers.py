"""A case-insensitive, order-keeping collection of header fields.

Field names are case-insensitive (RFC 9110 §5.1), so they are stored lower-cased;
values are text decoded as ISO-8859-1 at the parser's edge (RFC 9110 §5.5 treats
other octets as opaque). Repeated fields are kept in order, because the framing
rules care how many Content-Length or Host lines arrived.
"""

from collections.abc import Iterable, Iterator


class Headers:
    """Header fields of one message.

    >>> h = Headers([("Host", "example.com"), ("Accept", "a"), ("accept", "b")])
    >>> h["host"], h.get("ACCEPT"), h.get_all("accept")
    ('example.com', 'a, b', ['a', 'b'])
    """

    __slots__ = ("_items", "_values")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = [(name.lower(), value) for name, value in items]
        self._values: dict[str, list[str]] | None = None

    @classmethod
    def from_lowered(cls, items: list[tuple[str, str]]) -> "Headers":
        """Adopt a list whose names are lower-cased already (the parser's, on its hot path)."""
        headers = cls.__new__(cls)
        headers._items = items
        headers._values = None
        return headers

    def _index(self) -> dict[str, list[str]]:
        # Name -> its values in arrival order, built on the first lookup only.
        if self._values is None:
            values: dict[str, list[str]] = {}
            for name, value in self._items:
                if name in values:
                    values[name].append(value)
                else:
                    values[name] = [value]
            self._values = values
        return self._values

    def get(self, name: str, default: str | None = None) -> str | None:
        """The field's value; repeated fields are joined with ", " as RFC 9110 §5.3 allows."""
        values = self._index().get(name.lower())
        if values is None:
            return default
        return values[0] if len(values) == 1 else ", ".join(values)

    def get_all(self, name: str) -> list[str]:
        return list(self._index().get(name.lower(), ()))

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index()

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


def header_tokens(value: str | None) -> set[str]:
    """The comma-separated tokens of a list-valued field, lower-cased (RFC 9110 §5.6.1).

    >>> sorted(header_tokens("keep-alive, Upgrade"))
    ['keep-alive', 'upgrade']
    """
    if not value:
        return set()
    return {token.strip().lower() for token in value.split(",") if token.strip()}
