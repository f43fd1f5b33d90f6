//! Uploads: files users store (the artifacts of submissions, to come), kept in an object
//! store through `object_store`: a directory on embedded defaults, an S3-compatible
//! bucket in production ([`storage`]).
//!
//! A file streams from the transport to the store: it is hashed (SHA-256), measured and
//! checked against its declared type ([`sniff`]) as it passes, and never held whole in
//! memory. Its row is written only once the object is complete, and an upload that fails
//! after storing its object deletes the object again, so a row always names a whole
//! object and no error path leaves one behind.
//!
//! Who may read an upload is decided in one place, [`Uploads::readable`].
//!
//! # Layout
//! Callers reach the domain through its facade, [`Uploads`] (from
//! [`crate::Services::uploads`]): create, download, delete and the access decision
//! ([`files`]). Beside it: [`rules`] (the media types taken and what a file name may be),
//! [`sniff`] (whether bytes are of their declared type) and [`storage`].

pub mod files;
pub mod rules;
pub mod sniff;
pub mod storage;

pub use files::{Download, NewUpload, Upload};
pub use rules::MediaType;
pub use storage::Storage;

use_case_group! {
    /// Uploads: [`crate::Services::uploads`].
    Uploads
}
