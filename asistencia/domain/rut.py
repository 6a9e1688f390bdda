"""Chilean RUTs as the university writes them, and the student ids the PHP bridge derives from them.

A RUT is a number and a check digit (0–9 or K) computed modulo 11. People
write it with or without dots and dash ("12.345.678-5", "12345678-5",
"123456785"); the bridge's form, and ours, is digits, a dash, the check
digit in upper case ("12345678-5"). The bridge numbers students
abs(crc32(RUT)) of that form.
"""

from __future__ import annotations

import re
import zlib

_SHAPE = re.compile(r"^(\d{1,8})-?([\dK])$")


def check_digit(number: int) -> str:
    """The modulo-11 check digit of a RUT's number (weights 2..7 from the right)."""
    total, weight = 0, 2
    while number:
        number, digit = divmod(number, 10)
        total += digit * weight
        weight = 2 if weight == 7 else weight + 1
    value = 11 - total % 11
    return {11: "0", 10: "K"}.get(value, str(value))


def normalize(text: str) -> str | None:
    """The canonical form ("12345678-5") of a well-formed RUT whose check digit is right, else None."""
    compact = re.sub(r"[\s.]", "", text).upper()
    match = _SHAPE.match(compact)
    if match is None:
        return None
    number, digit = int(match.group(1)), match.group(2)
    if number == 0 or check_digit(number) != digit:
        return None
    return f"{number}-{digit}"


def student_id(rut: str) -> int:
    """How the PHP bridge numbers students: abs(crc32(RUT))."""
    return abs(zlib.crc32(rut.encode()))
