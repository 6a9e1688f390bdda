"""Input schemas of the attendance loop, shared by the REST handlers and the WebSocket commands."""

from __future__ import annotations

import datetime as dt
import re

import marshmallow
from marshmallow import fields, validate

from asistencia.crypto import BASE45_ALPHABET, b64url_decode
from asistencia.domain.join_code import LENGTH, normalize
from asistencia.domain.networks import parse_network
from asistencia.domain.qr_payload import TEXT_LENGTH
from asistencia.domain.rounds import MAX_ROUNDS
from asistencia.domain.projection_modes import PROJECTION_MODES
from asistencia.domain.rut import normalize as normalize_rut
from asistencia.validation import ID_RANGE, USER_ID_RANGE, StrictBoolean, Text

MAX_NETWORKS = 50
SESSION_STATUSES = ("draft", "active", "closed", "cancelled")
MAX_PROOF_BYTES = 1024


class Network(Text):
    """A CIDR (or bare address), normalised to its network form ("10.1.0.0/16")."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return str(parse_network(text))
        except ValueError:
            raise marshmallow.ValidationError("Not an IP network in CIDR notation.") from None


class JoinCode(Text):
    """What the student typed: spaces and dashes dropped, upper-cased, then six letters."""

    def _deserialize(self, value, attr, data, **kwargs):
        code = normalize(super()._deserialize(value, attr, data, **kwargs))
        if len(code) != LENGTH or not code.isascii() or not code.isalpha():
            raise marshmallow.ValidationError(f"A join code is {LENGTH} letters.")
        return code


class Rut(Text):
    """A Chilean RUT with a right check digit, in the bridge's form ("12345678-5"); dots and dash optional."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        rut = normalize_rut(text) if len(text) <= 20 else None
        if rut is None:
            raise marshmallow.ValidationError("Not a RUT (digits, dash, check digit 0-9 or K) or a wrong check digit.")
        return rut


class Base64UrlBytes(Text):
    def _deserialize(self, value, attr, data, **kwargs):
        try:
            raw = b64url_decode(super()._deserialize(value, attr, data, **kwargs))
        except ValueError:
            raise marshmallow.ValidationError("Not base64url (no padding).") from None
        if not 1 <= len(raw) <= MAX_PROOF_BYTES:
            raise marshmallow.ValidationError(f"Must be 1 to {MAX_PROOF_BYTES} bytes.")
        return raw


class CreateSessionSchema(marshmallow.Schema):
    course_code = Text(required=True, validate=validate.Length(1, 50))
    course_name = Text(required=True, validate=validate.Length(1, 200))
    room = Text(load_default="", validate=validate.Length(max=100))
    semester = Text(load_default="", validate=validate.Length(max=20))
    block = Text(load_default="", validate=validate.Length(max=50))
    rounds = fields.Integer(load_default=3, strict=True, validate=validate.Range(1, MAX_ROUNDS))
    duration_minutes = fields.Integer(load_default=15, strict=True, validate=validate.Range(1, 600))
    late_after_minutes = fields.Integer(load_default=None, allow_none=True, strict=True,
                                        validate=validate.Range(0, 600))
    allowed_networks = fields.List(Network(), load_default=list, validate=validate.Length(max=MAX_NETWORKS))
    # `auto`: shared frames for a course whose roster is a large hall, else per-student codes.
    projection_mode = Text(load_default="auto", validate=validate.OneOf(["auto", *PROJECTION_MODES]))
    # Chosen by the page once per filled form: sending it again opens nothing new (a double submit).
    request_id = fields.UUID(load_default=None)
    # False: save a draft, opened later (POST /api/sessions/{id}/open) when class starts.
    open = StrictBoolean(load_default=True)


class CancelSessionSchema(marshmallow.Schema):
    reason = Text(required=True, validate=validate.Length(1, 500))


class ListSessionsQuery(marshmallow.Schema):
    status = Text(load_default=None, validate=validate.OneOf(SESSION_STATUSES))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))
    course_code = Text(load_default=None, validate=validate.Length(1, 50))
    professor = Text(load_default=None, validate=validate.Length(1, 200))
    # A day classes can have happened on (the day after must still be a date).
    date = fields.Date(load_default=None, validate=validate.Range(dt.date(2000, 1, 1), dt.date(9999, 12, 30)))


class SessionPath(marshmallow.Schema):
    id = fields.Integer(required=True, validate=ID_RANGE)


class StudentPath(SessionPath):
    user_id = fields.Integer(required=True, validate=USER_ID_RANGE)


class SessionQuery(marshmallow.Schema):
    session = fields.Integer(required=True, validate=ID_RANGE)


class JoinSchema(marshmallow.Schema):
    code = JoinCode(required=True)


class ScanSchema(marshmallow.Schema):
    session = fields.Integer(required=True, strict=True, validate=ID_RANGE)
    qr = Text(required=True, strip=False, validate=[
        validate.Length(equal=TEXT_LENGTH),
        # A pattern, not ContainsOnly: the OpenAPI description shows it as one (ContainsOnly became an enum).
        validate.Regexp(f"^[{re.escape(BASE45_ALPHABET)}]*$", error="Not a QR text (base45)."),
    ])
    proof = Base64UrlBytes(required=True)
