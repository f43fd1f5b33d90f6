//! Collaborator matching: a learner's profile (what they build, with what, when, on
//! which topics), ranked matches among the open profiles ([`super::matching`] scores
//! them), requests to build a project together, and blocks.
//!
//! Rules:
//! - A profile is its owner's; matches never list the caller, closed profiles, or anyone
//!   either side blocked.
//! - A request goes to a learner whose profile is open; only its partner accepts or
//!   declines it, once. A request is visible to its two sides only (404 to anyone else).
//! - One pending request between two learners at a time, in either direction (409).
//! - A block works both ways: no request either way (403), no match either way, and the
//!   pending requests between the two are cancelled with it.
//! - Requests have a rate limit of their own (`rate_limit.collaboration`), beside the
//!   write budget every change draws from: each lands in someone else's list.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use nexus_core::identity::Handle;
use nexus_core::learning::{self as core, CollaborationStatus, CollaborationTrack};
use nexus_core::{AppError, Unique, error::AppResult};
use nexus_db::collaboration::{
    self as repo, CollaborationRow, Direction, NewCollaboration, ProfileRow, ProfileWrite,
};
use nexus_db::identity as users;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::matching::{self, Facts, MatchReason};
use super::rules::{Faults, clip};
use crate::actor::AuthUser;
use crate::page::{Page, PageRequest};
use crate::safety::OpClass;

use_case_group! {
    /// Collaboration profiles, matches, requests and blocks:
    /// [`super::Learning::collaboration`].
    Collaboration
}

pub const MAX_STACK: usize = 20;
pub const STACK_ITEM_MAX: usize = 40;
pub const MAX_TOPICS: usize = 20;
const LOOKING_FOR_MAX: usize = 1000;
const PROJECT_TITLE_MAX: usize = 200;
const MESSAGE_MAX: usize = 2000;
pub const MAX_WEEKLY_HOURS: u32 = 80;

fn yes() -> bool {
    true
}

/// `PUT /me/collaboration-profile`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    pub track: CollaborationTrack,
    /// Languages, frameworks and tools, each 1-40 characters, at most 20, each once.
    #[serde(default)]
    #[schema(example = json!(["Rust", "PostgreSQL", "Redis"]), max_items = 20)]
    pub stack: Vec<String>,
    /// Hub topic slugs you want to work on, at most 20, each once.
    #[serde(default)]
    #[schema(example = json!(["caching", "distributed-systems"]), max_items = 20)]
    pub topics: Vec<String>,
    /// Hours a week you can give a project, 1-80.
    #[schema(example = 8, minimum = 1, maximum = 80)]
    pub weekly_hours: u32,
    /// Your IANA time zone.
    #[schema(
        example = "Europe/Berlin",
        max_length = 64,
        pattern = r"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$"
    )]
    pub timezone: String,
    /// What you want to build, and with whom.
    #[serde(default)]
    #[schema(
        example = "A front-end learner to build a dashboard on my job queue's API.",
        max_length = 1000
    )]
    pub looking_for: String,
    /// Whether you appear in others' matches and take requests (default `true`).
    #[serde(default = "yes")]
    pub open: bool,
}

/// A collaboration profile.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProfileView {
    #[schema(example = "ada")]
    pub handle: String,
    pub track: CollaborationTrack,
    pub stack: Vec<String>,
    pub topics: Vec<String>,
    pub weekly_hours: u32,
    pub timezone: String,
    pub looking_for: String,
    pub open: bool,
    pub updated_at: DateTime<Utc>,
}

/// A ranked match.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MatchView {
    #[schema(example = "bea")]
    pub handle: String,
    pub display_name: String,
    pub track: CollaborationTrack,
    pub stack: Vec<String>,
    pub topics: Vec<String>,
    pub weekly_hours: u32,
    pub timezone: String,
    pub looking_for: String,
    /// 0-100: the sum of the reasons' points.
    #[schema(example = 85.0)]
    pub score: f64,
    /// Each part of the score worth anything, in the order track, cohort, topics, time
    /// zone, availability.
    pub reasons: Vec<MatchReason>,
}

/// `POST /collaborations`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollaborationInput {
    /// The handle of the learner to build with.
    #[schema(
        example = "bea",
        min_length = 3,
        max_length = 30,
        pattern = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
    )]
    pub partner: String,
    #[schema(
        example = "A live dashboard for the job queue",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub project_title: String,
    #[serde(default)]
    #[schema(
        example = "I have the API; would you build the front end with me?",
        max_length = 2000
    )]
    pub message: String,
}

