"""Helpers shared by the parser tests: ways to cut a byte string, and a driver.

`chunkings(raw)` yields (label, pieces) for every way a test feeds a vector:
whole, line by line, byte by byte, and a few seeded random cuttings.
`feed(pieces)` drives one RequestParser over the pieces the way the server
does (next_request after every receive_data) and returns what came out.
"""

import random
from dataclasses import dataclass, field

from otuserver.http import HTTPError, Limits, Request, RequestParser

RANDOM_SEEDS = (1, 2, 3, 4, 5)


def random_pieces(raw: bytes, rng: random.Random) -> list[bytes]:
    """Cut `raw` at random places, sometimes into 1-byte pieces, sometimes big ones."""
    pieces, i = [], 0
    while i < len(raw):
        size = rng.choice((1, 1, 2, 3, 7, rng.randint(1, 64), rng.randint(1, len(raw))))
        pieces.append(raw[i:i + size])
        i += size
    return pieces


def chunkings(raw: bytes, seeds=RANDOM_SEEDS):
    """Every way we feed a vector: (label, list of pieces); joined, each is `raw` again."""
    yield "whole", [raw]
    yield "lines", raw.splitlines(keepends=True)
    yield "bytes", [raw[i:i + 1] for i in range(len(raw))]
    for seed in seeds:
        yield f"random{seed}", random_pieces(raw, random.Random(seed))


@dataclass
class Outcome:
    requests: list[Request] = field(default_factory=list)
    error: HTTPError | None = None
    parser: RequestParser | None = None
    fed: int = 0  # bytes handed to the parser when it stopped (an error) or finished

    @property
    def status(self) -> int | None:
        return None if self.error is None else self.error.status


def feed(pieces, limits: Limits = Limits()) -> Outcome:
    """Feed the pieces one by one, collecting requests until the parser raises."""
    outcome = Outcome(parser=RequestParser(limits))
    for piece in pieces:
        outcome.parser.receive_data(piece)
        outcome.fed += len(piece)
        while True:
            try:
                request = outcome.parser.next_request()
            except HTTPError as error:
                outcome.error = error
                return outcome
            if request is None:
                break
            outcome.requests.append(request)
            # Every request takes bytes; more requests than bytes would mean a loop that never ends.
            assert len(outcome.requests) <= outcome.fed, "parser returns requests without consuming bytes"
    return outcome


def summary(request: Request) -> tuple:
    """What a test compares: everything the parser decided about one request."""
    return (request.method, request.target, request.path, request.version,
            request.headers.items(), request.body)
