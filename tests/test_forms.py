"""Server-side validation of a step's form."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.definition.model import Field, Option, Text
from runner.forms import MAX_TEXT, FieldError, clean


def field(id="f", type="text", **kw) -> Field:
    return Field(id=id, type=type, label=Text(id.upper()), **kw)


UNITS = {"dinkes": "Dinas Kesehatan", "disdik": "Dinas Pendidikan dan Kebudayaan"}
KANAL = field("kanal", "select", options=(Option("web", Text("Situs web")), Option("sms", Text("SMS 1708"))))


def one(f: Field, value, **kw):
    """(value, error code) of one field."""
    values, errors = clean([f], {f.id: value} if value is not None else {}, **kw)
    err = errors.get(f.id)
    return values.get(f.id), (err.code if err else None)


# -- each type --------------------------------------------------------------------------------------
@pytest.mark.parametrize("f, raw, value", [
    (field(type="text"), "  Jalan   rusak\n di pasar ", "Jalan rusak di pasar"),  # one line, spaces folded
    (field(type="textarea"), "  baris satu\n\nbaris  dua  ", "baris satu\n\nbaris  dua"),  # kept as typed
    (field(type="number"), "42", 42),
    (field(type="number"), "7,5", 7.5),  # decimal comma
    (field(type="number"), "7.5", 7.5),
    (field(type="number"), " -3 ", -3),
    (field(type="number"), "1e3", 1000),
    (field(type="date"), "2026-12-25", "2026-12-25"),
    (field(type="email"), "budi@example.go.id", "budi@example.go.id"),
    (field(type="tel"), "+62 812-3456-7890", "+62 812-3456-7890"),
    (field(type="tel"), "(0567) 21234", "(0567) 21234"),
    (KANAL, "sms", "sms"),
    (field(type="unit"), "dinkes", "dinkes"),
])
def test_valid_values(f, raw, value):
    assert one(f, raw, units=UNITS) == (value, None)


def test_number_types_are_kept():
    assert isinstance(one(field(type="number"), "42")[0], int)
    assert isinstance(one(field(type="number"), "7,5")[0], float)
    assert isinstance(one(field(type="number"), "2,0")[0], int)


@pytest.mark.parametrize("f, raw, code", [
    (field(type="number"), "tujuh", "not_number"),
    (field(type="number"), "7,5,1", "not_number"),
    (field(type="number"), "NaN", "not_number"),
    (field(type="number"), "Infinity", "not_number"),
    (field(type="number"), "1e999999999", "not_number"),  # must not build a billion-digit integer
    (field(type="number", min=1), "0", "too_small"),
    (field(type="number", min=0.5), "0,4", "too_small"),
    (field(type="number", max=10), "10,5", "too_large"),
    (field(type="date"), "25-12-2026", "not_date"),
    (field(type="date"), "2026-02-30", "not_date"),
    (field(type="date"), "besok", "not_date"),
    (field(type="email"), "budi", "not_email"),
    (field(type="email"), "budi@", "not_email"),
    (field(type="email"), "budi @example.go.id", "not_email"),
    (field(type="tel"), "nomor saya", "not_phone"),
    (field(type="tel"), "123", "not_phone"),
    (KANAL, "fax", "not_option"),
    (KANAL, "Situs web", "not_option"),  # the label is not the value
    (field(type="unit"), "dpupr", "not_unit"),
    (field(type="text", max_length=5), "enam k", "too_long"),
    (field(type="textarea", max_length=5), "123456", "too_long"),
])
def test_invalid_values(f, raw, code):
    value, error = one(f, raw, units=UNITS)
    assert error == code
    assert value is None


def test_min_and_max_are_inclusive():
    f = field(type="number", min=1, max=10)
    assert one(f, "1") == (1, None)
    assert one(f, "10") == (10, None)
    assert one(f, "10,0") == (10, None)


def test_max_length_counts_characters_after_trimming():
    f = field(type="text", max_length=5)
    assert one(f, "  lima5  ") == ("lima5", None)
    assert one(f, "ééééé") == ("ééééé", None)


def test_text_has_a_hard_cap_even_without_max_length():
    value, code = one(field(type="textarea"), "x" * (MAX_TEXT + 1))
    assert code == "too_long"
    _, errors = clean([field(type="textarea")], {"f": "x" * (MAX_TEXT + 1)})
    assert errors["f"].params == {"max": MAX_TEXT}
    assert one(field(type="textarea", max_length=10 * MAX_TEXT), "x" * (MAX_TEXT + 1))[1] == "too_long"


@pytest.mark.parametrize("raw, checked", [
    ("on", True), ("true", True), ("1", True), ("ya", True), ("YES", True), (True, True),
    ("", False), ("off", False), ("0", False), ("tidak", False), (None, False),
])
def test_checkbox(raw, checked):
    assert one(field(type="checkbox"), raw) == (checked, None)


def test_required_checkbox_must_be_ticked():
    f = field(type="checkbox", required=True)
    assert one(f, None)[1] == "required"
    assert one(f, "on") == (True, None)


# -- required -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("type_", ["text", "textarea", "number", "date", "email", "tel", "select", "unit"])
@pytest.mark.parametrize("raw", [None, "", "   ", []])
def test_required_fields_must_be_filled(type_, raw):
    f = field(type=type_, required=True, options=KANAL.options if type_ == "select" else ())
    values, errors = clean([f], {} if raw is None else {"f": raw}, units=UNITS)
    assert errors["f"] == FieldError("required")
    assert errors["f"].message == "This field is required."


def test_empty_optional_fields_are_none():
    fields = [field("a"), field("b", "number"), field("c", "date"), KANAL]
    values, errors = clean(fields, {"a": "  ", "b": ""})
    assert errors == {}
    assert values == {"a": None, "b": None, "c": None, "kanal": None}


def test_also_required_makes_an_optional_field_required_for_one_action():
    fields = [field("alasan", "textarea"), field("catatan", "textarea")]
    values, errors = clean(fields, {"catatan": "ok"}, also_required=["alasan"])
    assert set(errors) == {"alasan"} and errors["alasan"].code == "required"
    values, errors = clean(fields, {"alasan": "spam"}, also_required=["alasan"])
    assert errors == {} and values == {"alasan": "spam", "catatan": None}


def test_all_errors_are_reported_together():
    fields = [field("a", required=True), field("b", "email"), field("c", "number", max=5)]
    _, errors = clean(fields, {"b": "x", "c": "6"})
    assert {k: e.code for k, e in errors.items()} == {"a": "required", "b": "not_email", "c": "too_large"}


def test_undeclared_inputs_are_ignored():
    values, errors = clean([field("a")], {"a": "x", "is_admin": "1", "state": "selesai"})
    assert values == {"a": "x"} and errors == {}


def test_a_repeated_input_uses_the_last_value():
    assert one(field(), ["pertama", "kedua"]) == ("kedua", None)


def test_unit_needs_the_known_units():
    assert one(field(type="unit"), "dinkes")[1] == "not_unit"  # no units given: nothing is valid
    assert one(field(type="unit"), "dinkes", units=UNITS) == ("dinkes", None)


# -- errors ---------------------------------------------------------------------------------------------
def test_field_errors_carry_a_code_and_parameters():
    _, errors = clean([field(type="text", max_length=3)], {"f": "panjang"})
    err = errors["f"]
    assert isinstance(err, FieldError)
    assert (err.code, dict(err.params)) == ("too_long", {"max": 3})
    assert err.message == "At most 3 characters." == str(err)
    _, errors = clean([field(type="number", min=2)], {"f": "1"})
    assert str(errors["f"]) == "Must be at least 2."


# -- never crashes ------------------------------------------------------------------------------------
ALL_FIELDS = [
    field("t", "text", max_length=50), field("ta", "textarea"), field("n", "number", min=-5, max=1e6),
    field("d", "date"), field("e", "email"), field("p", "tel"), KANAL, field("c", "checkbox"),
    field("u", "unit"), field("r", "text", required=True),
]
text_values = st.one_of(st.none(), st.text(max_size=60), st.lists(st.text(max_size=20), max_size=3),
                        st.from_regex(r"-?\d{1,40}([.,]\d{1,10})?([eE][-+]?\d{1,12})?", fullmatch=True))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([f.id for f in ALL_FIELDS] + ["x"]), text_values))
def test_clean_never_raises(raw):
    values, errors = clean(ALL_FIELDS, raw, also_required=["e"], units=UNITS)
    assert set(values) | set(errors) == {f.id for f in ALL_FIELDS}
    assert not set(values) & set(errors)
    for err in errors.values():
        assert isinstance(err, FieldError)
        assert err.message  # every code has a message


# -- hostile input ------------------------------------------------------------------------------------
TEXT_LIKE = ["text", "textarea", "email", "tel", "number", "date", "select", "unit"]
CONTROLS = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9f", "\ud800"]


@pytest.mark.parametrize("type_", TEXT_LIKE)
@pytest.mark.parametrize("ch", CONTROLS)
def test_control_characters_are_refused_in_every_field(type_, ch):
    f = field(type=type_, options=KANAL.options if type_ == "select" else ())
    good = {"number": "5", "date": "2026-12-25", "email": "a@contoh.go.id", "tel": "0812345678",
            "select": "web", "unit": "dinkes"}.get(type_, "isi")
    for raw in (good[:1] + ch + good[1:], good + ch, ch):  # inside, at the end (not trimmed away), alone
        assert one(f, raw, units=UNITS) == (None, "control_chars"), repr(raw)
    assert FieldError("control_chars").message == "Remove the invisible control characters from this text."


def test_tab_newline_and_carriage_return_are_ordinary_typing():
    assert one(field(type="textarea"), "satu\r\ndua\rtiga\n\tempat") == ("satu\ndua\ntiga\n\tempat", None)
    assert one(field(type="text"), "satu\r\ndua\ttiga") == ("satu dua tiga", None)
    assert one(field(type="email"), "a@contoh.go.id\r\nBcc: x@y.z")[1] == "not_email"
    assert one(field(type="tel"), "0812345678\n0812")[1] == "not_phone"


def test_a_textarea_counts_a_line_break_once():
    f = field(type="textarea", max_length=3)
    assert one(f, "a\r\nb") == ("a\nb", None)


def test_other_unicode_is_kept():
    text = "Jalan rusak 💥 \u202e ١٢٣ \ufeff zero\u200bwidth"
    assert one(field(type="textarea"), text) == (text, None)


@pytest.mark.parametrize("raw", ["20261225", "2026-W52-5", "2026-359", "２０２６-12-25", "2026-12-25T00:00"])
def test_a_date_is_only_yyyy_mm_dd(raw):
    assert one(field(type="date"), raw)[1] == "not_date"


@pytest.mark.parametrize("raw", [str(2**63), str(2**64), "9" * 40, "-" + "9" * 40, "1e31", "1e-999999999999999999999"])
def test_numbers_beyond_any_column_are_refused_or_bounded(raw):
    value, code = one(field(type="number"), raw)
    assert code == "not_number" or (code is None and abs(value) < 10**31), (raw, value, code)
