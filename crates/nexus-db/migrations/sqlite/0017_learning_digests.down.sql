DROP TABLE digests_sent;
ALTER TABLE users DROP COLUMN email_learning_digest;
