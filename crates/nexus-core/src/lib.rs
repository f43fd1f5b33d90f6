//! The heart of Nexus: what the service *is*, independent of how it is reached or stored.
//!
//! # Layout
//! - [`config`]: the settings every process reads at start-up, layered from defaults, an
//!   optional `nexus.toml` and the environment, validated before anything else runs.
//! - [`error`]: [`AppError`], the one error type every use case returns. Transports map it
//!   to their own vocabulary (RFC 9457 problems over REST, `extensions.code` over GraphQL)
//!   in exactly one place each.
//! - [`hub`]: note kinds, slugs, Markdown rendering and sanitising, search queries.
//! - [`identity`]: users, roles and the validated inputs that create and change them.
//! - [`learning`]: cohort, enrolment, submission and review states; deadline arithmetic.
//!
//! This crate knows nothing of HTTP or SQL; `nexus-db` and `nexus-http` depend on it, never
//! the other way round.

#[macro_use]
mod names;

pub mod config;
pub mod error;
pub mod hub;
pub mod identity;
pub mod learning;
pub mod schedule;
#[cfg(feature = "sqlx")]
pub mod stored;

pub use error::{AppError, ErrorKind, FieldError, Unique};
