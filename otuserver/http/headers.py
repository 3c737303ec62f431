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

    __slots__ = ("_items", "_joined")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = [(name.lower(), value) for name, value in items]
        self._joined: dict[str, str] | None = None

    def _index(self) -> dict[str, str]:
        # Built on first lookup: most requests ask for two or three fields, and
        # RFC 9110 §5.3 lets repeated fields be combined with a comma.
        if self._joined is None:
            joined: dict[str, str] = {}
            for name, value in self._items:
                joined[name] = f"{joined[name]}, {value}" if name in joined else value
            self._joined = joined
        return self._joined

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._index().get(name.lower(), default)

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [value for field, value in self._items if field == name]

    def __getitem__(self, name: str) -> str:
        return self._index()[name.lower()]

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
