"""The legacy system's view of a finalised session: one record per registered student.

Hawaii records exactly these fields, in this order: the session code it
knows (our join code), the student's RUT (the token's username), the
address the student joined from, the certainty score (0–100, empty when
none was computed) and the final status (PRESENT, LATE, DOUBTFUL, ABSENT,
JUSTIFIED — a professor's override included).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

FIELDS = ("session_code", "rut", "origin_ip", "certainty", "status")


def legacy_records(join_code: str, outcomes: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`outcomes`: username, origin_ip, certainty and status of each registration, in RUT order."""
    return [{"session_code": join_code, "rut": row["username"], "origin_ip": row["origin_ip"],
             "certainty": row["certainty"], "status": row["status"]}
            for row in outcomes]
