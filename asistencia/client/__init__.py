"""A Python client of the asistencia API, as a student's phone speaks it.

Used by the tests, the reference scanner and the benchmarks:
`Authenticator` is a passkey in software, `Device` enrolls it and logs it
in over HTTP, deriving the session key on the client side.
"""

from asistencia.client.authenticator import Authenticator
from asistencia.client.device import Device, DeviceSession
from asistencia.client.http import RequestRefused

__all__ = ["Authenticator", "Device", "DeviceSession", "RequestRefused"]
