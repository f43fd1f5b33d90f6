INSERT INTO users (id, email, email_normalized, handle, display_name, password_hash, created_at, updated_at)
SELECT gen_random_uuid(), 'u'||i||'@x.io', 'u'||i||'@x.io', 'user-'||i, 'User '||i, 'x', now(), now() FROM generate_series(1,2000) i;
INSERT INTO topics (id, slug, title, created_at, updated_at)
SELECT gen_random_uuid(), 'topic-'||i, 'Topic '||i, now(), now() FROM generate_series(1,50) i;
CREATE TEMP TABLE words AS SELECT unnest(string_to_array('rust tokio async borrow checker lifetime index btree query planner join postgres sqlite cache redis queue retry backoff webhook token session cursor pagination schema migration trait generic closure iterator future stream socket http header latency throughput benchmark profile flame graph memory allocation thread mutex channel actor message broker consumer producer partition replica leader election consensus raft paxos vector search ranking snippet', ' ')) AS w;
CREATE TEMP TABLE wl AS SELECT array_agg(w) AS a FROM words;
INSERT INTO notes (id, slug, author_id, kind, status, title, summary, body_md, body_html, body_text, version, created_at, updated_at, published_at)
SELECT
  -- time-ordered ids like UUIDv7: a millisecond prefix then random bits
  (lpad(to_hex((extract(epoch from now())*1000)::bigint - 100000 + i), 12, '0') || substr(md5(i::text), 1, 20))::uuid,
  'note-'||i,
  (SELECT id FROM users ORDER BY id OFFSET (i % 2000) LIMIT 1),
  (ARRAY['concept','challenge','practice','guide','takeaway'])[1 + i % 5],
  'published',
  'Note '||i||' on '||(SELECT a[1 + i % 60] FROM wl),
  'summary', body, body, body, 1, now(), now() - (i % 1000) * interval '1 minute', now()
FROM generate_series(1,100000) i,
LATERAL (SELECT string_agg((SELECT a[1 + ((i * 31 + k * 17) % 60)] FROM wl), ' ') AS body FROM generate_series(1, 150 + i % 250) k) b;
INSERT INTO note_topics (note_id, topic_id)
SELECT n.id, t.id FROM notes n JOIN LATERAL (SELECT id FROM topics ORDER BY slug OFFSET (abs(hashtext(n.slug)) % 50) LIMIT 1) t ON true;
INSERT INTO note_links (source_id, target_slug, target_id)
SELECT n.id, 'note-'||(1 + abs(hashtext(n.slug)) % 100000), NULL FROM notes n;
UPDATE note_links l SET target_id = n.id FROM notes n WHERE n.slug = l.target_slug;
ANALYZE;