/// A collaboration request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CollaborationView {
    pub id: Uuid,
    /// Who asked.
    pub requester: String,
    /// Who was asked.
    pub partner: String,
    pub project_title: String,
    pub message: String,
    pub status: CollaborationStatus,
    pub created_at: DateTime<Utc>,
    /// When it was accepted, declined or cancelled.
    pub responded_at: Option<DateTime<Utc>>,
}

/// Which side of a request a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CollaborationDirection {
    /// Requests you received.
    Incoming,
    /// Requests you sent.
    Outgoing,
}

impl Collaboration<'_> {
    /// The caller's profile; 404 before the first `PUT`.
    pub async fn profile(&self, actor: &AuthUser) -> AppResult<ProfileView> {
        self.charge(OpClass::Read).await?;
        let row = repo::profile(&self.db, actor.id)
            .await?
            .ok_or_else(no_profile)?;
        Ok(profile_view(row))
    }

    /// Creates or replaces the caller's profile.
    pub async fn put_profile(
        &self,
        actor: &AuthUser,
        input: ProfileInput,
    ) -> AppResult<ProfileView> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        let mut input = input;
        let mut faults = Faults::default();
        if faults.list("stack", input.stack.len(), 0, MAX_STACK) {
            let mut seen = BTreeSet::new();
            for (i, item) in input.stack.iter_mut().enumerate() {
                let field = format!("stack[{i}]");
                faults.text(&field, item, STACK_ITEM_MAX, true, false);
                if !seen.insert(item.to_lowercase()) {
                    faults.add(field, "is listed twice");
                }
            }
        }
        if faults.list("topics", input.topics.len(), 0, MAX_TOPICS) {
            let mut seen = BTreeSet::new();
            for (i, topic) in input.topics.iter().enumerate() {
                let field = format!("topics[{i}]");
                if faults.slug(&field, topic) && !seen.insert(topic.clone()) {
                    faults.add(field, "is listed twice");
                }
            }
        }
        if !(1..=MAX_WEEKLY_HOURS).contains(&input.weekly_hours) {
            faults.add(
                "weekly_hours",
                format!("must be between 1 and {MAX_WEEKLY_HOURS}"),
            );
        }
        if core::time_zone(&input.timezone).is_none() {
            faults.add(
                "timezone",
                "is not an IANA time zone (e.g. `Europe/Berlin`)",
            );
        }
        faults.text(
            "looking_for",
            &mut input.looking_for,
            LOOKING_FOR_MAX,
            false,
            true,
        );
        faults.finish()?;
        repo::upsert_profile(
            &self.db,
            ProfileWrite {
                user: actor.id,
                track: input.track,
                stack: serde_json::json!(input.stack),
                topics: serde_json::json!(input.topics),
                weekly_hours: i32::try_from(input.weekly_hours).unwrap_or(i32::MAX),
                timezone: &input.timezone,
                looking_for: &input.looking_for,
                open: input.open,
                now: self.clock.now(),
            },
        )
        .await?;
        let row = repo::profile(&self.db, actor.id)
            .await?
            .ok_or_else(no_profile)?;
        Ok(profile_view(row))
    }

    /// The open profiles ranked for the caller, best first, ties by handle. The caller
    /// needs a profile of their own (409 without one), open or not.
    pub async fn matches(&self, actor: &AuthUser, limit: Option<u32>) -> AppResult<Vec<MatchView>> {
        self.charge(OpClass::Read).await?;
        let limit = crate::page::limit(limit)? as usize;
        let Some(mine) = repo::profile(&self.db, actor.id).await? else {
            return Err(AppError::Conflict(
                "you have no collaboration profile yet: PUT /api/v1/me/collaboration-profile \
                 first, so that matches know what you look for"
                    .into(),
            ));
        };
        let candidates = repo::candidates(&self.db, actor.id).await?;
        let now = self.clock.now();
        let mut cohorts: HashMap<Uuid, Vec<(String, Option<u32>)>> = HashMap::new();
        for c in repo::active_cohorts(&self.db, actor.id).await? {
            let week = core::time_zone(&c.timezone).and_then(|tz| {
                matching::current_week(c.starts_on, now.with_timezone(&tz).date_naive())
            });
            cohorts.entry(c.user_id).or_default().push((c.slug, week));
        }
        let mut topics: HashMap<Uuid, BTreeSet<String>> = HashMap::new();
        for t in repo::note_topics(&self.db, actor.id).await? {
            topics.entry(t.author_id).or_default().insert(t.topic);
        }
        let facts = |p: &ProfileRow| -> Option<Facts> {
            let mut all = topics.get(&p.user_id).cloned().unwrap_or_default();
            all.extend(p.topics.0.iter().cloned());
            Some(Facts {
                track: p.track,
                topics: all,
                cohorts: cohorts.get(&p.user_id).cloned().unwrap_or_default(),
                weekly_hours: u32::try_from(p.weekly_hours).unwrap_or(0),
                // A stored zone the tz database no longer knows leaves that profile out.
                tz: core::time_zone(&p.timezone)?,
            })
        };
        let me = facts(&mine).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("a stored profile has an unknown time zone"))
        })?;
        let mut ranked: Vec<MatchView> = candidates
            .into_iter()
            .filter_map(|p| {
                let (score, reasons) = matching::score(&me, &facts(&p)?, now);
                Some(MatchView {
                    handle: p.handle,
                    display_name: p.display_name,
                    track: p.track,
                    stack: p.stack.0,
                    topics: p.topics.0,
                    weekly_hours: u32::try_from(p.weekly_hours).unwrap_or(0),
                    timezone: p.timezone,
                    looking_for: p.looking_for,
                    score,
                    reasons,
                })
            })
            .collect();
        ranked.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.handle.cmp(&b.handle))
        });
        ranked.truncate(limit);
        Ok(ranked)
    }

    /// Asks a learner with an open profile to build a project together.
    pub async fn request(
        &self,
        actor: &AuthUser,
        input: CollaborationInput,
    ) -> AppResult<CollaborationView> {
        self.charge(OpClass::Write).await?;
        self.charge(OpClass::Collaboration).await?;
        let id = match self.committed_before::<Uuid>()? {
            Some(id) => id,
            None => {
                actor.require_write()?;
                let mut input = input;
                let mut faults = Faults::default();
                // A handle as it is, not trimmed: the document's pattern refuses spaces.
                let partner = match Handle::parse("partner", &input.partner) {
                    Ok(h) if h.as_str() == input.partner => Some(h),
                    Ok(_) => {
                        faults.add("partner", "must not start or end with spaces");
                        None
                    }
                    Err(e) => {
                        faults.add(e.field, e.message);
                        None
                    }
                };
                faults.text(
                    "project_title",
                    &mut input.project_title,
                    PROJECT_TITLE_MAX,
                    true,
                    false,
                );
                faults.text("message", &mut input.message, MESSAGE_MAX, false, true);
                faults.finish()?;
                let partner = match partner {
                    Some(h) => users::user_by_handle(&self.db, h.as_str()).await?,
                    None => None,
                };
                let Some(partner) = partner.filter(|u| u.disabled_at.is_none()) else {
                    return Err(AppError::invalid("partner", "no user has this handle"));
                };
                if partner.id == actor.id {
                    return Err(AppError::invalid("partner", "cannot be yourself"));
                }
                if repo::blocked_between(&self.db, actor.id, partner.id).await? {
                    return Err(blocked(&partner.handle));
                }
                let open = repo::profile(&self.db, partner.id)
                    .await?
                    .is_some_and(|p| p.open);
                if !open {
                    return Err(AppError::Conflict(format!(
                        "`{}` is not open to collaboration requests",
                        partner.handle
                    )));
                }
                if repo::pending_between(&self.db, actor.id, partner.id).await? {
                    return Err(AppError::Conflict(format!(
                        "a request between you and `{}` is already pending; it must be \
                         answered first",
                        partner.handle
                    )));
                }
                let id = Uuid::now_v7();
                let mut tx = self.db.begin().await?;
                repo::insert_collaboration(
                    &mut tx,
                    &NewCollaboration {
                        id,
                        requester: actor.id,
                        partner: partner.id,
                        project_title: &input.project_title,
                        message: &input.message,
                        now: self.clock.now(),
                    },
                )
                .await
                .map_err(|e| match e {
                    AppError::Duplicate(Unique::CollaborationRequest) => {
                        AppError::Conflict(format!(
                            "a request between you and `{}` is already pending",
                            partner.handle
                        ))
                    }
                    e => e,
                })?;
                self.commit(tx, id).await?
            }
        };
        // Read back without charging a read: the answer's rate-limit headers are the
        // requests' own budget.
        Ok(view(self.party(actor, id).await?))
    }

    /// A request, to its two sides; to anyone else it does not exist.
    pub async fn get(&self, actor: &AuthUser, id: Uuid) -> AppResult<CollaborationView> {
        self.charge(OpClass::Read).await?;
        Ok(view(self.party(actor, id).await?))
    }

    /// The partner accepts a pending request.
    pub async fn accept(&self, actor: &AuthUser, id: Uuid) -> AppResult<CollaborationView> {
        self.respond(actor, id, CollaborationStatus::Accepted).await
    }

    /// The partner declines a pending request.
    pub async fn decline(&self, actor: &AuthUser, id: Uuid) -> AppResult<CollaborationView> {
        self.respond(actor, id, CollaborationStatus::Declined).await
    }

    async fn respond(
        &self,
        actor: &AuthUser,
        id: Uuid,
        status: CollaborationStatus,
    ) -> AppResult<CollaborationView> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        let row = self.party(actor, id).await?;
        if row.partner_id != actor.id {
            return Err(AppError::Forbidden(
                "only the learner who was asked answers a request".into(),
            ));
        }
        if !repo::respond(&self.db, id, status, self.clock.now()).await? {
            let now = repo::collaboration(&self.db, id)
                .await?
                .map_or(row.status, |r| r.status);
            return Err(AppError::Conflict(format!(
                "this request is {now}, no longer pending"
            )));
        }
        Ok(view(self.party(actor, id).await?))
    }

    /// The caller's requests, newest first: received, sent, or both; by status.
    pub async fn mine(
        &self,
        actor: &AuthUser,
        direction: Option<CollaborationDirection>,
        status: Option<CollaborationStatus>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<CollaborationView>> {
        self.charge(OpClass::Read).await?;
        let want = PageRequest::new(limit, cursor)?;
        let direction = match direction {
            Some(CollaborationDirection::Incoming) => Direction::Incoming,
            Some(CollaborationDirection::Outgoing) => Direction::Outgoing,
            None => Direction::Both,
        };
        let rows = repo::list_collaborations(
            &self.db,
            actor.id,
            direction,
            status,
            want.after,
            want.fetch(),
        )
        .await?;
        Ok(want.page(rows, |r| r.id, view))
    }

    /// Blocks a user: no request either way, no match either way, and the pending
    /// requests between the two cancelled. Blocking again changes nothing.
    pub async fn block(&self, actor: &AuthUser, handle: &str) -> AppResult<()> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        let other = self.user_named(handle).await?;
        if other == actor.id {
            return Err(AppError::invalid("handle", "you cannot block yourself"));
        }
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        repo::block(&mut tx, actor.id, other, now).await?;
        repo::cancel_pending_between(&mut tx, actor.id, other, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lifts the caller's block of a user (a block the other set stays).
    pub async fn unblock(&self, actor: &AuthUser, handle: &str) -> AppResult<()> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        let other = self.user_named(handle).await?;
        if !repo::unblock(&self.db, actor.id, other).await? {
            return Err(AppError::not_found(format!(
                "you have not blocked `{}`",
                clip(handle)
            )));
        }
        Ok(())
    }

    async fn user_named(&self, handle: &str) -> AppResult<Uuid> {
        let found = if Handle::parse("handle", handle).is_ok() {
            users::user_by_handle(&self.db, handle).await?
        } else {
            None
        };
        found
            .map(|u| u.id)
            .ok_or_else(|| AppError::not_found(format!("no user `{}`", clip(handle))))
    }

    /// A request the caller is a side of; 404 otherwise.
    async fn party(&self, actor: &AuthUser, id: Uuid) -> AppResult<CollaborationRow> {
        repo::collaboration(&self.db, id)
            .await?
            .filter(|r| r.requester_id == actor.id || r.partner_id == actor.id)
            .ok_or_else(|| AppError::not_found("no such collaboration request"))
    }
}

fn no_profile() -> AppError {
    AppError::not_found("you have no collaboration profile yet; PUT one first")
}

fn blocked(handle: &str) -> AppError {
    AppError::Forbidden(format!("requests between you and `{handle}` are blocked"))
}

fn profile_view(p: ProfileRow) -> ProfileView {
    ProfileView {
        handle: p.handle,
        track: p.track,
        stack: p.stack.0,
        topics: p.topics.0,
        weekly_hours: u32::try_from(p.weekly_hours).unwrap_or(0),
        timezone: p.timezone,
        looking_for: p.looking_for,
        open: p.open,
        updated_at: p.updated_at,
    }
}

fn view(r: CollaborationRow) -> CollaborationView {
    CollaborationView {
        id: r.id,
        requester: r.requester_handle,
        partner: r.partner_handle,
        project_title: r.project_title,
        message: r.message,
        status: r.status,
        created_at: r.created_at,
        responded_at: r.responded_at,
    }
}
