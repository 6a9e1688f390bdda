"""Demo data for dev mode: a professor, an admin, some students and a course."""

from __future__ import annotations

import aiopg

from asistencia.domain.rut import student_id
from asistencia.store import users
from asistencia.tokens import User


DEMO_COURSE = {"course_code": "INF-239", "course_name": "Bases de Datos", "semester": "2026-2",
               "block": "3-4", "room": "A-201"}

_STUDENTS = [
    ("12345678-5", "Camila Rojas Muñoz"),
    ("19876543-2", "Matías González Soto"),
    ("20111222-3", "Valentina Díaz Pérez"),
    ("18555444-K", "Benjamín Fuentes Araya"),
    ("21000111-7", "Isidora Castillo Vera"),
]

DEMO_USERS: tuple[User, ...] = (
    User(1001, "profesora.demo@usm.cl", "profesor", "Profesora Demo Contreras"),
    User(1, "admin.demo@usm.cl", "admin", "Administración Demo"),
    *(User(student_id(rut), rut, "alumno", name) for rut, name in _STUDENTS),
)


async def load_demo_data(pool: aiopg.Pool) -> None:
    """Idempotent: running dev twice leaves one copy."""
    for user in DEMO_USERS:
        await users.remember(pool, user)
