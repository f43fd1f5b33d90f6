//! The object store behind uploads, through the `object_store` crate: a directory of the
//! local file system on embedded defaults (`{data_dir}/files`), an S3-compatible bucket
//! in production. Use cases see one [`Storage`] either way.

use std::sync::Arc;
use std::time::Duration;

use nexus_core::AppError;
use nexus_core::config::{Settings, StorageTarget};
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};

/// The size of a part of a multipart upload: S3's smallest, so that memory per upload
/// is as small as the protocol allows. An upload up to this size is sent in one `PUT`.
pub const PART_BYTES: usize = 5 * 1024 * 1024;

/// Parts of one upload in flight at once. With the part being filled, an upload holds at
/// most `(1 + PART_CONCURRENCY) * PART_BYTES` in memory, whatever the file's size.
const PART_CONCURRENCY: usize = 2;

/// Where uploaded files are kept. Cheap to clone.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// What the store is, for logs: `local files in …` or `s3://bucket/prefix`.
    describe: Arc<str>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe)
    }
}

impl Storage {
    /// The store the settings name. Nothing is contacted yet: an S3 store that is down
    /// at start-up only fails the uploads made while it is.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Storage> {
        let target = settings.storage_target().map_err(anyhow::Error::msg)?;
        match target {
            StorageTarget::Local(dir) => {
                std::fs::create_dir_all(&dir).map_err(|e| {
                    anyhow::Error::new(e).context(format!("creating {}", dir.display()))
                })?;
                let describe = format!("local files in {}", dir.display());
                Ok(Storage {
                    store: Arc::new(LocalFileSystem::new_with_prefix(&dir)?),
                    describe: describe.into(),
                })
            }
            StorageTarget::S3 { bucket, prefix } => {
                // The HTTP client of object_store speaks TLS through rustls with no
                // provider of its own (so that no C toolchain is needed for aws-lc); ring
                // is the one every other TLS client of Nexus uses. Already installed is
                // fine.
                let _ = rustls::crypto::ring::default_provider().install_default();
                let s3 = &settings.storage;
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(&bucket)
                    .with_client_options(
                        ClientOptions::new()
                            .with_allow_http(s3.endpoint_is_http())
                            .with_connect_timeout(Duration::from_secs(5))
                            .with_timeout(Duration::from_secs(30)),
                    )
                    // A few quick retries; a store that stays down is the request's
                    // 503, not minutes of waiting (the default retries for 3 minutes).
                    .with_retry(RetryConfig {
                        max_retries: 3,
                        retry_timeout: Duration::from_secs(10),
                        ..RetryConfig::default()
                    });
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                if let Some(region) = &s3.region {
                    builder = builder.with_region(region);
                }
                if let (Some(id), Some(secret)) = (&s3.access_key_id, &s3.secret_access_key) {
                    builder = builder
                        .with_access_key_id(id)
                        .with_secret_access_key(secret.expose());
                }
                let store = builder.build()?;
                let describe = format!("s3://{bucket}/{prefix}");
                let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    Arc::new(store)
                } else {
                    Arc::new(PrefixStore::new(store, prefix.as_str()))
                };
                Ok(Storage {
                    store,
                    describe: describe.into(),
                })
            }
        }
    }

    /// The store itself, for tests and operators' tools that look inside it.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// A writer of a new object at `key`: buffered up to one part, then a multipart
    /// upload. Nothing exists at `key` until the writer is shut down successfully.
    pub(crate) fn writer(&self, key: &str) -> BufWriter {
        BufWriter::with_capacity(self.store.clone(), Path::from(key), PART_BYTES)
            .with_max_concurrency(PART_CONCURRENCY)
    }

    /// Deletes the object at `key`; one that is not there is already deleted.
    pub(crate) async fn delete(&self, key: &str) -> Result<(), AppError> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.failed(&e, "deleting an object")),
        }
    }

    /// Deletes an object on an error path, where the error being answered matters more:
    /// a failure is logged (naming the key, so it can be removed by hand), not returned.
    pub(crate) async fn discard(&self, key: &str) {
        if let Err(e) = self.delete(key).await {
            tracing::error!(key, error = %e, "an object could not be deleted and is left in the store");
        }
    }

    /// The bytes of the object at `key`, as they come from the store.
    pub(crate) async fn read(
        &self,
        key: &str,
    ) -> Result<object_store::GetResult, object_store::Error> {
        self.store.get(&Path::from(key)).await
    }

    /// A failure of the store as the client is told it: 503, the store is not answering
    /// (a retry may work). The cause is logged here, since a 503 is not logged by itself.
    pub(crate) fn failed(&self, err: &dyn std::fmt::Display, doing: &str) -> AppError {
        tracing::warn!(store = %self.describe, error = %err, "file store failed {doing}");
        AppError::Unavailable("the file store is not answering; retry later".into())
    }
}
