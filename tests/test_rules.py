"""Pure rules of the loop: round state machine, attempts, counters, join codes, networks, timing."""

from __future__ import annotations

import pytest

from asistencia.domain import counters, join_code, networks, projection, rounds
from asistencia.domain.rounds import Progress


def test_rounds_advance_then_complete():
    progress = rounds.joined()
    assert progress == Progress("scanning", 1, 0)
    progress = rounds.passed(Progress("scanning", 1, 2), 3)
    assert progress == Progress("scanning", 2, 0)
    assert rounds.passed(Progress("scanning", 3, 1), 3) == Progress("completed", 4, 0)
    assert rounds.passed(Progress("scanning", 1, 0), 1).state == "completed"
    with pytest.raises(ValueError):
        rounds.passed(Progress("failed", 2, 3), 3)


def test_attempts_run_out_then_reset_gives_them_back_on_the_same_round():
    progress = Progress("scanning", 2, 0)
    for left in (2, 1):
        progress = rounds.failed_attempt(progress, 3)
        assert progress.state == "scanning" and rounds.attempts_left(progress, 3) == left
    progress = rounds.failed_attempt(progress, 3)
    assert progress == Progress("failed", 2, 3) and rounds.attempts_left(progress, 3) == 0
    assert rounds.reset(progress) == Progress("scanning", 2, 0)
    with pytest.raises(ValueError):
        rounds.reset(Progress("completed", 4, 0))


def test_which_refusals_cost_an_attempt():
    for code in ("QR_NOT_YOURS", "ROUND_MISMATCH", "QR_NOT_PROJECTED", "FRAME_TOO_SOON",
                 "QR_UNKNOWN", "PROOF_MALFORMED", "PROOF_MISMATCH"):
        assert rounds.counts_against_attempts(code)
    for code in ("PROOF_INVALID", "QR_ALREADY_USED", "QR_EXPIRED", "NO_ATTEMPTS_LEFT", "NETWORK_NOT_ALLOWED"):
        assert not rounds.counts_against_attempts(code)


def _sums_to_zero_but_joined(delta):
    return sum(delta[name] for name in counters.FIELDS if name != "joined") == delta["joined"]


def test_counter_changes_keep_everyone_in_exactly_one_bucket():
    joined = counters.changes(None, rounds.joined())
    assert joined["joined"] == 1 and joined["in_progress"] == 1
    done = counters.changes(Progress("scanning", 3, 0), Progress("completed", 4, 0), "LATE")
    assert done["in_progress"] == -1 and done["late"] == 1
    failed = counters.changes(Progress("scanning", 2, 2), Progress("failed", 2, 3))
    assert failed["in_progress"] == -1 and failed["failed"] == 1
    reset = counters.changes(Progress("failed", 2, 3), Progress("scanning", 2, 0))
    assert reset["failed"] == -1 and reset["in_progress"] == 1
    for delta in (joined, done, failed, reset):
        assert _sums_to_zero_but_joined(delta)
    with pytest.raises(ValueError):
        counters.changes(Progress("scanning", 3, 0), Progress("completed", 4, 0), None)


def test_an_override_moves_its_student_to_the_status_it_sets():
    assert counters.override_changes("scanning", None, "JUSTIFIED") == {
        **dict.fromkeys(counters.FIELDS, 0), "in_progress": -1, "justified": 1}
    assert counters.override_changes("failed", None, "PRESENT") == {
        **dict.fromkeys(counters.FIELDS, 0), "failed": -1, "present": 1}
    # Once there is an outcome (completed, closed, or overridden before) it is its status that counts.
    assert counters.override_changes("scanning", "ABSENT", "JUSTIFIED") == {
        **dict.fromkeys(counters.FIELDS, 0), "absent": -1, "justified": 1}
    assert counters.override_changes("completed", "DOUBTFUL", "DOUBTFUL") == dict.fromkeys(counters.FIELDS, 0)


def test_join_codes_avoid_ambiguous_letters():
    assert not set("ILOQ") & set(join_code.ALPHABET)
    codes = {join_code.new_join_code() for _ in range(200)}
    assert all(join_code.is_join_code(code) for code in codes) and len(codes) > 190
    assert join_code.normalize(" kxm-prt ") == "KXMPRT"
    assert not join_code.is_join_code("KXMPRO")


@pytest.mark.parametrize(("address", "allowed", "expected"), [
    ("10.1.2.3", [], True),
    (None, [], True),
    ("10.1.2.3", ["10.0.0.0/8"], True),
    ("192.168.1.5", ["10.0.0.0/8"], False),
    ("::ffff:10.1.2.3", ["10.0.0.0/8"], True),
    ("2001:db8::1", ["2001:db8::/32", "10.0.0.0/8"], True),
    ("2001:db9::1", ["2001:db8::/32"], False),
    (None, ["10.0.0.0/8"], False),
    ("not-an-ip", ["10.0.0.0/8"], False),
])
def test_allowed_networks(address, allowed, expected):
    assert networks.is_allowed(address, allowed) is expected


def test_ticks_follow_a_fixed_grid_and_skip_missed_ones():
    assert projection.next_deadline(10.0, 10.1, 0.25) == 10.25
    assert projection.next_deadline(10.0, 10.25, 0.25) == 10.5
    assert projection.next_deadline(10.0, 11.01, 0.25) == pytest.approx(11.25)


def test_frames_are_due_at_their_sessions_point_of_the_slot():
    for now_ms in (1000 * 333, 1000 * 333 + 100, 1000 * 333 + 332):
        shift = projection.to_slot_point(now_ms, 333, 0.5)
        assert -0.1665 < shift <= 0.1665
        assert now_ms + shift * 1000 == pytest.approx(1000 * 333 + 166.5, abs=0.01)
    assert 1000 * 333 + 100 + projection.to_slot_point(1000 * 333 + 100, 333, 0.6) * 1000 == pytest.approx(
        1000 * 333 + 199.8, abs=0.01)


def test_sessions_frames_are_spread_over_the_slot_and_clear_of_its_ends():
    points = [projection.slot_point(session_id) for session_id in range(1, 11)]
    low, high = projection.SLOT_POINTS
    assert all(low <= point < high for point in points)
    # Fetched a quarter tick early, still inside the slot; shown a quarter tick before it ends.
    assert low - 0.25 >= 0.2 and high <= 0.75
    # Ten sessions: no two frames due within 1.5% of a tick of each other (5 ms at 333 ms).
    ordered = sorted(points)
    assert min(b - a for a, b in zip(ordered, ordered[1:])) > 0.015


def test_a_qr_is_projected_for_three_quarters_of_its_window():
    assert projection.projectable_ms(20) == 15000 and projection.window_ms(20) == 20000
