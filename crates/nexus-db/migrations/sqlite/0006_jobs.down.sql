ALTER TABLE users DROP COLUMN email_digest;
ALTER TABLE users DROP COLUMN email_notifications;
DROP TABLE job_effects;
DROP TABLE jobs;
DROP TABLE outbox_events;
