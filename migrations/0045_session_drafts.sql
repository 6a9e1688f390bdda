-- A professor may prepare a session ahead of class as a draft and open it
-- when class starts (issue 11, docs/api.md "Drafts"). A draft has its join
-- code already (reserved: no other draft or active session takes it) but
-- takes no joins; opening it starts its clock: `opened_at` is when, and
-- `ends_at` and the late threshold count from it. Until then both are NULL.
-- Sessions that existed before drafts opened when they were created.
ALTER TABLE class_sessions
    ADD COLUMN opened_at timestamptz DEFAULT now(),
    ALTER COLUMN ends_at DROP NOT NULL,
    DROP CONSTRAINT class_sessions_status_check,
    DROP CONSTRAINT class_sessions_check;

UPDATE class_sessions SET opened_at = created_at;

-- A cancelled draft never opened, so it never stopped either: no `closed_at`.
ALTER TABLE class_sessions
    ADD CONSTRAINT class_sessions_status_check
        CHECK (status IN ('draft', 'active', 'closed', 'cancelled')),
    ADD CONSTRAINT class_sessions_opened
        CHECK (status = 'cancelled' OR (status = 'draft') = (opened_at IS NULL)),
    ADD CONSTRAINT class_sessions_clock
        CHECK ((opened_at IS NULL) = (ends_at IS NULL)),
    ADD CONSTRAINT class_sessions_closed
        CHECK ((closed_at IS NULL) = (status IN ('draft', 'active') OR opened_at IS NULL));

-- A join code names one draft or active session at a time, so opening a
-- draft never meets a taken code. The index of sessions due to close
-- (`WHERE status = 'active'`) needs no change: a draft is never due.
DROP INDEX class_sessions_active_join_code;
CREATE UNIQUE INDEX class_sessions_current_join_code ON class_sessions (join_code)
    WHERE status IN ('draft', 'active');

-- Lists run newest first by when a session opened (a draft: when it was made).
DROP INDEX class_sessions_professor;
CREATE INDEX class_sessions_professor ON class_sessions
    (professor_id, (COALESCE(opened_at, created_at)) DESC, id DESC);
CREATE INDEX class_sessions_started ON class_sessions ((COALESCE(opened_at, created_at)) DESC, id DESC);
