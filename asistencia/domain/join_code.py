"""Join codes: six letters a student types from the projected screen.

The alphabet leaves out letters easily confused when read from a wall or
typed on a phone (I/L look like 1, O like 0, Q like O), so a code read
aloud or from the back row is still right.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "ABCDEFGHJKMNPRSTUVWXYZ"
LENGTH = 6
_SHAPE = re.compile(rf"^[{ALPHABET}]{{{LENGTH}}}$")
_SEPARATORS = re.compile(r"[\s\-_.]+")


def new_join_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize(text: str) -> str:
    """What the student typed, as the code would be stored: upper case, no spaces or dashes."""
    return _SEPARATORS.sub("", text).upper()


def is_join_code(text: str) -> bool:
    return bool(_SHAPE.match(text))
