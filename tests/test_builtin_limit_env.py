"""EQUALCTAR_BUILTIN_LIMIT parsed once (core.settings): clamped into the app's range, a bad value named."""

from __future__ import annotations

import pytest

from core.settings import BUILTIN_LIMIT_MAX, BUILTIN_LIMIT_MIN, builtin_limit_setting, parse_builtin_limit


@pytest.mark.parametrize("raw, value", [
    (None, None), ("", None), ("  ", None), ("600", 600), (" 600 ", 600), ("1,000", 1000), ("1_000", 1000),
    (str(BUILTIN_LIMIT_MIN), BUILTIN_LIMIT_MIN), (str(BUILTIN_LIMIT_MAX), BUILTIN_LIMIT_MAX),
])
def test_values_in_range_or_unset_are_used_without_a_note(raw, value):
    assert parse_builtin_limit(raw).value == value
    assert parse_builtin_limit(raw).note == ""


@pytest.mark.parametrize("raw, value", [("50", 100), ("0", 100), ("-5", 100), ("60000", 50_000)])
def test_values_out_of_range_are_clamped_with_a_note_naming_the_variable(raw, value):
    got = parse_builtin_limit(raw)
    assert got.value == value
    assert got.note.startswith(f"EQUALCTAR_BUILTIN_LIMIT={raw} is ") and f"{value:,} documents" in got.note


@pytest.mark.parametrize("raw", ["abc", "1e3", "12.5", "600 docs"])
def test_a_value_that_is_not_a_whole_number_falls_back_to_all_documents_by_name(raw):
    got = parse_builtin_limit(raw)
    assert got.value is None
    assert "EQUALCTAR_BUILTIN_LIMIT must be a whole number" in got.note and repr(raw) in got.note


def test_the_setting_reads_the_environment_at_call_time(monkeypatch):
    monkeypatch.setenv("EQUALCTAR_BUILTIN_LIMIT", "300")
    assert builtin_limit_setting().value == 300
    monkeypatch.delenv("EQUALCTAR_BUILTIN_LIMIT")
    assert builtin_limit_setting().value is None
