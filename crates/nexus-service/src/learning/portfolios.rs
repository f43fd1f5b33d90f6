//! Portfolios: a learner's opt-in page of reviewed evidence.
//!
//! A portfolio cites the learner's own submissions, each only once a mentor reviewed it,
//! with a narrative. What an entry shows is fixed by its reviews: the latest revision a
//! mentor reviewed ("the revision shown"), its score (the weighted total, 0-100, of the
//! latest mentor review of that revision: the same definition as a week's score in
//! progress), and that revision's artifacts (the uploads it cites and its links).
//!
//! Who sees what: the owner reads their portfolio whatever its visibility, every entry
//! included (`GET /me/portfolio`). Anyone else reads it only while it is public, and then
//! only its public entries; a private or absent portfolio is 404. The uploads a shown
//! entry cites become readable to anyone, by the rule in
//! [`crate::uploads::Uploads::readable`], which asks
//! [`nexus_db::portfolios::publicly_cited`]: the same conditions as here, so an upload
//! stops being readable the moment its entry or its portfolio goes private.
//!
//! Skills are the objectives (code, text, Bloom level) of the week a shown entry's
//! deliverable belongs to (a project deliverable: the week it is due at the end of), for
//! entries scored at least [`SKILL_SCORE`]. They come from the shown entries only, so a
//! public portfolio says nothing about work its owner left out of it.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use nexus_core::learning::{ReviewerRole, Visibility};
use nexus_core::{AppError, error::AppResult};
use nexus_db::collaboration as collab_repo;
use nexus_db::portfolios::{self as repo, EntryRow, NewEntry, PortfolioRow, PortfolioWrite};
use nexus_db::submissions::{self as submissions_repo, ReviewRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::cohorts::Loaded;
use super::model::Bloom;
use super::rules::{Faults, clip};
use super::submissions::{CitedFile, SubmissionLink};
use crate::actor::AuthUser;
use crate::safety::OpClass;

use_case_group! {
    /// Portfolios: [`super::Learning::portfolios`].
    Portfolios
}

const HEADLINE_MAX: usize = 200;
const BIO_MAX: usize = 4000;
const NARRATIVE_MAX: usize = 4000;
pub const MAX_ENTRIES: usize = 20;
/// The published notes a portfolio lists, newest first.
const MAX_NOTES: i64 = 50;
/// The score from which an entry's objectives count as skills.
pub const SKILL_SCORE: f64 = 70.0;

fn public() -> Visibility {
    Visibility::Public
}

/// One entry of `PUT /me/portfolio`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryInput {
    /// The id of one of your submissions that a mentor reviewed.
    pub submission: Uuid,
    /// What you did and learnt, in your words (plain text or Markdown, shown as written).
    #[serde(default)]
    #[schema(
        example = "Designed the cache keys so that one write invalidates exactly the pages it changes.",
        max_length = 4000
    )]
    pub narrative: String,
    /// `public` (default): shown on the public portfolio, with its artifacts; `private`:
    /// kept for you only.
    #[serde(default = "public")]
    pub visibility: Visibility,
}

/// `PUT /me/portfolio`: the whole portfolio; entries replace the previous ones.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortfolioInput {
    /// `public` shows the portfolio (its public entries) to anyone; `private` hides it.
    pub visibility: Visibility,
    #[serde(default)]
    #[schema(
        example = "Back-end learner: caching, queues, PostgreSQL",
        max_length = 200
    )]
    pub headline: String,
    #[serde(default)]
    #[schema(
        example = "Two years of PHP, now building services in Rust.",
        max_length = 4000
    )]
    pub bio: String,
    /// At most 20, each submission once, in the order shown.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub entries: Vec<EntryInput>,
}

/// What an entry shows as evidence: the files and links of the revision shown.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Artifacts {
    /// Downloadable at `GET /api/v1/uploads/{id}` by anyone while the entry is shown.
    pub files: Vec<CitedFile>,
    pub links: Vec<SubmissionLink>,
}

/// One entry of a portfolio.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PortfolioEntry {
    pub submission: Uuid,
    /// The cohort's slug.
    pub cohort: String,
    /// The course's slug and title.
    pub course: String,
    pub course_title: String,
    /// The deliverable's slug and title.
    pub deliverable: String,
    pub deliverable_title: String,
    /// The week the deliverable belongs to (a project's: the week it is due at the end of).
    pub week: u32,
    /// The revision shown: the latest one a mentor reviewed.
    pub revision: i32,
    /// The weighted total (0-100) of the latest mentor review of that revision.
    #[schema(example = 82.5)]
    pub score: f64,
    pub reviewed_at: DateTime<Utc>,
    pub narrative: String,
    pub visibility: Visibility,
    pub artifacts: Artifacts,
}

