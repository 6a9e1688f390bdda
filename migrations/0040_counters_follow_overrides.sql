-- Counters follow the status that counts (asistencia/domain/counters.py):
-- a professor's override moves its student to the override's counter,
-- JUSTIFIED included, and keeps them there. Sessions counted before this
-- change are recounted by the same rule.
ALTER TABLE session_counters
    ADD COLUMN justified integer NOT NULL DEFAULT 0 CHECK (justified >= 0),
    DROP CONSTRAINT session_counters_check,
    ADD CONSTRAINT session_counters_sum
        CHECK (joined = in_progress + present + late + doubtful + justified + failed + absent);

WITH counted AS (
    SELECT r.session_id,
           count(*) AS joined,
           count(*) FILTER (WHERE o.status IS NULL AND r.state <> 'failed') AS in_progress,
           count(*) FILTER (WHERE o.status IS NULL AND r.state = 'failed') AS failed,
           count(*) FILTER (WHERE o.status = 'PRESENT') AS present,
           count(*) FILTER (WHERE o.status = 'LATE') AS late,
           count(*) FILTER (WHERE o.status = 'DOUBTFUL') AS doubtful,
           count(*) FILTER (WHERE o.status = 'JUSTIFIED') AS justified,
           count(*) FILTER (WHERE o.status = 'ABSENT') AS absent
      FROM registrations r
      LEFT JOIN outcomes o ON o.registration_id = r.id
     GROUP BY r.session_id
)
UPDATE session_counters c
   SET joined = n.joined, in_progress = n.in_progress, failed = n.failed, present = n.present,
       late = n.late, doubtful = n.doubtful, justified = n.justified, absent = n.absent,
       version = c.version + 1
  FROM counted n
 WHERE c.session_id = n.session_id;
