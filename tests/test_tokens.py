"""JWT verification as the PHP bridge issues tokens (SPEC §2), through the HTTP API."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from tests.conftest import TEST_SECRET
from tests.helpers import bearer, error_of


def now() -> int:
    return int(time.time())


def claims(**overrides):
    """Claims relative to the moment the test runs (never to import time)."""
    t = now()
    base = {"userId": 42, "username": "12345678-5", "rol": "alumno", "nombreCompleto": "Ana Pérez",
            "iat": t, "nbf": t, "exp": t + 300, "jti": "abc"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload, secret=TEST_SECRET, algorithm="HS256", headers=None):
    return jwt.encode(payload, secret, algorithm=algorithm, headers=headers)


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_valid_token_identifies_the_user(client):
    response = await client.get("/api/me", headers=bearer(sign(claims())))
    assert response.status == 200
    assert await response.json() == {"id": 42, "username": "12345678-5", "role": "alumno",
                                     "full_name": "Ana Pérez"}


async def test_leeway_accepts_a_token_expired_seconds_ago(client):
    response = await client.get("/api/me", headers=bearer(sign(claims(exp=now() - 10))))
    assert response.status == 200


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        (lambda: sign(claims(exp=now() - 120)), "TOKEN_EXPIRED"),
        (lambda: sign(claims(nbf=now() + 120)), "TOKEN_NOT_YET_VALID"),
        (lambda: sign(claims(), secret="another-secret-" + "y" * 30), "TOKEN_SIGNATURE"),
        (lambda: b64({"alg": "none", "typ": "JWT"}) + "." + b64(claims()) + ".", "TOKEN_ALGORITHM"),
        (lambda: sign(claims(), secret="k" * 64, algorithm="HS512"), "TOKEN_ALGORITHM"),
        (lambda: sign(claims(exp=None)), "TOKEN_CLAIMS"),
        (lambda: sign(claims(userId=None)), "TOKEN_CLAIMS"),
        (lambda: sign(claims(userId="42")), "TOKEN_CLAIMS"),
        (lambda: sign(claims(userId=True)), "TOKEN_CLAIMS"),
        (lambda: sign(claims(rol=None)), "TOKEN_CLAIMS"),
        (lambda: sign(claims(rol="superuser")), "TOKEN_CLAIMS"),
        (lambda: sign(claims(username="")), "TOKEN_CLAIMS"),
        (lambda: "not-a-jwt", "TOKEN_MALFORMED"),
        (lambda: "e30.e30", "TOKEN_MALFORMED"),
        (lambda: "%%%." + b64(claims()) + ".sig", "TOKEN_MALFORMED"),
    ],
    ids=["expired", "not-yet-valid", "wrong-secret", "alg-none", "hs512", "no-exp", "no-userId",
         "string-userId", "bool-userId", "no-rol", "unknown-rol", "empty-username", "garbage",
         "two-parts", "bad-header"],
)
async def test_bad_tokens_are_refused_with_their_code(client, make_token, code):
    response = await client.get("/api/me", headers=bearer(make_token()))
    assert await error_of(response) == (401, code)


async def test_rs256_token_is_refused(client):
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = await client.get("/api/me", headers=bearer(sign(claims(), secret=key, algorithm="RS256")))
    assert await error_of(response) == (401, "TOKEN_ALGORITHM")


async def test_missing_token_and_wrong_scheme(client):
    assert await error_of(await client.get("/api/me")) == (401, "TOKEN_MISSING")
    response = await client.get("/api/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert await error_of(response) == (401, "TOKEN_MALFORMED")


async def test_issuer_and_audience_checked_when_configured(make_client, config):
    client = await make_client(config.replace(jwt_issuer="hawaii", jwt_audience="asistencia"))
    good = sign(claims(iss="hawaii", aud="asistencia"))
    assert (await client.get("/api/me", headers=bearer(good))).status == 200
    cases = [
        (sign(claims(iss="elsewhere", aud="asistencia")), "TOKEN_ISSUER"),
        (sign(claims(aud="asistencia")), "TOKEN_CLAIMS"),
        (sign(claims(iss="hawaii", aud="other")), "TOKEN_AUDIENCE"),
        (sign(claims(iss="hawaii")), "TOKEN_CLAIMS"),
    ]
    for token, code in cases:
        assert await error_of(await client.get("/api/me", headers=bearer(token))) == (401, code)


async def test_audience_ignored_when_not_configured(client):
    response = await client.get("/api/me", headers=bearer(sign(claims(aud="whatever", iss="x"))))
    assert response.status == 200


async def test_a_token_used_again_is_still_refused_once_it_expires(config, monkeypatch):
    """VerifiedTokens skips the signature check for a token it accepted before, never the clock."""
    from asistencia.tokens import TokenError, VerifiedTokens

    tokens = VerifiedTokens(config, size=2)
    t = now()
    token = sign(claims(exp=t + 60))
    assert tokens.verify(token).id == 42
    assert tokens.verify(token).id == 42
    monkeypatch.setattr(time, "time", lambda: t + 60 + config.jwt_leeway_seconds)
    with pytest.raises(TokenError) as refused:
        tokens.verify(token)
    assert refused.value.code == "TOKEN_EXPIRED"


async def test_a_refused_token_is_not_remembered_and_the_oldest_accepted_one_makes_room(config):
    from asistencia.tokens import TokenError, VerifiedTokens

    tokens = VerifiedTokens(config, size=2)
    forged = sign(claims(), secret="another-secret-" + "y" * 40)
    for _ in range(2):
        with pytest.raises(TokenError) as refused:
            tokens.verify(forged)
        assert refused.value.code == "TOKEN_SIGNATURE"
    accepted = [sign(claims(userId=n)) for n in (1, 2, 3)]
    assert [tokens.verify(token).id for token in accepted] == [1, 2, 3]
    assert list(tokens._verified) == accepted[1:]


async def test_a_token_in_use_outlives_a_burst_of_new_ones(config):
    """Eviction drops the least recently used token, not the oldest accepted: a class's tokens stay."""
    from asistencia.tokens import VerifiedTokens

    tokens = VerifiedTokens(config, size=2)
    in_use, other, newcomer = (sign(claims(userId=n)) for n in (1, 2, 3))
    tokens.verify(in_use)
    tokens.verify(other)
    tokens.verify(in_use)
    tokens.verify(newcomer)
    assert list(tokens._verified) == [in_use, newcomer]
