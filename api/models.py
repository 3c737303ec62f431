"""The scoring API's two tables, as in the original project: interests and score.

Each is a Model whose client_id is the INTEGER PRIMARY KEY (so SQLite hands out
the next one when a client leaves it out). Validation lives in the field types;
nothing here knows about HTTP routes.
"""

from otuserver.db import BooleanField, IntegerField, Model, RealField


def client_id_field() -> IntegerField:
    return IntegerField(primary_key=True, min_value=1, example=1,
                        description="the client's id; optional on create, where a missing one becomes "
                                    "one more than the largest stored")


class Interests(Model):
    """What a client is interested in."""

    table = "interests"
    client_id = client_id_field()
    travel = BooleanField(example=True, description="interested in travel")
    hitech = BooleanField(example=False, description="interested in high tech")
    sport = BooleanField(example=True, description="interested in sport")
    music = BooleanField(example=False, description="interested in music")


class Score(Model):
    """A client's score."""

    table = "score"
    client_id = client_id_field()
    score = RealField(example=3.5, description="a finite number")


MODELS = [Interests, Score]
