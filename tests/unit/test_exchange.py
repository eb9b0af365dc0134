"""The network simulator's plan for one request (LAYOUTS.md §6 rows)."""

from __future__ import annotations

import datetime as dt

from kenshin.lab.network_simulator import plan

REQUEST = ["6f1c2d9e-0000-4000-8000-000000000001", "0000000001", "131016", "2024", "2026"]
HISTORY = {"0000000001": [("04", dt.date(2025, 9, 1), "3", "4"), ("04", dt.date(2020, 9, 1), "1", "")]}
SENT = dt.date(2026, 7, 1)


def test_an_answer_holds_the_records_of_the_years_asked_for():
    [(due, row)] = plan(REQUEST, SENT, HISTORY, {"09": 0, "02": 0, "silent": 0})
    assert SENT < dt.date.fromisoformat(due) <= SENT + dt.timedelta(days=5)
    assert row == [REQUEST[0], "00", "131016", "04", "20250901", "3", "4"]   # 2020 is before FY2024
    [(_, none)] = plan(REQUEST, SENT, {}, {"09": 0, "02": 0, "silent": 0})
    assert none == [REQUEST[0], "01", "131016", "", "", "", ""]


def test_errors_silence_and_manual_answers():
    [(_, error)] = plan(REQUEST, SENT, HISTORY, {"09": 1, "02": 0, "silent": 0})
    assert error[1] == "09"
    assert plan(REQUEST, SENT, HISTORY, {"09": 0, "02": 0, "silent": 1}) == []
    (first, pending), (later, answer) = plan(REQUEST, SENT, HISTORY, {"09": 0, "02": 1, "silent": 0})
    assert pending[1] == "02" and answer[1] == "00"
    assert dt.date.fromisoformat(later) - dt.date.fromisoformat(first) == dt.timedelta(days=20)
