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
EXPLAIN (ANALYZE, COSTS OFF, TIMING ON, SUMMARY ON) WITH q AS (SELECT websearch_to_tsquery('english', 'raft leader') AS query),
 hits AS (SELECT n.id, n.slug, n.title, n.body_text, ts_rank_cd('{0.1, 0.2, 0.4, 1.0}', n.search, q.query)::float8 AS score FROM notes n, q WHERE n.search @@ q.query AND n.status = 'published' ORDER BY score DESC, n.id DESC LIMIT 10)
 SELECT hits.slug, ts_headline('english', hits.body_text, q.query, 'MaxWords=24, MinWords=8, MaxFragments=1') FROM hits, q ORDER BY hits.score DESC;
