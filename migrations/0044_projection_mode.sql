-- How a session's projector shows the codes (issue 12, docs/protocol.md §2 and §8):
-- 'per_student', every student's own code in turn; 'shared', one frame per tick
-- for the whole class (large halls). Chosen at creation, by the class size
-- unless the professor chose.
ALTER TABLE class_sessions ADD COLUMN projection_mode text NOT NULL DEFAULT 'per_student'
    CHECK (projection_mode IN ('per_student', 'shared'));
