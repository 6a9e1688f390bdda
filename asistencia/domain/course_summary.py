"""A course across its sessions: students as rows, sessions as columns, attendance rates.

Only closed sessions count (they are the sessions "held"); active ones are
listed apart until they close; cancelled ones are left out entirely. A
student is any user registered in at least one counted session, and
everyone on the course's roster (who may never have joined at all).

- A student's attendance rate = (PRESENT + LATE + JUSTIFIED) / sessions held.
  Not registering in a held session counts against it; so does DOUBTFUL,
  which a professor resolves with an override.
- A session's attendance rate = its PRESENT + LATE + JUSTIFIED / the students
  in the grid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from asistencia.domain.attendance_list import LIST_STATUSES, folded, registration_status
from asistencia.domain.csv_export import Cell
from asistencia.domain.outcome import ATTENDED

CSV_LEADING_COLUMNS = ("rut", "full_name")
CSV_TRAILING_COLUMNS = ("sessions_held", "attended", "present", "late", "justified", "doubtful",
                        "absent", "not_registered", "attendance_percent")


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def course_summary(course_code: str, semester: str | None, sessions: Sequence[Mapping[str, Any]],
                   registrations: Iterable[Mapping[str, Any]],
                   roster: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """`sessions` in opening order (closed and active; never drafts); `registrations` of the closed
    ones; `roster`: the course's roster students (`user_id`, `username`, `full_name`)."""
    held = [s for s in sessions if s["status"] == "closed"]
    column = {s["id"]: index for index, s in enumerate(held)}
    students: dict[int, dict[str, Any]] = {
        row["user_id"]: {"user_id": row["user_id"], "username": row["username"], "full_name": row["full_name"],
                         "statuses": [None] * len(held)}
        for row in roster}
    for row in registrations:
        student = students.setdefault(row["user_id"], {
            "user_id": row["user_id"], "username": row["username"], "full_name": row["full_name"],
            "statuses": [None] * len(held)})
        student["statuses"][column[row["session_id"]]] = registration_status(row["state"], row["outcome_status"])

    rows = sorted(students.values(), key=lambda s: (folded(s["full_name"]), s["username"]))
    for student in rows:
        counts = dict.fromkeys(LIST_STATUSES, 0)
        for status in student["statuses"]:
            if status is not None:
                counts[status] += 1
        attended = sum(counts[status] for status in ATTENDED)
        student["counts"] = {**counts, "not_registered": student["statuses"].count(None)}
        student["attended"] = attended
        student["attendance_rate"] = _rate(attended, len(held))

    columns = []
    for index, session in enumerate(held):
        statuses = [s["statuses"][index] for s in rows if s["statuses"][index] is not None]
        totals = {status: statuses.count(status) for status in LIST_STATUSES}
        attended = sum(totals[status] for status in ATTENDED)
        columns.append({
            "id": session["id"], "date": session["opened_at"].date(), "created_at": session["created_at"],
            "opened_at": session["opened_at"],
            "block": session["block"], "room": session["room"], "semester": session["semester"],
            "join_code": session["join_code"],
            "totals": {**totals, "registered": len(statuses), "attended": attended},
            "attendance_rate": _rate(attended, len(rows)),
        })

    return {
        "course_code": course_code,
        "course_name": sessions[-1]["course_name"] if sessions else None,
        "semester": semester,
        "sessions_held": len(held),
        "sessions": columns,
        "students": rows,
        "series": {
            "session_ids": [c["id"] for c in columns],
            "dates": [c["date"] for c in columns],
            "attended": [c["totals"]["attended"] for c in columns],
            "registered": [c["totals"]["registered"] for c in columns],
            "attendance_rate": [c["attendance_rate"] for c in columns],
        },
        "active_sessions": [{"id": s["id"], "created_at": s["created_at"], "opened_at": s["opened_at"],
                             "join_code": s["join_code"]}
                            for s in sessions if s["status"] == "active"],
    }


def csv_header(summary: Mapping[str, Any]) -> tuple[str, ...]:
    """Session columns are labelled `date block [join code]`, e.g. `2026-11-27 3-4 [KXMPRT]`."""
    labels = tuple(" ".join(part for part in (column["date"].isoformat(), column["block"],
                                              f"[{column['join_code']}]") if part)
                   for column in summary["sessions"])
    return (*CSV_LEADING_COLUMNS, *labels, *CSV_TRAILING_COLUMNS)


def csv_rows(summary: Mapping[str, Any]) -> list[tuple[Cell, ...]]:
    """One row per student; an empty session cell means not registered in it."""
    rows = []
    for student in summary["students"]:
        counts = student["counts"]
        rate = student["attendance_rate"]
        rows.append((
            student["username"], student["full_name"], *student["statuses"],
            summary["sessions_held"], student["attended"], counts["PRESENT"], counts["LATE"],
            counts["JUSTIFIED"], counts["DOUBTFUL"], counts["ABSENT"], counts["not_registered"],
            None if rate is None else rate * 100,
        ))
    return rows
