"""JWTs as the legacy PHP bridge issues them (SPEC §2): HS256, short-lived.

`verify_token` is the only way a request becomes a `User` (`VerifiedTokens`
remembers its answers); `mint_token` produces the same shape for dev mode and
the operators' CLI.
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
    return _user_from_claims(_verified_claims(token, config))


# What a forged token can make the parser raise besides its own errors: a header
# field of the wrong type, a number too large for int(), bytes that are not UTF-8.
_PARSE_FAILURES = (jwt.PyJWTError, ValueError, TypeError, ArithmeticError, KeyError)

MAX_USER_ID = 2**63 - 1  # a PostgreSQL bigint


def _verified_claims(token: str, config: Config) -> dict:
    try:
        header = jwt.get_unverified_header(token)
    except _PARSE_FAILURES:
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
    except _PARSE_FAILURES:
        raise _refuse("TOKEN_MALFORMED", "The token is not a well-formed JWT") from None
    return claims


@dataclasses.dataclass(frozen=True)
class _Verified:
    user: User
    expires: int
    valid_from: int  # the later of nbf and iat


class VerifiedTokens:
    """`verify_token` that remembers the tokens it accepted: a phone sends the same token
    with its join, its scans and its polls, and the HMAC check is a good part of a scan.

    Safe because whether a token string verifies depends only on that exact
    string (the key here, whole), the config (fixed for the app's life) and
    the clock — and the clock's checks (exp, nbf, iat, with the same leeway)
    run again on every use. Only accepted tokens are kept, at most `size`,
    the least recently used dropped first (a class's tokens are used all
    session long; a burst of new logins must not push them out); a refused
    one is verified afresh each time.
    """

    def __init__(self, config: Config, *, size: int = 4096) -> None:
        self._config = config
        self._size = size
        self._verified: dict[str, _Verified] = {}

    def verify(self, token: str) -> User:
        return self.verify_until(token)[0]

    def verify_until(self, token: str) -> tuple[User, float]:
        """The token's user and the moment (epoch seconds, leeway included) it stops being accepted."""
        # pop and re-insert: the dict's order is the order of last use.
        known = self._verified.pop(token, None)
        if known is None:
            claims = _verified_claims(token, self._config)
            try:
                known = _Verified(_user_from_claims(claims), expires=int(claims["exp"]),
                                  valid_from=max(int(claims.get("nbf", 0)), int(claims.get("iat", 0))))
            except _PARSE_FAILURES:
                raise _refuse("TOKEN_CLAIMS", "The token's exp, nbf and iat must be numbers") from None
            if len(self._verified) >= self._size:
                del self._verified[next(iter(self._verified))]
        now = time.time()
        leeway = self._config.jwt_leeway_seconds
        if known.expires <= now - leeway:
            raise _refuse("TOKEN_EXPIRED", "The token has expired")
        self._verified[token] = known
        if known.valid_from > now + leeway:
            raise _refuse("TOKEN_NOT_YET_VALID", "The token is not valid yet")
        return known.user, known.expires + leeway


def _user_from_claims(claims: dict) -> User:
    user_id = claims.get("userId")
    # bool is an int subclass; a JSON true is not a user id.
    if isinstance(user_id, bool) or not isinstance(user_id, int) or not 0 <= user_id <= MAX_USER_ID:
        raise _refuse("TOKEN_CLAIMS", "The token's userId must be an integer from 0 to 2^63-1")
    role = claims.get("rol")
    if role not in ROLES:
        raise _refuse("TOKEN_CLAIMS", "The token's rol must be alumno, profesor or admin")
    username = claims.get("username")
    if not isinstance(username, str) or not username.strip() or not _storable(username):
        raise _refuse("TOKEN_CLAIMS", "The token's username is missing")
    full_name = claims.get("nombreCompleto")
    if full_name is not None and not (isinstance(full_name, str) and _storable(full_name)):
        raise _refuse("TOKEN_CLAIMS", "The token's nombreCompleto must be a string")
    return User(id=user_id, username=username.strip(), role=role, full_name=full_name)


def _storable(text: str) -> bool:
    """Text PostgreSQL can hold: no NUL, valid Unicode (no lone surrogate)."""
    return "\x00" not in text and not any("\ud800" <= char <= "\udfff" for char in text)


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
