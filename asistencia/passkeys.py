"""Passkeys through py_webauthn (SPEC §3.1, §3.2, §5): options and verification.

py_webauthn decides whether a response is valid; it reports every failure
as the same exception with prose. `_refusal` re-reads the response to name
which check failed, so clients get one stable code per cause.

The sign counter is left out of the library's checks (current count 0) and
judged by `sign_count_regressed` on the row the login locked: a regression
is only meaningful once the signature is known to be good, otherwise anyone
could get a student's device blocked by sending a forged low counter.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    bytes_to_base64url,
    decode_credential_public_key,
    options_to_json_dict,
    parse_attestation_object,
    parse_authentication_credential_json,
    parse_authenticator_data,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticationCredential,
    AuthenticatorAttachment,
    AuthenticatorData,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    ClientDataType,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from asistencia.config import Config
from asistencia.errors import ApiError, BadRequest, Refused
from asistencia.tokens import User

ALGORITHMS = [COSEAlgorithmIdentifier.ECDSA_SHA_256, COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256]
# How long a ceremony may take; its challenge lives as long (store/challenges.py).
CEREMONY_SECONDS = 300
TIMEOUT_MS = CEREMONY_SECONDS * 1000

# (credential id, transports) of a stored device, for exclude/allow lists.
CredentialRef = tuple[bytes, Sequence[str]]


@dataclasses.dataclass(frozen=True)
class Registration:
    """What a verified registration tells us to store."""

    credential_id: bytes
    public_key: bytes  # COSE, as the authenticator sent it
    sign_count: int
    aaguid: str
    transports: tuple[str, ...]


def _descriptors(credentials: Iterable[CredentialRef]) -> list[PublicKeyCredentialDescriptor]:
    known = {transport.value for transport in AuthenticatorTransport}
    return [
        PublicKeyCredentialDescriptor(
            id=credential_id,
            transports=[AuthenticatorTransport(t) for t in transports if t in known] or None,
        )
        for credential_id, transports in credentials
    ]


def creation_options(config: Config, user: User, challenge: bytes,
                     exclude: Iterable[CredentialRef]) -> dict[str, Any]:
    """navigator.credentials.create() options in their standard JSON form."""
    options = generate_registration_options(
        rp_id=config.webauthn_rp_id,
        rp_name=config.webauthn_rp_name,
        # The numeric id is already an opaque hash of the RUT; stable, so a
        # re-enrollment on the same phone replaces its passkey instead of adding one.
        user_id=str(user.id).encode("ascii"),
        user_name=user.username,
        user_display_name=user.full_name or user.username,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        # The phone's own authenticator: a passkey reached over hybrid transport
        # would bind the student to some other phone.
        authenticator_selection=AuthenticatorSelectionCriteria(
            authenticator_attachment=AuthenticatorAttachment.PLATFORM,
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(exclude),
        supported_pub_key_algs=ALGORITHMS,
    )
    return options_to_json_dict(options)


def request_options(config: Config, challenge: bytes, allow: Iterable[CredentialRef]) -> dict[str, Any]:
    """navigator.credentials.get() options in their standard JSON form."""
    options = generate_authentication_options(
        rp_id=config.webauthn_rp_id,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(allow),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json_dict(options)


def _malformed(what: str) -> BadRequest:
    return BadRequest(f"The credential is not a well-formed WebAuthn {what}", code="CREDENTIAL_MALFORMED")


def _parsed(parse: Callable[[dict[str, Any]], Any], data: dict[str, Any], what: str) -> Any:
    try:
        credential = parse(data)
    except WebAuthnException:
        raise _malformed(what) from None
    if bytes_to_base64url(credential.raw_id) != credential.id:
        raise _malformed(f"{what} (id and rawId differ)")
    return credential


def parse_registration(data: dict[str, Any]) -> RegistrationCredential:
    """A registration credential as PublicKeyCredential.toJSON() gives it; 400 otherwise."""
    return _parsed(parse_registration_credential_json, data, "registration response")


def parse_assertion(data: dict[str, Any]) -> AuthenticationCredential:
    """An authentication credential as PublicKeyCredential.toJSON() gives it; 400 otherwise."""
    return _parsed(parse_authentication_credential_json, data, "authentication response")


def verify_registration(config: Config, credential: RegistrationCredential, challenge: bytes) -> Registration:
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=config.webauthn_rp_id,
            expected_origin=config.webauthn_origin,
            require_user_verification=True,
            supported_pub_key_algs=ALGORITHMS,
        )
    # The library parses attacker-supplied CBOR; not every parse failure is a WebAuthnException.
    except Exception:
        raise _refusal(
            config, ClientDataType.WEBAUTHN_CREATE, credential.response.client_data_json, challenge,
            lambda: parse_attestation_object(credential.response.attestation_object).auth_data,
            challenge_refusal=Refused("The response answers another challenge than the outstanding one",
                                      code="CHALLENGE_MISMATCH"),
            last_refusal=_attestation_refusal,
        ) from None
    return Registration(
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=verified.aaguid,
        transports=tuple(t.value for t in credential.response.transports or ()),
    )


def verify_assertion(config: Config, credential: AuthenticationCredential, challenge: bytes,
                     public_key: bytes) -> int:
    """Check an assertion against a stored public key; return the counter it reports."""
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=config.webauthn_rp_id,
            expected_origin=config.webauthn_origin,
            credential_public_key=public_key,
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except Exception:
        raise _refusal(
            config, ClientDataType.WEBAUTHN_GET, credential.response.client_data_json, challenge,
            lambda: parse_authenticator_data(credential.response.authenticator_data),
            challenge_refusal=Refused(
                "The assertion does not vouch for this client public key and the current login challenge "
                "(its challenge must be SHA-256(server challenge || client_public_key))",
                code="CLIENT_KEY_MISMATCH",
            ),
            last_refusal=lambda _: Refused("The assertion signature does not verify", code="SIGNATURE_INVALID"),
        ) from None
    return verified.new_sign_count


def sign_count_regressed(stored: int, reported: int) -> bool:
    """WebAuthn §6.1.1: with counters in use, each assertion must report more than the last.

    Authenticators that do not count (synced passkeys) report 0 forever; that is fine.
    """
    return (stored > 0 or reported > 0) and reported <= stored


def _attestation_refusal(auth_data: AuthenticatorData) -> ApiError:
    attested = auth_data.attested_credential_data
    if attested is not None:
        try:
            algorithm = decode_credential_public_key(attested.credential_public_key).alg
        except Exception:
            algorithm = None
        if algorithm is not None and algorithm not in ALGORITHMS:
            return Refused("The passkey uses an algorithm other than ES256 or RS256", code="ALGORITHM_UNSUPPORTED")
    return Refused("The attestation does not verify", code="ATTESTATION_INVALID")


def _refusal(config: Config, ceremony: ClientDataType, client_data_json: bytes, challenge: bytes,
             read_auth_data: Callable[[], AuthenticatorData], *, challenge_refusal: ApiError,
             last_refusal: Callable[[AuthenticatorData], ApiError]) -> ApiError:
    """Name the check a response failed, in the order the library makes them."""
    try:
        client_data = parse_client_data_json(client_data_json)
    except Exception:
        return _malformed("response (clientDataJSON)")
    if client_data.type != ceremony:
        return Refused(f"The client data is not from {ceremony.value}", code="CEREMONY_MISMATCH")
    if client_data.challenge != challenge:
        return challenge_refusal
    if client_data.origin != config.webauthn_origin:
        return Refused(f"The passkey was used on {client_data.origin!r}, not on {config.webauthn_origin!r}",
                       code="ORIGIN_MISMATCH")
    try:
        auth_data = read_auth_data()
    except Exception:
        return _malformed("response (authenticator data)")
    if auth_data.rp_id_hash != hashlib.sha256(config.webauthn_rp_id.encode()).digest():
        return Refused(f"The passkey belongs to another relying party than {config.webauthn_rp_id!r}",
                       code="RP_ID_MISMATCH")
    if not auth_data.flags.up:
        return Refused("The authenticator did not confirm the user was present", code="USER_PRESENCE_MISSING")
    if not auth_data.flags.uv:
        return Refused("The authenticator did not verify the user (PIN, fingerprint or face)",
                       code="USER_VERIFICATION_MISSING")
    return last_refusal(auth_data)
