"""A session's attendance list: each registration's status, filtering, sorting, totals, CSV rows.

The status shown for a registration is its outcome's status once there is
an outcome row (computed at completion or finalisation, or created early by
a professor's override). Before that it is a live status: `FAILED` while the
student has exhausted their attempts, `IN_PROGRESS` otherwise. A closed
session's list also holds the course roster's students who never joined
(`registered` false), as `ABSENT`. A registration a professor made by hand
(`manual`) has no certainty: the CSV says `manual` there.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from asistencia.domain import outcome
from asistencia.domain.csv_export import Cell

OVERRIDE_STATUSES = outcome.STATUSES
FAILED, IN_PROGRESS = "FAILED", "IN_PROGRESS"  # live statuses, before an outcome exists
# Also the order `sort=status` uses: attended first, unresolved last.
LIST_STATUSES = (*outcome.ATTENDED, outcome.DOUBTFUL, outcome.ABSENT, FAILED, IN_PROGRESS)

SORT_FIELDS = ("full_name", "username", "joined_at", "status", "certainty", "rt_mean_ms",
               "rt_median_ms", "failures", "rounds_completed")
SORT_CHOICES = (*SORT_FIELDS, *(f"-{field}" for field in SORT_FIELDS))

CSV_COLUMNS = ("rut", "full_name", "status", "computed_status", "certainty", "rounds_completed",
               "rt_mean_ms", "rt_sd_ms", "rt_min_ms", "rt_max_ms", "rt_median_ms", "failures",
               "joined_at", "origin_ip", "override_note", "overridden_by", "overridden_at")

Student = dict[str, Any]


def registration_status(state: str, outcome_status: str | None) -> str:
    if outcome_status is not None:
        return outcome_status
    return FAILED if state == "failed" else IN_PROGRESS


def _person(user_id: int | None, username: str | None, full_name: str | None) -> dict[str, Any] | None:
    if user_id is None:
        return None
    return {"id": user_id, "username": username, "full_name": full_name}


def student_entry(row: Mapping[str, Any], history: Sequence[Mapping[str, Any]]) -> Student:
    """One registration as the list shows it, from the store's row and its override audit."""
    override = None
    if row["overridden"]:
        override = {"note": row["override_note"],
                    "by": _person(row["overridden_by"], row["overridden_by_username"],
                                  row["overridden_by_full_name"]),
                    "at": row["overridden_at"]}
    return {
        "user_id": row["user_id"],
        "username": row["username"],
        "full_name": row["full_name"],
        "joined_at": row["joined_at"],
        "origin_ip": row["origin_ip"],
        "state": row["state"],
        "current_round": row["current_round"],
        "rounds_completed": row["rounds_completed"],
        "rt_mean_ms": row["rt_mean_ms"],
        "rt_sd_ms": row["rt_sd_ms"],
        "rt_min_ms": row["rt_min_ms"],
        "rt_max_ms": row["rt_max_ms"],
        "rt_median_ms": row["rt_median_ms"],
        "certainty": row["certainty"],
        "failures": row["failures"],
        "shared_phone": row["shared_phone"],
        "new_phone": row["new_phone"],
        "status": registration_status(row["state"], row["outcome_status"]),
        "computed_status": row["computed_status"],
        "registered": True,
        "manual": row["marked_by"] is not None,
        "overridden": row["overridden"],
        "override": override,
        "overrides": [
            {"at": change["at"],
             "actor": _person(change["actor_id"], change["actor_username"], change["actor_full_name"]),
             "from_status": change["from_status"],
             "to_status": change["to_status"],
             "note": change["note"]}
            for change in history
        ],
    }


def absentee_entry(row: Mapping[str, Any]) -> Student:
    """A roster student (`rut`, `user_id`, `full_name`) who never joined a closed session."""
    return {
        "user_id": row["user_id"], "username": row["rut"], "full_name": row["full_name"], "joined_at": None,
        "origin_ip": None, "state": None, "current_round": None, "rounds_completed": 0, "rt_mean_ms": None,
        "rt_sd_ms": None, "rt_min_ms": None, "rt_max_ms": None, "rt_median_ms": None, "certainty": None,
        "failures": 0, "status": outcome.ABSENT, "computed_status": outcome.ABSENT, "registered": False,
        "manual": False, "overridden": False, "override": None, "overrides": [],
    }


def folded(text: str | None) -> str:
    """Case- and accent-insensitive form, for searching and sorting names."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _sort_key(field: str) -> Callable[[Any], Any]:
    if field in ("full_name", "username"):
        return folded
    if field == "status":
        return LIST_STATUSES.index
    return lambda value: value


def select_students(students: Iterable[Student], *, statuses: Sequence[str] = (), search: str = "",
                    sort: str = "full_name") -> list[Student]:
    """Filter by status and by a name/RUT fragment, then sort by `sort` (`-field` descends).

    Missing values (no certainty yet, say) go last in either direction; ties
    keep name order.
    """
    needle = folded(search.strip())
    chosen = [s for s in students
              if (not statuses or s["status"] in statuses)
              and (not needle or needle in folded(s["full_name"]) or needle in folded(s["username"]))]
    chosen.sort(key=lambda s: (folded(s["full_name"]), s["username"]))
    field = sort.removeprefix("-")
    key = _sort_key(field)
    known = [s for s in chosen if s[field] is not None]
    known.sort(key=lambda s: key(s[field]), reverse=sort.startswith("-"))
    return known + [s for s in chosen if s[field] is None]


def status_totals(students: Iterable[Student]) -> dict[str, int]:
    totals = dict.fromkeys(LIST_STATUSES, 0)
    registered = 0
    for student in students:
        totals[student["status"]] += 1
        registered += 1
    return {**totals, "registered": registered}


def _whole_ms(value: float | None) -> int | None:
    return None if value is None else round(value)


def csv_row(student: Student) -> tuple[Cell, ...]:
    """A student's row in `CSV_COLUMNS` order; times in whole milliseconds."""
    override = student["override"] or {}
    by = override.get("by") or {}
    return (
        student["username"], student["full_name"], student["status"], student["computed_status"],
        "manual" if student["manual"] else student["certainty"], student["rounds_completed"],
        _whole_ms(student["rt_mean_ms"]), _whole_ms(student["rt_sd_ms"]), student["rt_min_ms"],
        student["rt_max_ms"], _whole_ms(student["rt_median_ms"]), student["failures"],
        student["joined_at"], student["origin_ip"], override.get("note"), by.get("username"),
        override.get("at"),
    )
