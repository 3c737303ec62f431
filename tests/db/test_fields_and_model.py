"""Fields validate and convert; Model turns JSON into rows and back, with CRUD on a file of its own."""

import json
import math
import sqlite3

import pytest

from otuserver.db import (BooleanField, Conflict, Engine, FieldError, IntegerField, Model, RealField,
                          ValidationError)


class Reading(Model):
    table = "reading"
    reading_id = IntegerField(primary_key=True, min_value=1)
    value = RealField()
    valid = BooleanField()


class Sample(Model):
    """Plain numbers only: its JSON is written from the row's template."""
    table = "sample"
    sample_id = IntegerField(primary_key=True)
    value = RealField()
    count = IntegerField()


class Labelled(Model):
    """Plain numbers too, but it shapes its own JSON, so the template must not be used."""
    table = "labelled"
    sample_id = IntegerField(primary_key=True)
    value = RealField()
    count = IntegerField()

    def to_json(self) -> dict:
        return {"label": f"#{self.sample_id}", **super().to_json()}


@pytest.fixture
def db(tmp_path):
    engine = Engine(tmp_path / "readings.sqlite3", models=[Reading, Sample, Labelled])
    yield engine
    engine.close()


@pytest.mark.parametrize("value", [True, 1.0, "1", None, [], 2 ** 63, 0])
def test_integer_field_refuses_non_integers_and_out_of_range(value):
    with pytest.raises(FieldError):
        IntegerField(min_value=1).clean(value)


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 10 ** 400, True, "3.5", None])
def test_real_field_refuses_anything_but_a_finite_number(value):
    with pytest.raises(FieldError, match="finite number"):
        RealField().clean(value)


@pytest.mark.parametrize("value, expected", [(True, True), (False, False), ("true", True), ("false", False),
                                             ("TRUE", True)])
def test_boolean_field_takes_booleans_and_the_strings_true_and_false(value, expected):
    assert BooleanField().clean(value) is expected


@pytest.mark.parametrize("value", [1, 0, "yes", "", None, "1"])
def test_boolean_field_refuses_numbers_and_other_strings(value):
    with pytest.raises(FieldError, match="must be a boolean"):
        BooleanField().clean(value)


def test_from_json_names_every_problem_at_once():
    with pytest.raises(ValidationError) as caught:
        Reading.from_json({"value": "x", "extra": 1, "reading_id": 0})
    assert caught.value.fields == {"extra": "unknown field", "value": "must be a finite number",
                                   "valid": "is required", "reading_id": "must be between 1 and 9223372036854775807"}


@pytest.mark.parametrize("data", [[], "text", 3, None, True])
def test_from_json_refuses_a_body_that_is_not_an_object(data):
    with pytest.raises(ValidationError, match="must be a JSON object"):
        Reading.from_json(data)


def test_from_json_with_a_path_key_refuses_a_different_key_in_the_body():
    with pytest.raises(ValidationError) as caught:
        Reading.from_json({"reading_id": 2, "value": 1, "valid": True}, pk=3)
    assert "reading_id" in caught.value.fields
    assert Reading.from_json({"reading_id": 3, "value": 1, "valid": True}, pk=3).reading_id == 3


def test_a_model_without_exactly_one_primary_key_is_refused():
    with pytest.raises(TypeError, match="primary key"):
        class Broken(Model):
            table = "broken"
            value = RealField()


def test_a_table_name_that_is_not_an_identifier_is_refused():
    with pytest.raises(ValueError, match="identifier"):
        class Evil(Model):
            table = "x; DROP TABLE reading"
            evil_id = IntegerField(primary_key=True)


def test_insert_without_a_key_takes_the_next_one(db):
    first, second = Reading(value=1.0, valid=True), Reading(value=2.0, valid=False)
    first.insert(db)
    second.insert(db)
    assert (first.reading_id, second.reading_id) == (1, 2)
    assert Reading.get(db, 2) == second


def test_insert_of_an_existing_key_is_a_409_conflict_and_changes_nothing(db):
    Reading(reading_id=5, value=1.0, valid=True).insert(db)
    with pytest.raises(Conflict) as caught:
        Reading(reading_id=5, value=9.0, valid=False).insert(db)
    assert caught.value.status == 409
    assert Reading.get(db, 5).value == 1.0


def test_replace_and_delete_report_whether_the_row_existed(db):
    assert not Reading(reading_id=1, value=1.0, valid=True).replace(db)
    assert not Reading.delete(db, 1)
    Reading(reading_id=1, value=1.0, valid=True).insert(db)
    assert Reading(reading_id=1, value=2.0, valid=False).replace(db)
    assert Reading.get(db, 1).to_json() == {"reading_id": 1, "value": 2.0, "valid": False}
    assert Reading.delete(db, 1)
    assert Reading.get(db, 1) is None


