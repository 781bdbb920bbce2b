-- Event ids in commit order across a fleet (issue 20). An orchestrator stages its events in a
-- temporary table of its session (swamp_staged_events, created by swamp when it connects, emptied
-- at every commit). A deferred trigger on it runs inside the commit: it takes the fleet's event
-- lock and moves the transaction's events into `events`, numbered from events_id_seq in the order
-- they were staged. The lock is held until the commit is done, inside the server: a transaction
-- that takes ids after another commits after it, so a subscriber that has read id n has read every
-- id below n that will ever exist. pending_id keeps the staged number, so that an orchestrator
-- finds its own events.
CREATE SEQUENCE events_pending_id;
ALTER TABLE events ADD COLUMN pending_id BIGINT;
CREATE FUNCTION swamp_publish_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1937206640, 0);
    INSERT INTO events (id, at, kind, subject, message, data, pending_id)
        SELECT nextval('events_id_seq'), s.at, s.kind, s.subject, s.message, s.data, s.seq
          FROM (SELECT * FROM pg_temp.swamp_staged_events ORDER BY seq) AS s;
    DELETE FROM pg_temp.swamp_staged_events;
    RETURN NULL;
END
$$;
