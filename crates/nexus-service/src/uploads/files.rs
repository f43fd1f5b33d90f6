//! The use cases of uploads: store a file, read it back, delete it, and the one decision
//! on who may read it.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use nexus_core::error::AppResult;
use nexus_core::{AppError, FieldError};
use nexus_db::uploads::{self as repo, UploadRow};
use object_store::buffered::BufWriter;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Uploads;
use super::rules::{self, MediaType};
use super::sniff::ContentCheck;
use super::storage::Storage;
use crate::Services;
use crate::actor::{AuthUser, Principal};
use crate::safety::{OpClass, RequestScope};

/// An uploaded file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d4e-7c1a-9a51-2f6f0b1e4c11",
    "filename": "week-03-load-test.pdf",
    "content_type": "application/pdf",
    "size": 482113,
    "sha256": "3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7",
    "created_at": "2026-12-07T14:03:11Z"
}))]
pub struct Upload {
    /// The upload's id (UUIDv7).
    pub id: Uuid,
    /// The file's name as it was given (any script; no path separators).
    pub filename: String,
    /// Its media type, one of those uploads take, checked against its bytes.
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// The SHA-256 of its bytes, in lowercase hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

impl From<&UploadRow> for Upload {
    fn from(row: &UploadRow) -> Self {
        Upload {
            id: row.id,
            filename: row.filename.clone(),
            content_type: row.content_type.clone(),
            size: u64::try_from(row.size).unwrap_or_default(),
            sha256: row.sha256.clone(),
            created_at: row.created_at,
        }
    }
}

/// What the transport says about a file before its bytes.
#[derive(Debug, Clone)]
pub struct NewUpload {
    /// Its name.
    pub filename: String,
    /// Its declared media type, as sent (parameters included).
    pub content_type: Option<String>,
    /// Its length, when the transport knows it before the bytes.
    pub length: Option<u64>,
}

/// An upload its caller may read; [`Download::open`] starts its bytes.
pub struct Download {
    pub upload: Upload,
    key: String,
    storage: Storage,
}

/// The bytes of a download, as they come from the store.
pub type ByteStream = BoxStream<'static, AppResult<Bytes>>;

impl Download {
    /// The type to serve the bytes with (text types with their charset).
    pub fn served_type(&self) -> &'static str {
        MediaType::from_essence(&self.upload.content_type)
            .map_or("application/octet-stream", MediaType::served)
    }

    /// Opens the object. Nothing is read until the stream is polled, and then one chunk
    /// at a time.
    pub async fn open(self) -> AppResult<ByteStream> {
        let found = match self.storage.read(&self.key).await {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => {
                // Only a delete whose row outlived its object gets here; deleting again
                // finishes it.
                tracing::error!(key = %self.key, "an upload's object is missing from the store");
                return Err(not_found(self.upload.id));
            }
            Err(e) => return Err(self.storage.failed(&e, "opening an upload")),
        };
        if found.meta.size != self.upload.size {
            return Err(AppError::Internal(anyhow::anyhow!(
                "the object {} has {} bytes where its row says {}",
                self.key,
                found.meta.size,
                self.upload.size
            )));
        }
        let storage = self.storage;
        Ok(found
            .into_stream()
            .map_err(move |e| storage.failed(&e, "reading an upload"))
            .boxed())
    }
}

fn not_found(id: Uuid) -> AppError {
    AppError::not_found(format!("no upload {id}"))
}

fn empty() -> AppError {
    AppError::invalid("body", "is empty; an upload is the file's bytes")
}

fn mismatch(media: MediaType, why: &str) -> AppError {
    AppError::UnsupportedMediaType(format!("declared {}, but {why}", media.essence()))
}

