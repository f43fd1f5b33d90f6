//! Queries for uploads: one row per file kept in the object store.

use chrono::{DateTime, Utc};
use nexus_core::error::AppResult;
use uuid::Uuid;

use crate::exec::{Exec, query};

/// An upload as stored: what it is, who owns it and where its bytes are.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UploadRow {
    pub id: Uuid,
    /// `None` once the owner's account is gone.
    pub owner_id: Option<Uuid>,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    /// The object's key in the store.
    pub storage_key: String,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_upload(x: impl Into<Exec<'_>>, row: &UploadRow) -> AppResult<()> {
    x.into()
        .run(
            query(
                "INSERT INTO uploads (id, owner_id, filename, content_type, size, sha256, \
                 storage_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .args((
                row.id,
                row.owner_id,
                &row.filename,
                &row.content_type,
                row.size,
                &row.sha256,
                &row.storage_key,
                row.created_at,
            )),
        )
        .await
}

pub async fn upload_by_id(x: impl Into<Exec<'_>>, id: Uuid) -> AppResult<Option<UploadRow>> {
    x.into()
        .fetch_optional(
            query(
                "SELECT id, owner_id, filename, content_type, size, sha256, storage_key, \
                 created_at FROM uploads WHERE id = $1",
            )
            .bind(id),
        )
        .await
}

/// Deletes the row; `false` when it was already gone.
pub async fn delete_upload(x: impl Into<Exec<'_>>, id: Uuid) -> AppResult<bool> {
    x.into()
        .changed_one(query("DELETE FROM uploads WHERE id = $1").bind(id))
        .await
}