/// An objective a shown entry scored at least 70 on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Skill {
    /// The course's slug.
    pub course: String,
    #[schema(example = "W03.2")]
    pub code: String,
    pub text: String,
    pub bloom: Bloom,
}

/// A published note of the portfolio's owner.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PortfolioNote {
    pub slug: String,
    pub title: String,
    pub kind: nexus_core::hub::NoteKind,
    pub published_at: Option<DateTime<Utc>>,
}

/// An accepted collaboration of the portfolio's owner.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PortfolioCollaboration {
    /// The other learner's handle.
    pub partner: String,
    pub project_title: String,
    /// When it was accepted.
    pub since: Option<DateTime<Utc>>,
}

/// A portfolio: for its owner every entry; for anyone else the public ones.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PortfolioView {
    #[schema(example = "ada")]
    pub handle: String,
    pub display_name: String,
    pub visibility: Visibility,
    pub headline: String,
    pub bio: String,
    pub entries: Vec<PortfolioEntry>,
    /// The objectives of the entries shown scored at least 70, by course and code.
    pub skills: Vec<Skill>,
    /// The owner's published notes, newest first (at most 50).
    pub notes: Vec<PortfolioNote>,
    /// Accepted collaborations, oldest first (none with someone either side blocked).
    pub collaborations: Vec<PortfolioCollaboration>,
    pub updated_at: DateTime<Utc>,
}

/// The revision a submission shows and its score: the latest revision with a mentor
/// review, and the total of the latest mentor review of it. `None` before any.
pub(crate) fn mentor_score(reviews: &[ReviewRow]) -> Option<(i32, f64, DateTime<Utc>)> {
    reviews
        .iter()
        .filter(|r| r.role == ReviewerRole::Mentor)
        .max_by(|a, b| a.revision.cmp(&b.revision).then(a.id.cmp(&b.id)))
        .map(|r| (r.revision, r.total, r.created_at))
}

