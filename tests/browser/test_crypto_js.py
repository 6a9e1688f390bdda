"""static/js/lib/crypto.js in Chromium against asistencia/crypto.py: the same bytes both ways."""

from __future__ import annotations

import os

import pytest

from asistencia import crypto
from tests.browser.harness import call_module
from tests.protocol_vectors import protocol_vectors

pytestmark = pytest.mark.browser

RFC9285_VECTORS = [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"), (b"ietf!", "QED8WEX0")]
AD = crypto.associated_data(crypto.CODE, 7, 8, 1)


async def test_base45_matches_rfc9285_and_python(page):
    samples = [os.urandom(n) for n in range(0, 41)] + [bytes(range(256)), b"\xff\xff\xff"]
    result = await call_module(page, "crypto.js", """(c, {vectors, samples}) => {
        const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
        const fromHex = (text) => Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
        const refused = (text) => { try { c.base45Decode(text); return false; } catch (e) { return e.name; } };
        return {
            vectors: vectors.map(([bytes, text]) => [c.base45Encode(fromHex(bytes)), hex(c.base45Decode(text))]),
            samples: samples.map((bytes) => c.base45Encode(fromHex(bytes))),
            roundTrips: samples.every((bytes) => hex(c.base45Decode(c.base45Encode(fromHex(bytes)))) === bytes),
            refused: ["GGW", "A", "AAAA", "ab", ":::"].map(refused),
        };
    }""", {"vectors": [(data.hex(), text) for data, text in RFC9285_VECTORS],
           "samples": [sample.hex() for sample in samples]})
    assert result["vectors"] == [[text, data.hex()] for data, text in RFC9285_VECTORS]
    assert result["samples"] == [crypto.base45_encode(sample) for sample in samples]
    assert result["roundTrips"] is True
    assert result["refused"] == ["TypeError"] * 5
    for text in ["GGW", "A", "AAAA", "ab", ":::"]:
        with pytest.raises(ValueError):
            crypto.base45_decode(text)


async def test_base64url_matches_python(page):
    samples = [os.urandom(n) for n in range(0, 70)]
    result = await call_module(page, "crypto.js", """(c, samples) => {
        const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
        const fromHex = (text) => Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
        const refused = (text) => { try { c.b64urlDecode(text); return false; } catch (e) { return e.name; } };
        return {
            encoded: samples.map((bytes) => c.b64urlEncode(fromHex(bytes))),
            roundTrips: samples.every((bytes) => hex(c.b64urlDecode(c.b64urlEncode(fromHex(bytes)))) === bytes),
            refused: ["abcde", "ab+c", "ab/c", "abc=", " abc", 7].map(refused),
        };
    }""", [sample.hex() for sample in samples])
    assert result["encoded"] == [crypto.b64url_encode(sample) for sample in samples]
    assert result["roundTrips"] is True
    assert result["refused"] == ["TypeError"] * 6


async def test_session_key_agrees_with_python_both_ways(page):
    credential_id = crypto.b64url_encode(os.urandom(32))
    js = await call_module(page, "crypto.js", """async (c) => {
        window.loginKeys = await c.newEcdhKeyPair();
        return {
            publicKey: c.b64urlEncode(await c.publicKeyRaw(window.loginKeys)),
            privateExtractable: window.loginKeys.privateKey.extractable,
        };
    }""")
    js_public = crypto.b64url_decode(js["publicKey"])
    assert len(js_public) == 65 and js_public[0] == 4
    assert js["privateExtractable"] is False

    server_key = crypto.new_ecdh_key()
    session_key = crypto.derive_session_key(server_key, js_public, credential_id)
    from_python = crypto.seal(session_key, "sellado en Python · ñandú".encode(), AD)

    result = await call_module(page, "crypto.js", """async (c, {serverPublic, credentialId, sealed}) => {
        const session = await c.deriveSessionKey(window.loginKeys.privateKey, c.b64urlDecode(serverPublic), credentialId);
        const ad = c.associatedData(c.CODE, 7, 8, 1);
        const opened = new TextDecoder().decode(await c.openSealed(session.sealKey, c.b64urlDecode(sealed), ad));
        const fromJs = await c.seal(session.sealKey, new TextEncoder().encode("sellado en el navegador"), ad);
        return {
            opened,
            sealed: c.b64urlEncode(fromJs),
            keys: Object.keys(session),
            extractable: session.sealKey.extractable,
            usages: session.sealKey.usages.sort(),
        };
    }""", {"serverPublic": crypto.b64url_encode(crypto.public_key_raw(server_key)), "credentialId": credential_id,
           "sealed": crypto.b64url_encode(from_python)})

    assert result["opened"] == "sellado en Python · ñandú"
    sealed = crypto.b64url_decode(result["sealed"])
    assert len(sealed) == crypto.IV_BYTES + len("sellado en el navegador") + crypto.TAG_BYTES
    assert crypto.open_sealed(session_key, sealed, AD) == b"sellado en el navegador"
    assert result["keys"] == ["sealKey"]
    assert result["extractable"] is False
    assert result["usages"] == ["decrypt", "encrypt"]


async def test_a_different_credential_id_gives_a_different_key(page):
    server_key = crypto.new_ecdh_key()
    result = await call_module(page, "crypto.js", """async (c, serverPublic) => {
        const keys = await c.newEcdhKeyPair();
        const session = await c.deriveSessionKey(keys.privateKey, c.b64urlDecode(serverPublic), "credencial-B");
        return {
            publicKey: c.b64urlEncode(await c.publicKeyRaw(keys)),
            sealed: c.b64urlEncode(await c.seal(session.sealKey, new Uint8Array([1, 2, 3]), c.associatedData(c.CODE, 7, 8, 1))),
        };
    }""", crypto.b64url_encode(crypto.public_key_raw(server_key)))
    js_public = crypto.b64url_decode(result["publicKey"])
    sealed = crypto.b64url_decode(result["sealed"])
    assert crypto.open_sealed(crypto.derive_session_key(server_key, js_public, "credencial-B"), sealed, AD) \
        == b"\x01\x02\x03"
    with pytest.raises(crypto.DecryptError):
        crypto.open_sealed(crypto.derive_session_key(server_key, js_public, "credencial-A"), sealed, AD)


async def test_open_sealed_refuses_what_is_not_ours(page):
    result = await call_module(page, "crypto.js", """async (c) => {
        const mine = await c.newEcdhKeyPair();
        const peer = await c.newEcdhKeyPair();
        const session = await c.deriveSessionKey(mine.privateKey, await c.publicKeyRaw(peer), "cred");
        const other = await c.deriveSessionKey(mine.privateKey, await c.publicKeyRaw(peer), "other-cred");
        const ad = c.associatedData(c.CODE, 7, 8, 1);
        const sealed = await c.seal(session.sealKey, new TextEncoder().encode("hola"), ad);
        const tampered = sealed.slice();
        tampered[20] ^= 1;
        const attempt = (key, blob, associated = ad) => c.openSealed(key, blob, associated).then(
            (plain) => new TextDecoder().decode(plain), (e) => `${e.name}: ${e instanceof c.DecryptError}`);
        return Promise.all([
            attempt(session.sealKey, sealed),
            attempt(session.sealKey, tampered),
            attempt(other.sealKey, sealed),
            attempt(session.sealKey, sealed.subarray(0, 27)),
            attempt(session.sealKey, sealed, c.associatedData(c.PROOF, 7, 8, 1)),
            attempt(session.sealKey, sealed, c.associatedData(c.CODE, 7, 8, 2)),
            attempt(session.sealKey, sealed, c.associatedData(c.CODE, 7, 9, 1)),
        ]);
    }""")
    assert result == ["hola"] + ["DecryptError: true"] * 6


async def test_import_public_key_raw_refuses_what_python_refuses(page):
    point = crypto.public_key_raw(crypto.new_ecdh_key())
    compressed = bytes([2 + (point[64] & 1)]) + point[1:33]
    off_curve = b"\x04" + bytes(63) + b"\x07"
    bad = [point[:64], compressed, off_curve, b"\x05" + point[1:]]
    result = await call_module(page, "crypto.js", """(c, raws) => Promise.all(raws.map((raw) =>
        c.importPublicKeyRaw(c.b64urlDecode(raw)).then((key) => key.type, (e) => e.name)))""",
        [crypto.b64url_encode(raw) for raw in [point, *bad]])
    assert result == ["public", "TypeError", "TypeError", "TypeError", "TypeError"]
    for raw in bad:
        with pytest.raises(ValueError):
            crypto.load_public_key_raw(raw)


async def test_login_challenge_matches_python(page):
    server_challenge = os.urandom(32)
    client_public = crypto.public_key_raw(crypto.new_ecdh_key())
    result = await call_module(page, "crypto.js", """async (c, [challenge, publicKey]) =>
        c.b64urlEncode(await c.loginChallenge(c.b64urlDecode(challenge), c.b64urlDecode(publicKey)))""",
        [crypto.b64url_encode(server_challenge), crypto.b64url_encode(client_public)])
    assert result == crypto.b64url_encode(crypto.login_challenge(server_challenge, client_public))


async def test_the_protocol_v2_vectors_of_docs_protocol_md(page):
    """docs/protocol.md §7, in the pages' own code: the client's fixed ECDH key and the server's
    public key give the session key that opens the vector code and proof, and nothing else."""
    v = protocol_vectors()
    client_public = bytes.fromhex(v["client_public_key"])
    jwk = {"kty": "EC", "crv": "P-256", "d": crypto.b64url_encode(bytes.fromhex(v["client_private_key"])),
           "x": crypto.b64url_encode(client_public[1:33]), "y": crypto.b64url_encode(client_public[33:])}
    result = await call_module(page, "crypto.js", """async (c, {jwk, v}) => {
        const fromHex = (hex) => Uint8Array.from(hex.match(/../g), (b) => parseInt(b, 16));
        const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
        const own = await crypto.subtle.importKey("jwk", jwk, { name: "ECDH", namedCurve: "P-256" }, false,
                                                  ["deriveBits"]);
        const session = await c.deriveSessionKey(own, fromHex(v.server_public_key), v.credential_id);
        const codeAd = c.associatedData(c.CODE, v.session_id, v.student_id, v.round);
        const proofAd = c.associatedData(c.PROOF, v.session_id, v.student_id, v.round);
        const payload = await c.openSealed(session.sealKey, c.base45Decode(v.code_text), codeAd);
        const proof = await c.openSealed(session.sealKey, c.b64urlDecode(v.proof), proofAd);
        const refused = await c.openSealed(session.sealKey, c.base45Decode(v.code_text), proofAd).then(
            () => "opened", (e) => e.name);
        return { codeAd: hex(codeAd), proofAd: hex(proofAd), payload: hex(payload),
                 proof: new TextDecoder().decode(proof), refused };
    }""", {"jwk": jwk, "v": v})
    assert result == {"codeAd": v["code_associated_data"], "proofAd": v["proof_associated_data"],
                      "payload": v["code_payload"], "proof": v["proof_plaintext"], "refused": "DecryptError"}
