"""JWTs as the legacy PHP bridge issues them (SPEC §2): HS256, short-lived.

`verify_token` is the only way a request becomes a `User`; `mint_token`
produces the same shape for dev mode and the operators' CLI.
"""

from __future__ import annotations

import dataclasses
import time
import uuid

import jwt

from asistencia.config import Config
from asistencia.errors import Unauthorized

ROLES = ("alumno", "profesor", "admin")
ALGORITHM = "HS256"


@dataclasses.dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    full_name: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class TokenError(Unauthorized):
    """A token that does not authenticate; `code` says why."""


def _refuse(code: str, message: str) -> TokenError:
    return TokenError(message, code=code)


def verify_token(token: str, config: Config) -> User:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        raise _refuse("TOKEN_MALFORMED", "The token is not a well-formed JWT") from None
    if header.get("alg") != ALGORITHM:
        raise _refuse("TOKEN_ALGORITHM", f"Only {ALGORITHM} tokens are accepted")
    options = {"require": ["exp"], "verify_aud": config.jwt_audience is not None}
    if config.jwt_issuer is not None:
        options["require"].append("iss")
    try:
        claims = jwt.decode(
            token,
            config.jwt_secret,
            algorithms=[ALGORITHM],
            leeway=config.jwt_leeway_seconds,
            issuer=config.jwt_issuer,
            audience=config.jwt_audience,
            options=options,
        )
    except jwt.ExpiredSignatureError:
        raise _refuse("TOKEN_EXPIRED", "The token has expired") from None
    except jwt.ImmatureSignatureError:
        raise _refuse("TOKEN_NOT_YET_VALID", "The token is not valid yet") from None
    except jwt.InvalidIssuerError:
        raise _refuse("TOKEN_ISSUER", "The token was issued by someone else") from None
    except jwt.InvalidAudienceError:
        raise _refuse("TOKEN_AUDIENCE", "The token is meant for another audience") from None
    except jwt.MissingRequiredClaimError as exc:
        raise _refuse("TOKEN_CLAIMS", f"The token lacks the {exc.claim!r} claim") from None
    except jwt.InvalidSignatureError:
        raise _refuse("TOKEN_SIGNATURE", "The token signature does not verify") from None
    except jwt.InvalidTokenError:
        raise _refuse("TOKEN_MALFORMED", "The token is not a well-formed JWT") from None
    return _user_from_claims(claims)


def _user_from_claims(claims: dict) -> User:
    user_id = claims.get("userId")
    # bool is an int subclass; a JSON true is not a user id.
    if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id < 0:
        raise _refuse("TOKEN_CLAIMS", "The token's userId must be a non-negative integer")
    role = claims.get("rol")
    if role not in ROLES:
        raise _refuse("TOKEN_CLAIMS", "The token's rol must be alumno, profesor or admin")
    username = claims.get("username")
    if not isinstance(username, str) or not username.strip():
        raise _refuse("TOKEN_CLAIMS", "The token's username is missing")
    full_name = claims.get("nombreCompleto")
    if full_name is not None and not isinstance(full_name, str):
        raise _refuse("TOKEN_CLAIMS", "The token's nombreCompleto must be a string")
    return User(id=user_id, username=username.strip(), role=role, full_name=full_name)


def mint_token(config: Config, *, user_id: int, username: str, role: str,
               full_name: str | None = None, ttl_seconds: int = 300) -> str:
    """A token shaped exactly like the PHP bridge's."""
    now = int(time.time())
    claims = {
        "userId": user_id,
        "username": username,
        "rol": role,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    if full_name:
        claims["nombreCompleto"] = full_name
    if config.jwt_issuer:
        claims["iss"] = config.jwt_issuer
    if config.jwt_audience:
        claims["aud"] = config.jwt_audience
    return jwt.encode(claims, config.jwt_secret, algorithm=ALGORITHM)