def test_page_gives_the_count_and_a_slice_in_key_order(db):
    for key in (3, 1, 2, 5, 4):
        Reading(reading_id=key, value=float(key), valid=True).insert(db)
    count, rows = Reading.page(db, offset=1, limit=2)
    assert count == 5
    assert [r.reading_id for r in rows] == [2, 3]


def test_booleans_are_stored_as_0_and_1_and_read_back_as_booleans(db):
    Reading(reading_id=1, value=0.5, valid=True).insert(db)
    raw = db.connection().execute("SELECT valid FROM reading").fetchone()[0]
    assert raw == 1
    assert Reading.get(db, 1).valid is True


def test_the_table_refuses_a_boolean_column_value_other_than_0_or_1(db):
    db.connection()
    with pytest.raises(sqlite3.IntegrityError):
        db.connection().execute("INSERT INTO reading VALUES (1, 1.0, 2)")


def _compact_json(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


@pytest.mark.parametrize("value", [1.5, 3.0, 0.1 + 0.2, -0.0, 1e16, 1e-7, 5e-324, 1.7976931348623157e308,
                                   -123456789.125, 2.0 ** 53 + 2])
@pytest.mark.parametrize("count", [0, -1, 2 ** 63 - 1, -(2 ** 63)])
def test_get_json_of_plain_numbers_is_byte_for_byte_the_encoders_output(db, value, count):
    Sample(sample_id=7, value=value, count=count).insert(db)
    assert Sample._json_template is not None
    assert Sample.get_json(db, 7, _compact_json) == _compact_json(Sample.get(db, 7).to_json())


def test_get_json_of_a_missing_row_is_none(db):
    assert Sample.get_json(db, 1, _compact_json) is None


def test_get_json_of_booleans_goes_through_to_json_and_the_encoder(db):
    Reading(reading_id=1, value=0.5, valid=True).insert(db)
    assert Reading._json_template is None
    assert Reading.get_json(db, 1, _compact_json) == b'{"reading_id":1,"value":0.5,"valid":true}'


def test_get_json_of_a_model_with_its_own_to_json_uses_it(db):
    Labelled(sample_id=2, value=1.0, count=3).insert(db)
    assert Labelled.get_json(db, 2, _compact_json) == b'{"label":"#2","sample_id":2,"value":1.0,"count":3}'


def test_get_json_of_text_stored_behind_the_models_back_is_encoded_as_text(db):
    # SQLite keeps text that does not look like a number as text, even in a REAL column.
    db.connection().execute("INSERT INTO sample VALUES (1, 'a \"%r\" value', 2)")
    assert Sample.get_json(db, 1, _compact_json) == b'{"sample_id":1,"value":"a \\"%r\\" value","count":2}'


@pytest.mark.parametrize("stored, error", [
    ("9e999", ValueError),    # SQLite reads 9e999 as +Inf: JSON has no infinity
    ("-9e999", ValueError),
    ("X'00ff'", TypeError),   # a blob: bytes are not JSON either, and %r would write b'...'
])
def test_get_json_of_a_value_json_cannot_hold_fails_as_the_encoder_does(db, stored, error):
    db.connection().execute(f"INSERT INTO sample VALUES (1, 1.5, {stored})")
    with pytest.raises(error):
        Sample.get_json(db, 1, _compact_json)


def test_get_json_of_a_float_in_an_integer_column_is_written_as_the_encoder_does(db):
    # INTEGER affinity keeps 2.5 as a REAL: the value is a float where the model expects an int.
    db.connection().execute("INSERT INTO sample VALUES (1, 1.5, 2.5)")
    assert Sample.get_json(db, 1, _compact_json) == b'{"sample_id":1,"value":1.5,"count":2.5}'


def test_get_json_of_a_model_with_its_own_get_uses_it(db):
    class Hidden(Model):
        """The sample table, with row 1 hidden by its own get()."""
        table = "sample"
        sample_id = IntegerField(primary_key=True)
        value = RealField()
        count = IntegerField()

        @classmethod
        def get(cls, db, pk):
            return None if pk == 1 else super().get(db, pk)

    Sample(sample_id=1, value=1.0, count=1).insert(db)
    Sample(sample_id=2, value=2.0, count=2).insert(db)
    assert Hidden._json_template is None
    assert Hidden.get_json(db, 1, _compact_json) is None
    assert Hidden.get_json(db, 2, _compact_json) == b'{"sample_id":2,"value":2.0,"count":2}'
