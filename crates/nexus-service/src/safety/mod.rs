//! Safety controls that every transport shares: rate limits charged by operation class
//! ([`scope::OpClass`], [`crate::ratelimit`]) and `Idempotency-Key` ([`idempotency`]),
//! both read from the request's [`scope::RequestScope`].

pub mod idempotency;
pub mod scope;

pub use scope::{IdempotencyScope, OpClass, RequestScope};
