"""Request-target helpers: split, percent-decode, parse the query (RFC 3986, RFC 9112 §3.2).

Pure functions on text. Decoding follows STYLE.md: percent-decode exactly once,
then read the bytes as UTF-8; anything that is not valid is a BadRequest. They
know nothing of routes or the file system: `remove_dot_segments` only rewrites a
path, and keeping a file under its root is the static-file handler's job.
"""

from .errors import BadRequest

_HEX = "0123456789abcdefABCDEF"


def split_target(target: str) -> tuple[str, str]:
    """Split an origin-form target into its path and query (the fragment never arrives).

    >>> split_target("/dir2/page.html?arg1=value&arg2=value")
    ('/dir2/page.html', 'arg1=value&arg2=value')
    """
    path, _, query = target.partition("?")
    return path, query


def percent_decode(text: str, *, plus_is_space: bool = False) -> str:
    """Decode %XX escapes once and read the result as UTF-8 (RFC 3986 §2.1).

    >>> percent_decode("/space%20in%20name.txt")
    '/space in name.txt'
    >>> percent_decode("/%D1%84%D0%B0%D0%B9%D0%BB")
    '/файл'
    >>> percent_decode("a+b", plus_is_space=True)
    'a b'
    """
    if plus_is_space:
        text = text.replace("+", " ")
    if "%" not in text:
        return text
    out = bytearray()
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "%":
            pair = text[i + 1:i + 3]
            if len(pair) != 2 or pair[0] not in _HEX or pair[1] not in _HEX:
                raise BadRequest(f"bad percent-escape {text[i:i + 3]!r}")
            out.append(int(pair, 16))
            i += 3
        else:
            out += char.encode("utf-8")
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("percent-decoded target is not valid UTF-8") from None


def parse_query(query: str) -> dict[str, list[str]]:
    """Parse an application/x-www-form-urlencoded query into name -> values.

    >>> parse_query("page=2&tag=a&tag=b%20c&empty=&flag")
    {'page': ['2'], 'tag': ['a', 'b c'], 'empty': [''], 'flag': ['']}
    """
    params: dict[str, list[str]] = {}
    for pair in query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        name = percent_decode(name, plus_is_space=True)
        params.setdefault(name, []).append(percent_decode(value, plus_is_space=True))
    return params


def encode_query(params: dict[str, str | list[str]]) -> str:
    """The inverse of parse_query, for building links (pagination's next/previous).

    >>> encode_query({"page": "3", "q": ["a b", "ü"]})
    'page=3&q=a+b&q=%C3%BC'
    """
    parts = []
    for name, values in params.items():
        for value in [values] if isinstance(values, str) else values:
            parts.append(f"{_quote(name)}={_quote(value)}")
    return "&".join(parts)


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _quote(text: str) -> str:
    out = []
    for byte in text.encode("utf-8"):
        if byte in _UNRESERVED:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def remove_dot_segments(path: str) -> str:
    """Resolve "." and ".." segments the way RFC 3986 §5.2.4 does, never rising above "/".

    >>> remove_dot_segments("/httptest/../../etc/passwd")
    '/etc/passwd'
    >>> remove_dot_segments("/d/index.html/.")
    '/d/index.html/'
    >>> remove_dot_segments("/a/./b/../c/")
    '/a/c/'
    """
    segments = path.split("/")
    output: list[str] = []
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == "..":
            if len(output) > 1:
                output.pop()
        elif segment != ".":
            output.append(segment)
            continue
        if last:
            output.append("")  # a final "." or ".." leaves a directory: keep the slash
    return "/".join(output) if output and output[0] == "" else "/" + "/".join(output)
