"""The certainty rule and the statuses it leads to (docs/architecture.md, "Certainty and status"), at its edges."""

from __future__ import annotations

import datetime as dt

import pytest

from asistencia.domain import certainty, outcome


@pytest.mark.parametrize(("response_ms", "expected"), [
    (0, 0.0), (150, 0.0), (275, 0.5), (400, 1.0), (3000, 1.0), (8000, 1.0), (14000, 0.5), (20000, 0.0),
    (60000, 0.0),
])
def test_plausibility_of_one_round(response_ms, expected):
    assert certainty.plausibility(response_ms) == pytest.approx(expected)


def test_typical_phones_in_the_room_score_high():
    assert certainty.certainty([620, 910, 760]) == 100
    assert certainty.certainty([450, 1500, 800, 1100]) == 100
    assert certainty.certainty([2500]) == 100


def test_implausibly_fast_answers_score_zero():
    assert certainty.certainty([40, 60, 55]) == 0
    assert certainty.certainty([149, 150, 120]) == 0


def test_very_slow_answers_score_low():
    assert certainty.certainty([19000, 21000, 25000]) < 10
    assert certainty.certainty([12000, 12500, 13000]) < 70


def test_one_implausible_round_out_of_three_makes_it_doubtful():
    assert certainty.certainty([80, 700, 800]) < outcome.PRESENT_MIN_CERTAINTY
    assert certainty.certainty([700, 800, 30000]) < outcome.PRESENT_MIN_CERTAINTY


def test_wildly_inconsistent_answers_score_low_even_when_each_is_plausible():
    spread = [400, 7000, 500]
    assert all(certainty.plausibility(rt) == 1 for rt in spread)
    assert certainty.certainty(spread) < outcome.PRESENT_MIN_CERTAINTY
    assert certainty.consistency([1000, 1000]) == 1.0
    # cv of [100, 100, 100, 100, 5000] is 1.81: past the point where the factor bottoms out.
    assert certainty.consistency([100, 100, 100, 100, 5000]) == certainty.INCONSISTENT_FACTOR
    assert 0.4 < certainty.consistency([400, 7900]) < 0.8


def test_consistency_edges():
    assert certainty.consistency([5000]) == 1.0
    assert certainty.consistency([0, 0]) == certainty.INCONSISTENT_FACTOR
    assert certainty.certainty([]) == 0


def test_status_from_certainty_and_lateness():
    assert outcome.status_for(70, late=False) == outcome.PRESENT
    assert outcome.status_for(70, late=True) == outcome.LATE
    assert outcome.status_for(69, late=False) == outcome.DOUBTFUL
    assert outcome.status_for(0, late=True) == outcome.DOUBTFUL


def test_lateness_is_measured_from_the_session_start():
    start = dt.datetime(2026, 11, 27, 13, 0, tzinfo=dt.timezone.utc)
    assert not outcome.is_late(start + dt.timedelta(minutes=10), start, 10)
    assert outcome.is_late(start + dt.timedelta(minutes=10, seconds=1), start, 10)
    assert not outcome.is_late(start + dt.timedelta(hours=3), start, None)


def test_completed_outcome_carries_the_statistics():
    result = outcome.completed([600, 900, 1200], late=False)
    assert result == outcome.Outcome(computed_status="PRESENT", certainty=100, rounds_completed=3, rt_mean_ms=900,
                                     rt_sd_ms=pytest.approx(244.949, abs=0.01), rt_min_ms=600, rt_max_ms=1200,
                                     rt_median_ms=900.0)
