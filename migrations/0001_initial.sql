-- The whole schema of SPEC §3: people, devices and their audit, class
-- sessions, registrations, rounds, outcomes, overrides and their audit, and
-- the scan failures behind the fraud counters.

-- People as the legacy bridge's tokens describe them; refreshed when they act.
CREATE TABLE users (
    id            bigint PRIMARY KEY CHECK (id >= 0),
    username      text NOT NULL CHECK (length(username) BETWEEN 1 AND 200),
    full_name     text CHECK (length(full_name) <= 200),
    role          text NOT NULL CHECK (role IN ('alumno', 'profesor', 'admin')),
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now()
);

-- A student's phone, bound by a passkey (SPEC §3.1).
CREATE TABLE devices (
    id              bigserial PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id),
    credential_id   bytea NOT NULL UNIQUE CHECK (length(credential_id) BETWEEN 16 AND 1023),
    public_key      bytea NOT NULL,
    sign_count      bigint NOT NULL DEFAULT 0 CHECK (sign_count >= 0),
    aaguid          uuid,
    transports      text[] NOT NULL DEFAULT '{}',
    fingerprint     text NOT NULL CHECK (length(fingerprint) BETWEEN 1 AND 256),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'enrolled', 'revoked')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    enrolled_at     timestamptz,
    revoked_at      timestamptz,
    last_login_at   timestamptz,
    CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);
-- Policy one-to-one: at most one enrolled device per student.
CREATE UNIQUE INDEX devices_one_enrolled_per_user ON devices (user_id) WHERE status = 'enrolled';
CREATE INDEX devices_user ON devices (user_id);

