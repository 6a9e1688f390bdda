-- A course's roster: who should attend, by course code, so a student who
-- never joined a held session is known and counted absent (issue 11).
-- Filled from a CSV of RUT and name, or from the students who ever joined
-- the course's sessions. `user_id` is the bridge's number for the RUT
-- (abs(crc32(RUT))), so roster rows meet registrations without a lookup.
CREATE TABLE course_roster (
    course_code text NOT NULL CHECK (length(course_code) BETWEEN 1 AND 50),
    rut         text NOT NULL CHECK (rut ~ '^[0-9]{1,8}-[0-9K]$'),
    user_id     bigint NOT NULL CHECK (user_id >= 0),
    full_name   text NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
    source      text NOT NULL CHECK (source IN ('csv', 'joined')),
    added_by    bigint NOT NULL REFERENCES users (id),
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (course_code, rut)
);
CREATE INDEX course_roster_user ON course_roster (course_code, user_id);

-- A registration a professor made by hand (a phone that failed, no passkey):
-- who marked the student. Its outcome is an override, audited as one.
ALTER TABLE registrations ADD COLUMN marked_by bigint REFERENCES users (id);
