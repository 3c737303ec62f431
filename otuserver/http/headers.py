"""A case-insensitive, order-keeping collection of header fields.

Field names are case-insensitive (RFC 9110 §5.1), so they are stored lower-cased;
values are text decoded as ISO-8859-1 at the parser's edge (RFC 9110 §5.5 treats
other octets as opaque). Repeated fields are kept in order, because the framing
rules care how many Content-Length or Host lines arrived. It stores, looks up
and splits list values; what a field means (framing, Host, keep-alive) is for
the parser and messages.py to decide.
"""

from collections.abc import Iterable, Iterator

# RFC 9110 §5.1: a field name is a token.  §5.6.2:  token = 1*tchar
#   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
# The one spelling of the rule, as regex text: the parser checks requests with it
# (methods, field names, chunk extensions) and messages checks response fields.
TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"


class Headers:
    """Header fields of one message.

    `by_name` maps each lower-case name to its value (repeated fields joined): a
    plain dict, for code on the hot path that already has a lower-case name.
    Headers are read-only once built, by contract (nothing enforces it): the parser
    hands one Headers to every request that arrives with the same field lines, so a
    change to `by_name` would reach those later requests too.

    >>> h = Headers([("Host", "example.com"), ("Accept", "a"), ("accept", "b")])
    >>> h["host"], h.get("ACCEPT"), h.get_all("accept"), h.by_name["accept"]
    ('example.com', 'a, b', ['a', 'b'], 'a, b')
    """

    __slots__ = ("_items", "by_name", "repeated")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._adopt([(name.lower(), value) for name, value in items])

    @classmethod
    def from_lowered(cls, items: list[tuple[str, str]]) -> "Headers":
        """Adopt a list whose names are lower-cased already (the parser's, on its hot path)."""
        headers = cls.__new__(cls)
        headers._adopt(items)
        return headers

    def _adopt(self, items: list[tuple[str, str]]) -> None:
        self._items = items
        # Name -> value, built by dict() in one C call; most messages repeat no name.
        self.by_name: dict[str, str] = dict(items)
        self.repeated = len(self.by_name) != len(items)  # some name came on more than one line
        if self.repeated:
            self.by_name = _joined(items)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The field's value; repeated fields are joined with ", " as RFC 9110 §5.3 allows."""
        return self.by_name.get(name.lower(), default)

    def get_all(self, name: str) -> list[str]:
        """Every value of the field, one per field line, in arrival order."""
        name = name.lower()
        if self.repeated:
            return [value for field, value in self._items if field == name]
        value = self.by_name.get(name)
        return [] if value is None else [value]

    def __getitem__(self, name: str) -> str:
        return self.by_name[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.by_name

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


def _joined(items: list[tuple[str, str]]) -> dict[str, str]:
    """RFC 9110 §5.3: a field repeated on several lines means its values joined with ", ", in order.

    >>> _joined([("a", "1"), ("b", "2"), ("a", "3")])
    {'a': '1, 3', 'b': '2'}
    """
    joined: dict[str, str] = {}
    for name, value in items:
        joined[name] = joined[name] + ", " + value if name in joined else value
    return joined


def header_tokens(value: str | None) -> set[str]:
    """The comma-separated tokens of a list-valued field, lower-cased (RFC 9110 §5.6.1).

    >>> sorted(header_tokens("keep-alive, Upgrade"))
    ['keep-alive', 'upgrade']
    """
    if not value:
        return set()
    return {token.strip().lower() for token in value.split(",") if token.strip()}
