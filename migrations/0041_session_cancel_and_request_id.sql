-- A professor (or admin) may cancel a mistaken session, active or closed,
-- with a reason: it then never counts (SPEC §3.3). The session row keeps
-- who cancelled it, when and why; `closed_at` stays when it stopped taking
-- scans. A client's request id makes opening a session idempotent: the
-- same professor sending the same id gets the session it already opened.
ALTER TABLE class_sessions
    ADD COLUMN cancelled_at  timestamptz,
    ADD COLUMN cancelled_by  bigint REFERENCES users (id),
    ADD COLUMN cancel_reason text CHECK (length(btrim(cancel_reason)) BETWEEN 1 AND 500),
    ADD COLUMN request_id    uuid,
    ADD CONSTRAINT class_sessions_cancelled_with_reason
        CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL AND cancelled_by IS NOT NULL
                                         AND cancel_reason IS NOT NULL));
CREATE UNIQUE INDEX class_sessions_request ON class_sessions (professor_id, request_id)
    WHERE request_id IS NOT NULL;