CREATE TABLE device_audit (
    id         bigserial PRIMARY KEY,
    device_id  bigint NOT NULL REFERENCES devices (id),
    user_id    bigint NOT NULL REFERENCES users (id),
    actor_id   bigint REFERENCES users (id),
    action     text NOT NULL CHECK (action IN ('registered', 'enrolled', 'revoked', 'login',
                                                'login_refused', 'clone_suspected')),
    from_status text,
    to_status   text,
    reason     text NOT NULL DEFAULT '',
    detail     jsonb NOT NULL DEFAULT '{}',
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX device_audit_device ON device_audit (device_id, at);
CREATE INDEX device_audit_user ON device_audit (user_id, at);

-- A class session opened by a professor (SPEC §3.3).
CREATE TABLE class_sessions (
    id                 bigserial PRIMARY KEY,
    professor_id       bigint NOT NULL REFERENCES users (id),
    course_code        text NOT NULL CHECK (length(course_code) BETWEEN 1 AND 50),
    course_name        text NOT NULL CHECK (length(course_name) BETWEEN 1 AND 200),
    room               text NOT NULL DEFAULT '' CHECK (length(room) <= 100),
    semester           text NOT NULL DEFAULT '' CHECK (length(semester) <= 20),
    block              text NOT NULL DEFAULT '' CHECK (length(block) <= 50),
    rounds             smallint NOT NULL DEFAULT 3 CHECK (rounds BETWEEN 1 AND 10),
    duration_minutes   integer NOT NULL DEFAULT 15 CHECK (duration_minutes BETWEEN 1 AND 600),
    late_after_minutes integer CHECK (late_after_minutes >= 0),
    allowed_networks   cidr[] NOT NULL DEFAULT '{}',
    join_code          text NOT NULL CHECK (join_code ~ '^[A-Z]{6}$'),
    status             text NOT NULL DEFAULT 'active'
                       CHECK (status IN ('active', 'closed', 'cancelled')),
    created_at         timestamptz NOT NULL DEFAULT now(),
    ends_at            timestamptz NOT NULL,
    closed_at          timestamptz,
    closed_by          text CHECK (closed_by IN ('professor', 'timer', 'admin')),
    CHECK ((status = 'active') = (closed_at IS NULL))
);
-- A join code names one active session at a time.
CREATE UNIQUE INDEX class_sessions_active_join_code ON class_sessions (join_code) WHERE status = 'active';
CREATE INDEX class_sessions_professor ON class_sessions (professor_id, created_at DESC);
CREATE INDEX class_sessions_course ON class_sessions (course_code, semester, created_at);
CREATE INDEX class_sessions_due ON class_sessions (ends_at) WHERE status = 'active';

-- A student in a session: one per student per session.
CREATE TABLE registrations (
    id             bigserial PRIMARY KEY,
    session_id     bigint NOT NULL REFERENCES class_sessions (id),
    user_id        bigint NOT NULL REFERENCES users (id),
    device_id      bigint REFERENCES devices (id),
    origin_ip      inet,
    joined_at      timestamptz NOT NULL DEFAULT now(),
    state          text NOT NULL DEFAULT 'scanning'
                   CHECK (state IN ('scanning', 'completed', 'failed')),
    current_round  smallint NOT NULL DEFAULT 1 CHECK (current_round BETWEEN 1 AND 11),
    round_failures smallint NOT NULL DEFAULT 0 CHECK (round_failures >= 0),
    failures       integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    completed_at   timestamptz,
    UNIQUE (session_id, user_id)
);
CREATE INDEX registrations_user ON registrations (user_id);

-- One row per passed round.
CREATE TABLE rounds (
    registration_id bigint NOT NULL REFERENCES registrations (id),
    round           smallint NOT NULL CHECK (round BETWEEN 1 AND 10),
    response_ms     integer NOT NULL CHECK (response_ms >= 0),
    projected_at    timestamptz NOT NULL,
    scanned_at      timestamptz NOT NULL,
    PRIMARY KEY (registration_id, round)
);

-- The outcome of a registration (SPEC §3.6): one per registration.
-- computed_status is what the rules say (NULL while the student is still
-- scanning: only a professor's override can create the row that early);
-- status is what counts (it differs only when a professor overrode it).
CREATE TABLE outcomes (
    registration_id  bigint PRIMARY KEY REFERENCES registrations (id),
    computed_status  text CHECK (computed_status IN ('PRESENT', 'LATE', 'DOUBTFUL', 'ABSENT')),
    status           text NOT NULL CHECK (status IN ('PRESENT', 'LATE', 'DOUBTFUL', 'ABSENT', 'JUSTIFIED')),
    certainty        smallint CHECK (certainty BETWEEN 0 AND 100),
    rounds_completed smallint NOT NULL DEFAULT 0,
    rt_mean_ms       double precision,
    rt_sd_ms         double precision,
    rt_min_ms        integer,
    rt_max_ms        integer,
    rt_median_ms     double precision,
    computed_at      timestamptz NOT NULL DEFAULT now(),
    overridden       boolean NOT NULL DEFAULT false,
    override_note    text,
    overridden_by    bigint REFERENCES users (id),
    overridden_at    timestamptz,
    CHECK (overridden = (override_note IS NOT NULL)),
    CHECK (overridden OR computed_status IS NOT NULL)
);

CREATE TABLE outcome_overrides (
    id              bigserial PRIMARY KEY,
    registration_id bigint NOT NULL REFERENCES registrations (id),
    actor_id        bigint NOT NULL REFERENCES users (id),
    from_status     text,
    to_status       text NOT NULL,
    note            text NOT NULL CHECK (length(btrim(note)) BETWEEN 1 AND 1000),
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outcome_overrides_registration ON outcome_overrides (registration_id, at);

-- A professor giving a failed student new attempts.
CREATE TABLE registration_resets (
    id              bigserial PRIMARY KEY,
    registration_id bigint NOT NULL REFERENCES registrations (id),
    actor_id        bigint NOT NULL REFERENCES users (id),
    round           smallint NOT NULL,
    at              timestamptz NOT NULL DEFAULT now()
);

-- Every refused scan, by type: the per-session fraud counters and who was involved.
CREATE TABLE scan_failures (
    id         bigserial PRIMARY KEY,
    session_id bigint NOT NULL REFERENCES class_sessions (id),
    user_id    bigint NOT NULL REFERENCES users (id),
    round      smallint,
    code       text NOT NULL CHECK (code ~ '^[A-Z_]{2,40}$'),
    origin_ip  inet,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scan_failures_session ON scan_failures (session_id, code);
