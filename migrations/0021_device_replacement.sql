-- Replacing an active phone (SPEC §3.1): the new device waits, `pending`,
-- until `activates_at` (the cool-off) or a professor's approval; the phone it
-- replaces keeps working meanwhile. Approvals are audited like every change.
ALTER TABLE devices ADD COLUMN activates_at timestamptz;
ALTER TABLE device_audit DROP CONSTRAINT device_audit_action_check;
ALTER TABLE device_audit ADD CONSTRAINT device_audit_action_check
    CHECK (action IN ('registered', 'enrolled', 'revoked', 'login', 'login_refused', 'clone_suspected',
                      'approved'));
-- One replacement waits at a time: a newer one supersedes it.
CREATE UNIQUE INDEX devices_one_pending_per_user ON devices (user_id) WHERE status = 'pending';
