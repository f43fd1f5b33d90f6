//! Submissions: what a learner hands in for a deliverable of their cohort, revision after
//! revision, and the peer review assignments each hand-in sets off.
//!
//! Who sees a submission: its learner, the cohort's mentors, its assigned peer reviewers
//! and admins. Everyone else gets 404, the answer for what does not exist, so that ids
//! cannot be probed.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use nexus_core::identity::Role;
use nexus_core::learning::{AssignmentStatus, CohortRole, EnrolmentStatus, SubmissionStatus};
use nexus_core::{AppError, Unique, error::AppResult};
use nexus_db::cohorts as cohort_repo;
use nexus_db::submissions::{
    self as repo, CitedUpload, NewRevision, RevisionRow, SubmissionFilter, SubmissionRow,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::assignment::assign_peers;
use super::cohorts::{Loaded, cohort_row};
use super::events::LearningEvent;
use super::model::EvidenceKind;
use super::reviews::{ReviewView, review_view};
use super::rules::Faults;
use crate::actor::{AuthUser, Principal};
use crate::page::{Page, PageRequest};
use crate::safety::OpClass;

use_case_group! {
    /// Submissions and peer review assignments: [`super::Learning::submissions`].
    Submissions
}

const SUMMARY_MAX: usize = 20_000;
const URL_MAX: usize = 2000;
const LABEL_MAX: usize = 200;
const MAX_CITED: usize = 20;

/// A link handed in as evidence.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmissionLink {
    /// An absolute `http` or `https` URL.
    #[schema(example = "https://github.com/ada/cache-lab", max_length = 2000)]
    pub url: String,
    #[serde(default)]
    #[schema(example = "Lab repository", max_length = 200)]
    pub label: String,
}

/// A hand-in: `POST /cohorts/{slug}/deliverables/{deliverable}/submissions`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmissionInput {
    /// What was done, in Markdown.
    #[schema(
        example = "Added a read-through cache in front of the catalogue; p99 fell from 180 ms to 12 ms.",
        max_length = 20000
    )]
    pub summary: String,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub links: Vec<SubmissionLink>,
    /// Slugs of notes in the hub: the learner's own, or published ones.
    #[serde(default)]
    #[schema(example = json!(["read-through-caching"]), max_items = 20)]
    pub notes: Vec<String>,
    /// Ids of the learner's own uploads.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub uploads: Vec<Uuid>,
}

/// A file a revision cites.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CitedFile {
    pub id: Uuid,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
}

/// One hand-in of a submission.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RevisionView {
    pub revision: i32,
    pub summary: String,
    pub links: Vec<SubmissionLink>,
    pub notes: Vec<String>,
    pub uploads: Vec<CitedFile>,
    /// Handed in after the deadline.
    pub late: bool,
    /// Evidence kinds the deliverable asks for that this revision lacks.
    pub evidence_missing: Vec<EvidenceKind>,
    pub submitted_at: DateTime<Utc>,
}

/// A submission with its latest revision, and the reviews the caller may read.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubmissionView {
    pub id: Uuid,
    pub cohort: String,
    pub deliverable: String,
    /// The learner's handle.
    pub learner: String,
    pub status: SubmissionStatus,
    /// The latest revision's number.
    pub revision: i32,
    /// The first hand-in came after the deadline.
    pub late: bool,
    pub due_at: Option<DateTime<Utc>>,
    /// What the latest revision lacks.
    pub evidence_missing: Vec<EvidenceKind>,
    /// Peer reviewers assigned so far.
    pub peer_reviewers: usize,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub current: RevisionView,
    /// The learner, mentors and admins read every review; a peer reviewer reads their
    /// own. A peer's handle is shown to mentors and admins only.
    pub reviews: Vec<ReviewView>,
}

