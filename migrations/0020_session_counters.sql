-- Live counters of each class session (see asistencia/domain/counters.py),
-- kept in step with registrations inside the same transactions, so reading
-- them costs the same for a class of 5 or of 500. `version` grows with every
-- change: a client that already shows a higher version ignores an older one.
CREATE TABLE session_counters (
    session_id  bigint PRIMARY KEY REFERENCES class_sessions (id),
    joined      integer NOT NULL DEFAULT 0 CHECK (joined >= 0),
    in_progress integer NOT NULL DEFAULT 0 CHECK (in_progress >= 0),
    present     integer NOT NULL DEFAULT 0 CHECK (present >= 0),
    late        integer NOT NULL DEFAULT 0 CHECK (late >= 0),
    doubtful    integer NOT NULL DEFAULT 0 CHECK (doubtful >= 0),
    failed      integer NOT NULL DEFAULT 0 CHECK (failed >= 0),
    absent      integer NOT NULL DEFAULT 0 CHECK (absent >= 0),
    version     bigint NOT NULL DEFAULT 0,
    CHECK (joined = in_progress + present + late + doubtful + failed + absent)
);

-- Every session has its counters row from the moment it exists, however it
-- was inserted.
CREATE FUNCTION session_counters_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO session_counters (session_id) VALUES (NEW.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER class_sessions_counters AFTER INSERT ON class_sessions
    FOR EACH ROW EXECUTE FUNCTION session_counters_row();
INSERT INTO session_counters (session_id) SELECT id FROM class_sessions;

-- Fraud counters per student of a session.
CREATE INDEX scan_failures_session_user ON scan_failures (session_id, user_id);
