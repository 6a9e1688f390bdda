"""The certainty rule (docs/certainty.md) and the statuses it leads to, at its edges."""

from __future__ import annotations

import datetime as dt

import pytest

from asistencia.domain import certainty, outcome


def _status(response_ms: list[int]) -> str:
    return outcome.completed(response_ms, late=False).computed_status


@pytest.mark.parametrize(("typical_ms", "expected"), [
    (0, 0), (49, 0), (50, 100), (1500, 100), (1700, 85), (1900, 70), (1901, 70), (1910, 69), (2833, 0),
    (60_000, 0),
])
def test_score_of_a_typical_response_time(typical_ms, expected):
    assert certainty.score(typical_ms) == expected


def test_the_present_line_of_the_rule_is_the_outcomes():
    assert certainty.PRESENT_SCORE == outcome.PRESENT_MIN_CERTAINTY
    assert certainty.score(certainty.PRESENT_UNTIL_MS) == outcome.PRESENT_MIN_CERTAINTY


def test_fast_phones_already_aimed_at_the_screen_are_present():
    assert _status([100, 140, 120]) == outcome.PRESENT
    assert _status([350, 400, 210]) == outcome.PRESENT


def test_typical_phones_in_the_room_are_present():
    assert _status([620, 910, 760]) == outcome.PRESENT
    assert _status([450, 1500, 800, 1100]) == outcome.PRESENT
    assert _status([1850]) == outcome.PRESENT


def test_one_round_held_up_by_the_network_does_not_doubt_a_student():
    assert certainty.certainty([300, 6500, 400]) == 100
    assert certainty.certainty([15_000, 1200, 900]) == 100
    assert certainty.certainty([300, 4000]) == 100  # of two rounds, the faster counts
    assert certainty.certainty([200, 9000, 300, 8000]) == 100


def test_sightings_relayed_elsewhere_round_after_round_are_not_present():
    assert _status([2100, 2200, 2150]) == outcome.DOUBTFUL  # +2 s to a fast phone
    assert _status([4300, 4100, 4200]) == outcome.DOUBTFUL
    assert certainty.certainty([8200, 8500, 8100]) == 0
    assert _status([2050, 400, 2300]) == outcome.DOUBTFUL  # one fast round is not enough


def test_only_a_physically_impossible_typical_time_is_too_fast():
    assert certainty.certainty([10, 30, 40]) == 0
    assert certainty.certainty([30, 60, 70]) == 100  # one odd round does not count


def test_no_rounds_no_certainty():
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