impl Portfolios<'_> {
    /// The caller's portfolio, every entry included, whatever its visibility; 404 before
    /// the first `PUT`.
    pub async fn mine(&self, actor: &AuthUser) -> AppResult<PortfolioView> {
        self.charge(OpClass::Read).await?;
        let row = repo::portfolio(&self.db, actor.id)
            .await?
            .ok_or_else(|| AppError::not_found("you have no portfolio yet; PUT one first"))?;
        self.view(row, true).await
    }

    /// A public portfolio by its owner's handle, public entries only; a private or
    /// absent one is 404.
    pub async fn public(&self, handle: &str) -> AppResult<PortfolioView> {
        self.charge(OpClass::Read).await?;
        let absent = || AppError::not_found(format!("no public portfolio of `{}`", clip(handle)));
        let row = if nexus_core::identity::Handle::parse("handle", handle).is_ok() {
            repo::portfolio_by_handle(&self.db, handle).await?
        } else {
            None
        };
        let row = row
            .filter(|r| r.visibility == Visibility::Public)
            .ok_or_else(absent)?;
        self.view(row, false).await
    }

    /// Writes the caller's portfolio: its fields, and its entries in place of the old
    /// ones. Every cited submission must be the caller's and have a mentor review; each
    /// one that is not is named (`entries[i].submission`).
    pub async fn put(&self, actor: &AuthUser, input: PortfolioInput) -> AppResult<PortfolioView> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        let mut input = input;
        let mut faults = Faults::default();
        faults.text("headline", &mut input.headline, HEADLINE_MAX, false, false);
        faults.text("bio", &mut input.bio, BIO_MAX, false, true);
        if faults.list("entries", input.entries.len(), 0, MAX_ENTRIES) {
            let mut seen = HashSet::new();
            for (i, entry) in input.entries.iter_mut().enumerate() {
                faults.text(
                    &format!("entries[{i}].narrative"),
                    &mut entry.narrative,
                    NARRATIVE_MAX,
                    false,
                    true,
                );
                let field = format!("entries[{i}].submission");
                if !seen.insert(entry.submission) {
                    faults.add(field, "is cited twice");
                    continue;
                }
                match submissions_repo::submission(&self.db, entry.submission).await? {
                    // Someone else's and missing read the same, so ids cannot be probed.
                    Some(s) if s.learner_id == actor.id => {
                        let reviews = submissions_repo::reviews_of(&self.db, s.id).await?;
                        if mentor_score(&reviews).is_none() {
                            faults.add(field, "has no mentor review yet");
                        }
                    }
                    _ => faults.add(field, "is not a submission of yours"),
                }
            }
        }
        faults.finish()?;
        let now = self.clock.now();
        let entries: Vec<NewEntry<'_>> = input
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| NewEntry {
                submission: e.submission,
                position: i32::try_from(i).unwrap_or(i32::MAX),
                narrative: &e.narrative,
                visibility: e.visibility,
            })
            .collect();
        let mut tx = self.db.begin().await?;
        repo::upsert_portfolio(
            &mut tx,
            &PortfolioWrite {
                user: actor.id,
                visibility: input.visibility,
                headline: &input.headline,
                bio: &input.bio,
                now,
            },
        )
        .await?;
        repo::replace_entries(&mut tx, actor.id, &entries).await?;
        tx.commit().await?;
        let row = repo::portfolio(&self.db, actor.id).await?.ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("a portfolio vanished after its write"))
        })?;
        self.view(row, true).await
    }

    async fn view(&self, row: PortfolioRow, owner: bool) -> AppResult<PortfolioView> {
        let mut cohorts: HashMap<Uuid, Loaded> = HashMap::new();
        let mut entries = Vec::new();
        let mut skills = Vec::new();
        for e in repo::entries(&self.db, row.user_id).await? {
            if !owner && e.visibility != Visibility::Public {
                continue;
            }
            let Some((entry, objectives)) = self.entry(&mut cohorts, e).await? else {
                continue;
            };
            if entry.score >= SKILL_SCORE {
                for o in objectives {
                    let skill = Skill {
                        course: entry.course.clone(),
                        code: o.code,
                        text: o.text,
                        bloom: o.bloom,
                    };
                    if !skills.contains(&skill) {
                        skills.push(skill);
                    }
                }
            }
            entries.push(entry);
        }
        skills.sort_by(|a, b| a.course.cmp(&b.course).then(a.code.cmp(&b.code)));
        let notes = repo::published_notes(&self.db, row.user_id, MAX_NOTES)
            .await?
            .into_iter()
            .map(|n| PortfolioNote {
                slug: n.slug,
                title: n.title,
                kind: n.kind,
                published_at: n.published_at,
            })
            .collect();
        let collaborations = collab_repo::accepted_of(&self.db, row.user_id)
            .await?
            .into_iter()
            .map(|c| PortfolioCollaboration {
                partner: if c.requester_id == row.user_id {
                    c.partner_handle
                } else {
                    c.requester_handle
                },
                project_title: c.project_title,
                since: c.responded_at,
            })
            .collect();
        Ok(PortfolioView {
            handle: row.handle,
            display_name: row.display_name,
            visibility: row.visibility,
            headline: row.headline,
            bio: row.bio,
            entries,
            skills,
            notes,
            collaborations,
            updated_at: row.updated_at,
        })
    }

    /// An entry as shown, with the objectives of its week; `None` for one whose
    /// submission has no mentor review (which a `PUT` never stores).
    async fn entry(
        &self,
        cohorts: &mut HashMap<Uuid, Loaded>,
        e: EntryRow,
    ) -> AppResult<Option<(PortfolioEntry, Vec<super::model::Objective>)>> {
        let reviews = submissions_repo::reviews_of(&self.db, e.submission_id).await?;
        let Some((revision, score, reviewed_at)) = mentor_score(&reviews) else {
            return Ok(None);
        };
        let cohort = match cohorts.entry(e.cohort_id) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => v.insert(self.learning().cohorts().load(&e.cohort_slug).await?),
        };
        let cohort = &*cohort;
        let doc = &cohort.doc;
        let weekly = doc.weeks.iter().find_map(|w| {
            w.deliverable
                .as_ref()
                .filter(|d| d.slug == e.deliverable)
                .map(|d| (d.title.clone(), w.number))
        });
        let project = || {
            doc.projects
                .iter()
                .flat_map(|p| p.deliverables.iter())
                .find(|d| d.slug == e.deliverable)
                .map(|d| (d.title.clone(), d.due_week.unwrap_or(doc.duration_weeks)))
        };
        let Some((deliverable_title, week)) = weekly.or_else(project) else {
            return Ok(None);
        };
        let objectives = doc
            .weeks
            .iter()
            .find(|w| w.number == week)
            .map(|w| w.objectives.clone())
            .unwrap_or_default();
        let shown = submissions_repo::revision(&self.db, e.submission_id, revision)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a reviewed revision is missing")))?;
        let shown = self.learning().submissions().revision_view(shown).await?;
        let entry = PortfolioEntry {
            submission: e.submission_id,
            cohort: e.cohort_slug,
            course: cohort.row.course_slug.clone(),
            course_title: doc.title.clone(),
            deliverable: e.deliverable,
            deliverable_title,
            week,
            revision,
            score,
            reviewed_at,
            narrative: e.narrative,
            visibility: e.visibility,
            artifacts: Artifacts {
                files: shown.uploads,
                links: shown.links,
            },
        };
        Ok(Some((entry, objectives)))
    }
}
