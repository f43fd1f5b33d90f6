//! Migrations and the database layer, on both backends.

use nexus_db::{Db, Pool};

use crate::backend_tests;
use crate::helpers::{Backend, TestEnv};

backend_tests!(
    concurrent_starts_migrate_once_without_racing,
    migrations_revert_and_reapply_cleanly,
    every_foreign_key_is_indexed,
);

async fn concurrent_starts_migrate_once_without_racing(backend: Backend) {
    let env = TestEnv::new(backend).await;
    std::fs::create_dir_all(&env.settings.data_dir).unwrap();
    // Four "instances" open their own pools on one fresh database and migrate at once.
    let mut handles = Vec::new();
    for _ in 0..4 {
        let settings = env.settings.clone();
        handles.push(tokio::spawn(async move {
            let db = Db::connect(&settings).await.expect("connects");
            db.migrate().await.expect("migrates");
            db
        }));
    }
    let mut dbs = Vec::new();
    for h in handles {
        dbs.push(h.await.unwrap());
    }
    let applied: i64 = nexus_db::Exec::from(&dbs[0])
        .scalar(nexus_db::query("SELECT COUNT(*) FROM _sqlx_migrations"))
        .await
        .unwrap();
    let expected = dbs[0]
        .migrator()
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .count();
    assert_eq!(applied as usize, expected);
    for db in &dbs {
        db.ping().await.expect("schema in place");
        db.close().await;
    }
}

async fn migrations_revert_and_reapply_cleanly(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let db = Db::connect(&env.settings).await.unwrap();
    db.migrate().await.unwrap();
    db.revert_all().await.expect("every migration reverts");
    assert!(db.ping().await.is_err(), "reverting removes the schema");
    db.migrate().await.expect("and applies again");
    db.ping().await.unwrap();
    db.close().await;
}

async fn every_foreign_key_is_indexed(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let db = Db::connect(&env.settings).await.unwrap();
    db.migrate().await.unwrap();
    let unindexed: Vec<String> = match db.pool() {
        Pool::Postgres(pool) => sqlx::query_scalar(
            // A foreign key is covered when some index starts with its columns in order.
            "SELECT c.conrelid::regclass::text || '(' || c.conname || ')'
               FROM pg_constraint c
              WHERE c.contype = 'f'
                AND NOT EXISTS (
                    SELECT 1 FROM pg_index i
                     WHERE i.indrelid = c.conrelid
                       AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] = c.conkey)",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
        Pool::Sqlite(pool) => {
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            let mut missing = Vec::new();
            for table in tables {
                let fks: Vec<(i64, String)> = sqlx::query_as(
                    "SELECT id, \"from\" FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
                )
                .bind(&table)
                .fetch_all(pool)
                .await
                .unwrap();
                let leading: Vec<String> = sqlx::query_scalar(
                    "SELECT ii.name FROM pragma_index_list(?1) il
                       JOIN pragma_index_info(il.name) ii ON ii.seqno = 0",
                )
                .bind(&table)
                .fetch_all(pool)
                .await
                .unwrap();
                for (_, column) in fks {
                    if !leading.contains(&column) {
                        missing.push(format!("{table}({column})"));
                    }
                }
            }
            missing
        }
    };
    assert!(
        unindexed.is_empty(),
        "foreign keys without an index: {unindexed:?}"
    );
    db.close().await;
}