impl Uploads<'_> {
    /// Stores a file for `actor`: its bytes stream from `body` into the store, hashed,
    /// measured and checked against the declared type on the way. Refused: a declared
    /// type not taken or not matching the bytes (415), more than
    /// `storage.max_upload_bytes` (413: reading stops there), an empty body or a bad file
    /// name (422). On any failure no object is left behind.
    pub async fn create<S>(&self, actor: &AuthUser, new: NewUpload, body: S) -> AppResult<Upload>
    where
        S: Stream<Item = AppResult<Bytes>> + Send + Unpin,
    {
        self.charge(OpClass::Upload).await?;
        let limit = self.settings.storage.max_upload_bytes;
        if let Some(done) = self.committed_before::<Upload>()? {
            return same_body(done, body, limit).await;
        }
        actor.require_write()?;
        let filename = rules::filename(&new.filename)?;
        let media = MediaType::from_declared(new.content_type.as_deref())?;
        match new.length {
            Some(n) if n > limit => return Err(AppError::PayloadTooLarge),
            Some(0) => return Err(empty()),
            _ => {}
        }
        let id = Uuid::now_v7();
        let key = format!("uploads/{id}");
        let mut writer = self.storage.writer(&key);
        let (size, sha256) = match self.stream(media, limit, body, &mut writer).await {
            Ok(read) => read,
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    // Parts already sent stay in the store as an unfinished multipart
                    // upload (never an object); a lifecycle rule of the bucket ends them.
                    tracing::warn!(key, error = %abort, "an unfinished upload could not be aborted");
                }
                return Err(e);
            }
        };
        let row = UploadRow {
            id,
            owner_id: Some(actor.id),
            filename,
            content_type: media.essence().to_owned(),
            size: i64::try_from(size).map_err(|_| AppError::PayloadTooLarge)?,
            sha256,
            storage_key: key,
            created_at: self.clock.now(),
        };
        // Completing the object and writing its row must not stop half-way if the
        // request goes away (a client that disconnects, the request timeout): they run to
        // the end on a task of their own, in the request's scope (for its idempotency
        // record), so that either both exist or neither does.
        let keep = keep(self.0.clone(), writer, row);
        let task = match RequestScope::current() {
            Some(scope) => tokio::spawn(scope.run(keep)),
            None => tokio::spawn(keep),
        };
        task.await
            .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("storing an upload")))?
    }

    /// Streams `body` into `writer` while checking it; its size and SHA-256 when it is
    /// whole and of its declared type.
    async fn stream<S>(
        &self,
        media: MediaType,
        limit: u64,
        mut body: S,
        writer: &mut BufWriter,
    ) -> AppResult<(u64, String)>
    where
        S: Stream<Item = AppResult<Bytes>> + Send + Unpin,
    {
        let mut check = ContentCheck::new(media);
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(AppError::PayloadTooLarge);
            }
            // Checked before it is written: a file that is not what it claims is refused
            // at its first bytes, before anything reaches the store.
            check.feed(&chunk).map_err(|why| mismatch(media, &why))?;
            hasher.update(&chunk);
            writer
                .put(chunk)
                .await
                .map_err(|e| self.storage.failed(&e, "writing an upload"))?;
        }
        if size == 0 {
            return Err(empty());
        }
        check.finish().map_err(|why| mismatch(media, &why))?;
        Ok((size, hex::encode(hasher.finalize())))
    }

    /// The one decision on who may read an upload, and the upload when they may: its
    /// owner. To everyone else it does not exist (404), exactly like a missing one, so
    /// ids cannot be probed. Every use case that hands out an upload's bytes or details
    /// asks here; a rule that widens access (those who may see a submission that cites
    /// the upload; anyone, for an upload a public portfolio entry shows) belongs here,
    /// beside the owner's.
    pub async fn readable(&self, who: &Principal, id: Uuid) -> AppResult<UploadRow> {
        let row = repo::upload_by_id(&self.db, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        if let Principal::User(user) = who
            && row.owner_id == Some(user.id)
        {
            return Ok(row);
        }
        // Published evidence: the revision a public entry of a public portfolio shows
        // is readable by anyone, anonymous callers included, for exactly as long as
        // both stay public (see `learning::portfolios`).
        if nexus_db::portfolios::publicly_cited(&self.db, id).await? {
            return Ok(row);
        }
        let Principal::User(user) = who else {
            return Err(not_found(id));
        };
        // Evidence handed in: whoever may see a submission that cites the file may read
        // it (the cohort's mentors, assigned peers, admins), by the submission's own rule.
        for submission in nexus_db::submissions::citing_submissions(&self.db, id).await? {
            match self
                .learning()
                .submissions()
                .visible(user, submission)
                .await
            {
                Ok(_) => return Ok(row),
                Err(AppError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Err(not_found(id))
    }

    /// An upload to read, if the caller may ([`Uploads::readable`]).
    pub async fn download(&self, who: &Principal, id: Uuid) -> AppResult<Download> {
        self.charge(OpClass::Read).await?;
        let row = self.readable(who, id).await?;
        Ok(Download {
            upload: Upload::from(&row),
            key: row.storage_key,
            storage: self.storage.clone(),
        })
    }

    /// Deletes an upload and its object (its owner only; those who may only read it are
    /// refused, 403).
    pub async fn delete(&self, actor: &AuthUser, id: Uuid) -> AppResult<()> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        let row = self.readable(&Principal::User(actor.clone()), id).await?;
        if row.owner_id != Some(actor.id) {
            return Err(AppError::Forbidden(
                "only its owner can delete an upload".into(),
            ));
        }
        if nexus_db::submissions::is_cited(&self.db, id).await? {
            return Err(AppError::Conflict(
                "a submission cites this file: it stays as the evidence that was handed in".into(),
            ));
        }
        // The row goes in a transaction that is committed only once the object is gone:
        // should the object's delete fail, nothing changed; and while the row's delete is
        // uncommitted, a submission citing the file at that moment waits on it (the
        // citation's foreign key) instead of citing a file about to vanish.
        let mut tx = self.db.begin().await?;
        repo::delete_upload(&mut tx, id).await?;
        self.storage.delete(&row.storage_key).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Completes the object, then writes its row (with the request's idempotency record);
/// deletes the object again when the row cannot be written.
async fn keep(services: Services, mut writer: BufWriter, row: UploadRow) -> AppResult<Upload> {
    let storage = &services.storage;
    if let Err(e) = writer.shutdown().await {
        // The last request may have completed the object and lost only its answer.
        storage.discard(&row.storage_key).await;
        return Err(storage.failed(&e, "completing an upload"));
    }
    let upload = Upload::from(&row);
    let stored = async {
        let mut tx = services.db.begin().await?;
        repo::insert_upload(&mut tx, &row).await?;
        services.commit(tx, upload).await
    }
    .await;
    if stored.is_err() {
        storage.discard(&row.storage_key).await;
    }
    stored
}

/// The retry of a request whose first attempt committed `done` (and never answered):
/// the transport compared its name and type, the bytes are compared here, and the same
/// file gets the first answer without being stored twice.
async fn same_body<S>(done: Upload, mut body: S, limit: u64) -> AppResult<Upload>
where
    S: Stream<Item = AppResult<Bytes>> + Send + Unpin,
{
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        if size > limit {
            break;
        }
        hasher.update(&chunk);
    }
    if size == done.size && hex::encode(hasher.finalize()) == done.sha256 {
        Ok(done)
    } else {
        Err(AppError::Validation(vec![FieldError::new(
            "Idempotency-Key",
            "this key was already used with a different request",
        )]))
    }
}
