-- The search index takes new notes into a pending list that every search scans in full
-- until it is merged (by VACUUM, or by the insert that overflows it). At the default
-- 4 MB a 2-word search spent 1.9 of its 2.3 ms in that scan; 256 kB (a few dozen notes)
-- bounds the scan, and the merge an overflowing insert does stays small.
ALTER INDEX notes_search_idx SET (gin_pending_list_limit = 256);
