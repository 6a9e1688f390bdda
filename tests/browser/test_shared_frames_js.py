"""static/js/lib/shared_frames.js in Chromium: the shared-frame mode of docs/protocol.md §8,
against the document's test vectors and the server's own frames."""

from __future__ import annotations

import os

import pytest

from asistencia import crypto
from asistencia.domain import shared_frame
from tests.browser.harness import call_module
from tests.protocol_vectors import shared_frame_vectors

pytestmark = pytest.mark.browser

OPEN = """async (m, {key, progress, texts}) => {
    const fromHex = (hex) => Uint8Array.from(hex.match(/../g), (b) => parseInt(b, 16));
    const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    const sealKey = await crypto.subtle.importKey("raw", fromHex(key), "AES-GCM", false, ["encrypt", "decrypt"]);
    const frames = await m.sharedFramesOf({ sealKey }, progress);
    if (frames === null) {
        return null;
    }
    const opened = [];
    for (const text of texts) {
        const frame = await frames.open(text);
        opened.push(frame && { issuedAt: frame.issuedAt, nonce: hex(frame.nonce), mayAnswer: frames.mayAnswer(frame) });
    }
    return opened;
}"""


def _progress(sv: dict, *, answered_issued_at=None, mode="shared", key=None) -> dict:
    return {"session": {"id": sv["session_id"]}, "student_id": sv["student_id"],
            "projection": {"mode": mode, "key": key or sv["wrapped_projection_key"], "round_gap_seconds": 2,
                           "frame_window_seconds": 10, "answered_issued_at": answered_issued_at}}


async def test_the_vectors_of_docs_protocol_md(page):
    sv = shared_frame_vectors()
    opened = await call_module(page, "shared_frames.js", OPEN, {
        "key": sv["session_key"], "progress": _progress(sv), "texts": [sv["frame_text"]]})
    assert opened == [{"issuedAt": 1795000001, "nonce": "08090a0b0c0d0e0f", "mayAnswer": True}]


async def test_frames_other_codes_and_the_round_gap(page):
    """Frames made by the server open; another session's frame, a student's code and the join
    link do not; a frame issued less than the gap after the last answered one may not answer."""
    sv = shared_frame_vectors()
    projection_key = bytes.fromhex(sv["projection_key"])
    later = shared_frame.new_frame(projection_key, sv["session_id"], 1795000002)
    much_later = shared_frame.new_frame(projection_key, sv["session_id"], 1795000003)
    elsewhere = shared_frame.new_frame(projection_key, sv["session_id"] + 1, 1795000003)
    code = crypto.base45_encode(crypto.seal(bytes.fromhex(sv["session_key"]), os.urandom(22),
                                            crypto.associated_data(crypto.CODE, sv["session_id"], sv["student_id"], 1)))
    opened = await call_module(page, "shared_frames.js", OPEN, {
        "key": sv["session_key"], "progress": _progress(sv, answered_issued_at=1795000001),
        "texts": [later.text, much_later.text, elsewhere.text, code, "https://example.test/asistencia/scan?code=X"]})
    assert opened == [{"issuedAt": 1795000002, "nonce": later.nonce.hex(), "mayAnswer": False},
                      {"issuedAt": 1795000003, "nonce": much_later.nonce.hex(), "mayAnswer": True},
                      None, None, None]


async def test_per_student_sessions_and_a_key_for_someone_else(page):
    sv = shared_frame_vectors()
    assert await call_module(page, "shared_frames.js", OPEN, {
        "key": sv["session_key"], "progress": _progress(sv, mode="per_student"), "texts": []}) is None
    someone_else = shared_frame.wrap_for_student(bytes.fromhex(sv["session_key"]), bytes.fromhex(sv["projection_key"]),
                                                 session_id=sv["session_id"], student_id=sv["student_id"] + 1)
    refused = await call_module(page, "shared_frames.js", OPEN.replace(
        "const frames = await m.sharedFramesOf({ sealKey }, progress);",
        "const frames = await m.sharedFramesOf({ sealKey }, progress).catch((e) => e.name);\n"
        "    if (typeof frames === 'string') { return frames; }"),
        {"key": sv["session_key"], "progress": _progress(sv, key=someone_else), "texts": []})
    assert refused == "DecryptError"


async def test_a_progress_read_before_a_passed_round_does_not_take_the_page_back(page):
    """A rejoin's reply computed before a scan that passed a round (over REST) lands after it."""
    rounds = await call_module(page, "shared_frames.js", """async () => {
        const { ScanRounds } = await import("/static/js/lib/scan_rounds.js");
        const rounds = new ScanRounds({ session: {}, send: null, onAnswered: null, onRefused: null });
        const progress = (session, round) => ({ session: { id: session, rounds: 3 }, student_id: 101,
            current_round: round, state: "scanning", projection: { mode: "per_student" } });
        const seen = [];
        for (const [session, round] of [[7, 1], [7, 2], [7, 1], [7, 3], [7, 2], [8, 1]]) {
            seen.push([rounds.follow(progress(session, round)), rounds.sessionId, rounds.currentRound]);
        }
        return seen;
    }""")
    assert rounds == [[True, 7, 1], [True, 7, 2], [False, 7, 2], [True, 7, 3], [False, 7, 3], [True, 8, 1]]
