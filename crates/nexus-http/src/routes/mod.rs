//! REST handlers, one module per area. Each handler extracts, calls one service function
//! and shapes the answer; nothing else.

pub mod cohorts;
pub mod discussion;
pub mod hub;
pub mod identity;
pub mod jobs;
pub mod learning;
pub mod submissions;
pub mod webhooks;
