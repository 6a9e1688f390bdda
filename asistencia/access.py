"""Where a student stands (SPEC §3.2 step 4): the one answer every student page starts from.

Pure: given the student's current device, their session key and the phone
asking, say the state and what to do next.

- NOT_ENROLLED: no enrolled phone → ENROLL.
- ENROLLED_NO_SESSION: enrolled, no live session key → LOGIN.
- READY: enrolled and logged in; this phone can scan → SCAN.
- BLOCKED: this phone cannot scan, and logging in will not fix it:
  - OTHER_DEVICE: the phone asking is not the enrolled one (its fingerprint
    differs). Use the enrolled phone, or enroll this one, which revokes the
    other → USE_ENROLLED_DEVICE.
  - REPLACEMENT_PENDING: the phone asking replaces the enrolled one and is
    waiting for its cool-off to end or a professor's approval
    → WAIT_FOR_APPROVAL (the enrolled phone keeps working meanwhile).
  - CLONE_SUSPECTED: the passkey's counter went backwards at a login, so two
    copies of it exist; the device was revoked. Enrolling again (with the
    phone's screen lock) makes a fresh passkey the copy does not have → ENROLL.
"""

from __future__ import annotations

import dataclasses

from asistencia.store.devices import CLONE_SUSPECTED, Device
from asistencia.store.session_keys import SessionKey

NOT_ENROLLED = "NOT_ENROLLED"
ENROLLED_NO_SESSION = "ENROLLED_NO_SESSION"
READY = "READY"
BLOCKED = "BLOCKED"


@dataclasses.dataclass(frozen=True)
class Standing:
    state: str
    next_action: str
    reason: str | None = None
    device: Device | None = None
    session: SessionKey | None = None


def standing(device: Device | None, session: SessionKey | None, fingerprint: str | None, *,
             pending: Device | None = None) -> Standing:
    """`device`: the enrolled device, else the most recent one; `fingerprint`: the phone asking, if it
    said; `pending`: a device waiting to replace the enrolled one."""
    if pending is not None and fingerprint is not None and fingerprint == pending.fingerprint:
        return Standing(BLOCKED, "WAIT_FOR_APPROVAL", "REPLACEMENT_PENDING", pending)
    if device is None or device.status != "enrolled":
        if device is not None and device.revoked_reason == CLONE_SUSPECTED:
            return Standing(BLOCKED, "ENROLL", "CLONE_SUSPECTED", device)
        return Standing(NOT_ENROLLED, "ENROLL")
    if fingerprint is not None and fingerprint != device.fingerprint:
        return Standing(BLOCKED, "USE_ENROLLED_DEVICE", "OTHER_DEVICE", device)
    # A key left from an older device does not count (enrolling deletes it; this guards the race).
    if session is None or session.device_id != device.id:
        return Standing(ENROLLED_NO_SESSION, "LOGIN", device=device)
    return Standing(READY, "SCAN", device=device, session=session)
