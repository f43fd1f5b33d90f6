\echo '### detail: GET /notes/{slug}'
EXPLAIN (ANALYZE, COSTS OFF, TIMING ON, SUMMARY ON) SELECT n.id, u.handle FROM notes n JOIN users u ON u.id = n.author_id WHERE n.slug = 'note-4242';
\echo '### list: GET /notes?topic=topic-7&limit=20 (newest first)'
EXPLAIN (ANALYZE, COSTS OFF, TIMING ON, SUMMARY ON) SELECT n.id, n.slug FROM notes n JOIN users u ON u.id = n.author_id WHERE n.status = 'published'
 AND EXISTS (SELECT 1 FROM note_topics nt JOIN topics t ON t.id = nt.topic_id WHERE nt.note_id = n.id AND t.slug = 'topic-7')
 ORDER BY n.id DESC LIMIT 21;
\echo '### list: GET /notes?limit=20 (no filter)'
EXPLAIN (ANALYZE, COSTS OFF, TIMING ON, SUMMARY ON) SELECT n.id, n.slug FROM notes n JOIN users u ON u.id = n.author_id WHERE n.status = 'published' ORDER BY n.id DESC LIMIT 21;
\echo '### backlinks: GET /notes/{slug}/backlinks'
EXPLAIN (ANALYZE, COSTS OFF, TIMING ON, SUMMARY ON) SELECT n.id FROM notes n WHERE n.status = 'published' AND n.id IN (SELECT source_id FROM note_links WHERE target_id = (SELECT id FROM notes WHERE slug='note-77')) ORDER BY n.id DESC LIMIT 200;
\echo '### search: GET /search?q=raft leader&limit=10'
EXPLAIN (ANALYZE, COSTS OFF, TIMING ON, SUMMARY ON) WITH candidates AS (SELECT n.id, n.search FROM notes n
   WHERE n.search @@ websearch_to_tsquery('english', 'raft leader') AND n.status = 'published' ORDER BY n.id DESC LIMIT 300),
 hits AS (SELECT c.id, ts_rank_cd('{0.1, 0.2, 0.4, 1.0}', c.search, websearch_to_tsquery('english', 'raft leader'))::float8 AS score
   FROM candidates c ORDER BY score DESC, c.id DESC LIMIT 10)
 SELECT n.slug, n.title, n.body_text, hits.score FROM hits JOIN notes n ON n.id = hits.id ORDER BY hits.score DESC, hits.id DESC;