/// A submission in a list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubmissionSummary {
    pub id: Uuid,
    pub cohort: String,
    pub deliverable: String,
    pub learner: String,
    pub status: SubmissionStatus,
    pub revision: i32,
    pub late: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A peer review the caller is to write (or wrote).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssignmentView {
    pub id: Uuid,
    pub submission: Uuid,
    pub cohort: String,
    pub deliverable: String,
    pub status: AssignmentStatus,
    pub assigned_at: DateTime<Utc>,
}

/// How the caller stands to a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    Learner,
    Mentor,
    Peer,
}

impl Submissions<'_> {
    /// Hands in work for a deliverable: revision 1, or the next revision of the same
    /// submission. Peers are assigned in the same transaction.
    pub async fn submit(
        &self,
        actor: &AuthUser,
        cohort: &str,
        deliverable: &str,
        input: SubmissionInput,
    ) -> AppResult<SubmissionView> {
        self.charge(OpClass::Write).await?;
        let id = match self.committed_before::<Uuid>()? {
            Some(id) => id,
            None => {
                actor.require_write()?;
                let cohort = self.learning().cohorts().load(cohort).await?;
                let spec = cohort.deliverable(deliverable)?;
                let member = cohort_repo::enrolment(&self.db, cohort.row.id, actor.id).await?;
                let learner = member.is_some_and(|m| {
                    m.role == CohortRole::Learner && m.status == EnrolmentStatus::Active
                });
                if !learner {
                    return Err(AppError::Forbidden(
                        "only the cohort's active learners hand in work".into(),
                    ));
                }
                let mut input = input;
                let uploads = self.check_input(actor, &mut input).await?;
                let missing = evidence_missing(&spec.evidence, &input, !uploads.is_empty());
                let now = self.clock.now();
                let due = self.due_at(&cohort, deliverable).await?;
                let late = due.is_some_and(|d| now > d);
                let mut tx = self.db.begin().await?;
                repo::lock_cohort(&mut tx, cohort.row.id).await?;
                let existing =
                    repo::learner_submission(&mut tx, cohort.row.id, deliverable, actor.id).await?;
                let (submission, revision) = match existing {
                    None => {
                        let id = Uuid::now_v7();
                        repo::insert_submission(
                            &mut tx,
                            id,
                            cohort.row.id,
                            deliverable,
                            actor.id,
                            late,
                            now,
                        )
                        .await?;
                        (id, 1)
                    }
                    Some(s) => {
                        if !repo::advance_submission(&mut tx, s.id, s.revision, now).await? {
                            return Err(AppError::Duplicate(Unique::SubmissionRevision));
                        }
                        (s.id, s.revision + 1)
                    }
                };
                let revision_id = Uuid::now_v7();
                repo::insert_revision(
                    &mut tx,
                    NewRevision {
                        id: revision_id,
                        submission,
                        revision,
                        summary: &input.summary,
                        links: to_json(&input.links)?,
                        notes: to_json(&input.notes)?,
                        late,
                        evidence_missing: to_json(&missing)?,
                        now,
                    },
                )
                .await?;
                repo::cite_uploads(&mut tx, revision_id, &input.uploads).await?;
                self.queue
                    .emit(
                        &mut tx,
                        &LearningEvent::SubmissionCreated {
                            submission,
                            cohort: cohort.row.id,
                            learner: actor.id,
                            revision,
                        },
                    )
                    .await?;
                let assigned = assign_peers(
                    &mut tx,
                    &cohort,
                    deliverable,
                    (revision == 1).then_some(actor.id),
                    usize::try_from(cohort.row.peer_reviews).unwrap_or(0),
                    now,
                )
                .await?;
                for a in &assigned {
                    self.queue
                        .emit(
                            &mut tx,
                            &LearningEvent::ReviewAssigned {
                                assignment: a.id,
                                submission: a.submission,
                                reviewer: a.reviewer,
                            },
                        )
                        .await?;
                }
                let id = self.commit(tx, submission).await?;
                self.queue.wake();
                id
            }
        };
        self.view(actor, id).await
    }

    /// A submission, to those who may see it; to anyone else, anonymous callers
    /// included, it does not exist.
    pub async fn get(&self, who: &Principal, id: Uuid) -> AppResult<SubmissionView> {
        self.charge(OpClass::Read).await?;
        let Principal::User(actor) = who else {
            return Err(hidden());
        };
        self.view(actor, id).await
    }

    async fn view(&self, actor: &AuthUser, id: Uuid) -> AppResult<SubmissionView> {
        let (row, standing) = self.visible(actor, id).await?;
        let cohort = self.learning().cohorts().load(&row.cohort_slug).await?;
        let due = self.due_at(&cohort, &row.deliverable).await?;
        let current = repo::revision(&self.db, row.id, row.revision)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a submission lost its revision")))?;
        let current = self.revision_view(current).await?;
        let peers = repo::assignments_of(&self.db, row.id).await?.len();
        let reviews = repo::reviews_of(&self.db, row.id)
            .await?
            .into_iter()
            .filter(|r| standing != Standing::Peer || r.reviewer_id == actor.id)
            .map(|r| review_view(r, standing == Standing::Mentor))
            .collect::<AppResult<Vec<_>>>()?;
        Ok(SubmissionView {
            id: row.id,
            cohort: row.cohort_slug,
            deliverable: row.deliverable,
            learner: row.learner_handle,
            status: row.status,
            revision: row.revision,
            late: row.late,
            due_at: due,
            evidence_missing: current.evidence_missing.clone(),
            peer_reviewers: peers,
            created_at: row.created_at,
            updated_at: row.updated_at,
            current,
            reviews,
        })
    }

    /// A submission's revisions, newest first.
    pub async fn revisions(
        &self,
        who: &Principal,
        id: Uuid,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<RevisionView>> {
        self.charge(OpClass::Read).await?;
        let want = PageRequest::new(limit, cursor)?;
        let Principal::User(actor) = who else {
            return Err(hidden());
        };
        let (row, _) = self.visible(actor, id).await?;
        let rows = repo::revisions(&self.db, row.id, want.after, want.fetch()).await?;
        let (rows, next_cursor) = want.split(rows, |r| r.id);
        let mut items = Vec::with_capacity(rows.len());
        for r in rows {
            items.push(self.revision_view(r).await?);
        }
        Ok(Page { items, next_cursor })
    }

    /// The caller's own submissions, newest first.
    pub async fn mine(
        &self,
        actor: &AuthUser,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<SubmissionSummary>> {
        self.charge(OpClass::Read).await?;
        let want = PageRequest::new(limit, cursor)?;
        let filter = SubmissionFilter {
            learner: Some(actor.id),
            ..SubmissionFilter::default()
        };
        let rows = repo::list_submissions(&self.db, &filter, want.after, want.fetch()).await?;
        Ok(want.page(rows, |r| r.id, summary))
    }

    /// A cohort's submissions (its mentors and admins), by deliverable and status.
    pub async fn of_cohort(
        &self,
        actor: &AuthUser,
        cohort: &str,
        deliverable: Option<&str>,
        status: Option<SubmissionStatus>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<SubmissionSummary>> {
        self.charge(OpClass::Read).await?;
        let want = PageRequest::new(limit, cursor)?;
        let cohort = cohort_row(&self.db, cohort).await?;
        if !self.learning().cohorts().mentors(actor, cohort.id).await? {
            return Err(AppError::Forbidden(
                "a cohort's submissions are for its mentors and admins".into(),
            ));
        }
        let filter = SubmissionFilter {
            cohort: Some(cohort.id),
            deliverable,
            status,
            ..SubmissionFilter::default()
        };
        let rows = repo::list_submissions(&self.db, &filter, want.after, want.fetch()).await?;
        Ok(want.page(rows, |r| r.id, summary))
    }

    /// The caller's peer review assignments, newest first.
    pub async fn my_assignments(
        &self,
        actor: &AuthUser,
        status: Option<AssignmentStatus>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<AssignmentView>> {
        self.charge(OpClass::Read).await?;
        let want = PageRequest::new(limit, cursor)?;
        let rows = repo::reviewer_assignments(&self.db, actor.id, status, want.after, want.fetch())
            .await?;
        Ok(want.page(
            rows,
            |r| r.id,
            |r| AssignmentView {
                id: r.id,
                submission: r.submission_id,
                cohort: r.cohort_slug,
                deliverable: r.deliverable,
                status: r.status,
                assigned_at: r.assigned_at,
            },
        ))
    }

    /// The submission and how the caller stands to it; 404 when they may not see it.
    pub(crate) async fn visible(
        &self,
        actor: &AuthUser,
        id: Uuid,
    ) -> AppResult<(SubmissionRow, Standing)> {
        let row = repo::submission(&self.db, id).await?.ok_or_else(hidden)?;
        if row.learner_id == actor.id {
            return Ok((row, Standing::Learner));
        }
        if actor.role >= Role::Admin
            || self
                .learning()
                .cohorts()
                .mentors(actor, row.cohort_id)
                .await?
        {
            return Ok((row, Standing::Mentor));
        }
        let assigned = repo::assignments_of(&self.db, row.id)
            .await?
            .iter()
            .any(|a| a.reviewer_id == actor.id);
        if assigned {
            return Ok((row, Standing::Peer));
        }
        Err(hidden())
    }

    /// When a deliverable is due in a cohort, overrides applied.
    pub(crate) async fn due_at(
        &self,
        cohort: &Loaded,
        deliverable: &str,
    ) -> AppResult<Option<DateTime<Utc>>> {
        let overrides = self.learning().cohorts().overrides(cohort.row.id).await?;
        Ok(cohort
            .schedule(&overrides)
            .into_iter()
            .find(|i| i.deliverable == deliverable)
            .map(|i| i.due_at))
    }

    /// Checks (and trims) a hand-in; the cited uploads are returned as found.
    async fn check_input(
        &self,
        actor: &AuthUser,
        input: &mut SubmissionInput,
    ) -> AppResult<Vec<CitedUpload>> {
        let mut faults = Faults::default();
        faults.text("summary", &mut input.summary, SUMMARY_MAX, true, true);
        if faults.list("links", input.links.len(), 0, MAX_CITED) {
            for (i, link) in input.links.iter_mut().enumerate() {
                check_link(&mut faults, i, link);
            }
        }
        let mut notes_ok = faults.list("notes", input.notes.len(), 0, MAX_CITED);
        if notes_ok {
            let mut seen = HashSet::new();
            for (i, slug) in input.notes.iter().enumerate() {
                let field = format!("notes[{i}]");
                notes_ok &= faults.slug(&field, slug);
                if !seen.insert(slug.as_str()) {
                    faults.add(field, "is cited twice");
                }
            }
        }
        if notes_ok {
            let found: HashMap<String, repo::CitedNote> =
                repo::notes_by_slug(&self.db, &input.notes)
                    .await?
                    .into_iter()
                    .map(|n| (n.slug.clone(), n))
                    .collect();
            for (i, slug) in input.notes.iter().enumerate() {
                let usable = found
                    .get(slug)
                    .is_some_and(|n| n.published || n.author_id == actor.id);
                if !usable {
                    faults.add(
                        format!("notes[{i}]"),
                        "is neither a note of yours nor a published note",
                    );
                }
            }
        }
        let mut uploads = Vec::new();
        if faults.list("uploads", input.uploads.len(), 0, MAX_CITED) {
            let mut seen = HashSet::new();
            for (i, id) in input.uploads.iter().enumerate() {
                if !seen.insert(*id) {
                    faults.add(format!("uploads[{i}]"), "is cited twice");
                }
            }
            let found: HashMap<Uuid, CitedUpload> = repo::uploads_by_id(&self.db, &input.uploads)
                .await?
                .into_iter()
                .map(|u| (u.id, u))
                .collect();
            for (i, id) in input.uploads.iter().enumerate() {
                match found.get(id) {
                    Some(u) if u.owner_id == Some(actor.id) => uploads.push(u.clone()),
                    _ => faults.add(format!("uploads[{i}]"), "is not an upload of yours"),
                }
            }
        }
        faults.finish()?;
        Ok(uploads)
    }

    pub(crate) async fn revision_view(&self, r: RevisionRow) -> AppResult<RevisionView> {
        let uploads = repo::revision_uploads(&self.db, r.id).await?;
        Ok(RevisionView {
            revision: r.revision,
            summary: r.summary,
            links: serde_json::from_value(r.links.0).map_err(|e| {
                AppError::Internal(anyhow::Error::new(e).context("reading stored links"))
            })?,
            notes: r.notes.0,
            uploads: uploads
                .into_iter()
                .map(|u| CitedFile {
                    id: u.id,
                    filename: u.filename,
                    content_type: u.content_type,
                    size: u.size,
                })
                .collect(),
            late: r.late,
            evidence_missing: r
                .evidence_missing
                .0
                .iter()
                .filter_map(|k| serde_json::from_value(serde_json::Value::String(k.clone())).ok())
                .collect(),
            submitted_at: r.submitted_at,
        })
    }
}

/// What a submission the caller may not see answers: the same as a missing one.
fn hidden() -> AppError {
    AppError::not_found("no such submission")
}

fn check_link(faults: &mut Faults, i: usize, link: &mut SubmissionLink) {
    let field = format!("links[{i}].url");
    faults.text(&field, &mut link.url, URL_MAX, true, false);
    match url::Url::parse(&link.url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        Ok(_) => faults.add(field, "must be an http or https URL"),
        Err(_) if link.url.is_empty() => {}
        Err(_) => faults.add(field, "is not a URL"),
    }
    faults.text(
        &format!("links[{i}].label"),
        &mut link.label,
        LABEL_MAX,
        false,
        false,
    );
}

/// Hosts whose links count as repository evidence, beside any URL ending in `.git`.
const FORGES: [&str; 5] = [
    "github.com",
    "gitlab.com",
    "bitbucket.org",
    "codeberg.org",
    "git.sr.ht",
];

fn is_repository(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| {
        u.path().trim_end_matches('/').ends_with(".git")
            || u.host_str().is_some_and(|h| {
                let h = h.strip_prefix("www.").unwrap_or(h);
                FORGES.contains(&h)
            })
    })
}

/// The evidence kinds `wanted` that a hand-in lacks: a link (any), a repository (a link
/// to a code forge or a `.git` URL), a file (an upload) or a note.
pub(crate) fn evidence_missing(
    wanted: &[EvidenceKind],
    input: &SubmissionInput,
    has_files: bool,
) -> Vec<EvidenceKind> {
    wanted
        .iter()
        .copied()
        .filter(|kind| match kind {
            EvidenceKind::Link => input.links.is_empty(),
            EvidenceKind::Repo => !input.links.iter().any(|l| is_repository(&l.url)),
            EvidenceKind::File => !has_files,
            EvidenceKind::Note => input.notes.is_empty(),
        })
        .collect()
}

fn to_json<T: Serialize>(value: &T) -> AppResult<serde_json::Value> {
    serde_json::to_value(value)
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("encoding a submission")))
}

fn summary(r: SubmissionRow) -> SubmissionSummary {
    SubmissionSummary {
        id: r.id,
        cohort: r.cohort_slug,
        deliverable: r.deliverable,
        learner: r.learner_handle,
        status: r.status,
        revision: r.revision,
        late: r.late,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}
