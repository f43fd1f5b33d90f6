-- The result a use case committed for a request with an Idempotency-Key, written in the
-- same transaction as the change itself. A retry whose first attempt committed but never
-- answered (the process died in between) answers from it instead of acting again.
ALTER TABLE idempotency_keys ADD COLUMN effect TEXT;
