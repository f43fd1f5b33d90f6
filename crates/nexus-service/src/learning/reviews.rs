//! Reviews: a cohort's mentors and a submission's assigned peers score its latest
//! revision against the deliverable's rubric; the author rates peer reviews; mentors see
//! how well each peer reviews.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use nexus_core::learning::{ReviewerRole, SubmissionStatus};
use nexus_core::{AppError, Unique, error::AppResult};
use nexus_db::submissions::{self as repo, NewReview, ReviewRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::cohorts::cohort_row;
use super::events::LearningEvent;
use super::model::Rubric;
use super::rules::Faults;
use super::submissions::Standing;
use crate::actor::AuthUser;
use crate::safety::OpClass;

use_case_group! {
    /// Reviews, their ratings and reviewer quality: [`super::Learning::reviews`].
    Reviews
}

const FEEDBACK_MAX: usize = 20_000;
const COMMENT_MAX: usize = 4000;

/// One criterion's score.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Score {
    /// The rubric criterion's key.
    #[schema(example = "correctness", max_length = 40)]
    pub criterion: String,
    /// Inside the criterion's `min`..=`max`.
    #[schema(example = 3)]
    pub score: f64,
    #[serde(default)]
    #[schema(
        example = "The cache is invalidated on every write path.",
        max_length = 4000
    )]
    pub comment: String,
}

/// `POST /submissions/{id}/reviews`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// One score per criterion of the deliverable's rubric.
    pub scores: Vec<Score>,
    #[serde(default)]
    #[schema(example = "Solid work; measure the miss path too.", max_length = 20000)]
    pub feedback: String,
    /// A mentor asks for another revision (peers cannot).
    #[serde(default)]
    pub request_revision: bool,
}

/// A review.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReviewView {
    pub id: Uuid,
    pub submission: Uuid,
    /// The revision it scored.
    pub revision: i32,
    pub role: ReviewerRole,
    /// The reviewer's handle: shown for mentors' reviews, and to mentors and admins for
    /// peers' reviews.
    pub reviewer: Option<String>,
    pub scores: Vec<Score>,
    /// The weighted score, 0-100: each criterion's score placed in its range, weighted.
    #[schema(example = 79.17)]
    pub total: f64,
    pub feedback: String,
    pub revision_requested: bool,
    /// The author's rating of a peer review; absent until rated.
    pub helpful: Option<bool>,
    pub created_at: DateTime<Utc>,
}

/// `POST /reviews/{id}/rating`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    pub helpful: bool,
}

/// How well a peer reviews, for a cohort's mentors.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReviewerQuality {
    pub reviewer: String,
    /// Peer reviews written in the cohort.
    pub reviews: usize,
    /// Of those, how many the authors rated, and how many helpful.
    pub rated: usize,
    pub helpful: usize,
    /// `helpful / rated`; absent before any rating.
    pub helpful_rate: Option<f64>,
    /// Mean absolute difference between this reviewer's totals and the mentor's on the
    /// same revisions (0-100 points); absent when no mentor reviewed those revisions.
    pub mean_abs_diff: Option<f64>,
    /// Revisions that both this reviewer and a mentor scored.
    pub compared: usize,
}

pub(crate) fn review_view(r: ReviewRow, show_peers: bool) -> AppResult<ReviewView> {
    let scores: Vec<Score> = serde_json::from_value(r.scores.0).map_err(|e| {
        AppError::Internal(anyhow::Error::new(e).context("reading stored review scores"))
    })?;
    let shown = r.role == ReviewerRole::Mentor || show_peers;
    Ok(ReviewView {
        id: r.id,
        submission: r.submission_id,
        revision: r.revision,
        role: r.role,
        reviewer: shown.then_some(r.reviewer_handle),
        scores,
        total: r.total,
        feedback: r.feedback,
        revision_requested: r.revision_requested,
        helpful: r.helpful,
        created_at: r.created_at,
    })
}

/// Checks scores against a rubric (each criterion once, inside its range) and puts them
/// in the rubric's order.
pub(crate) fn check_scores(rubric: &Rubric, scores: &mut [Score], faults: &mut Faults) {
    if scores.is_empty() {
        faults.add("scores", "must score every criterion of the rubric");
        return;
    }
    if !faults.list("scores", scores.len(), 1, rubric.criteria.len().max(1)) {
        return;
    }
    let mut given: HashMap<&str, usize> = HashMap::new();
    for (i, s) in scores.iter_mut().enumerate() {
        let field = format!("scores[{i}]");
        faults.text(
            &format!("{field}.comment"),
            &mut s.comment,
            COMMENT_MAX,
            false,
            true,
        );
        match rubric.criteria.iter().find(|c| c.key == s.criterion) {
            None => faults.add(
                format!("{field}.criterion"),
                "is not a criterion of this deliverable's rubric",
            ),
            Some(c) => {
                if given.insert(c.key.as_str(), i).is_some() {
                    faults.add(format!("{field}.criterion"), "is scored twice");
                }
                let (min, max) = (f64::from(c.min), f64::from(c.max));
                if !s.score.is_finite() || s.score < min || s.score > max {
                    faults.add(
                        format!("{field}.score"),
                        format!("must be between {} and {}", c.min, c.max),
                    );
                }
            }
        }
    }
    for c in &rubric.criteria {
        if !given.contains_key(c.key.as_str()) {
            faults.add("scores", format!("the criterion `{}` is not scored", c.key));
        }
    }
    scores.sort_by_key(|s| {
        rubric
            .criteria
            .iter()
            .position(|c| c.key == s.criterion)
            .unwrap_or(usize::MAX)
    });
}

/// The weighted total, 0-100: each score's place in its criterion's range, weighted by
/// the criterion's weight, rounded to two decimals. Scores must have been checked.
pub(crate) fn weighted_total(rubric: &Rubric, scores: &[Score]) -> f64 {
    let mut sum = 0.0;
    let mut weights = 0.0;
    for c in &rubric.criteria {
        let Some(s) = scores.iter().find(|s| s.criterion == c.key) else {
            continue;
        };
        let span = f64::from(c.max - c.min);
        let place = if span > 0.0 {
            (s.score - f64::from(c.min)) / span
        } else {
            1.0
        };
        sum += c.weight * place;
        weights += c.weight;
    }
    if weights <= 0.0 {
        return 0.0;
    }
    (sum / weights * 100.0 * 100.0).round() / 100.0
}

impl Reviews<'_> {
    /// Reviews a submission's latest revision: a cohort mentor (or admin) or an assigned
    /// peer. One review per reviewer per revision.
    pub async fn review(
        &self,
        actor: &AuthUser,
        submission: Uuid,
        input: ReviewInput,
    ) -> AppResult<ReviewView> {
        self.charge(OpClass::Write).await?;
        let id = match self.committed_before::<Uuid>()? {
            Some(id) => id,
            None => {
                actor.require_write()?;
                let (row, standing) = self
                    .learning()
                    .submissions()
                    .visible(actor, submission)
                    .await?;
                let role = match standing {
                    Standing::Mentor => ReviewerRole::Mentor,
                    Standing::Peer => ReviewerRole::Peer,
                    Standing::Learner => {
                        return Err(AppError::Forbidden(
                            "you cannot review your own submission".into(),
                        ));
                    }
                };
                let cohort = self.learning().cohorts().load(&row.cohort_slug).await?;
                let deliverable = cohort.deliverable(&row.deliverable)?;
                let rubric = cohort
                    .doc
                    .rubrics
                    .iter()
                    .find(|r| r.slug == deliverable.rubric)
                    .ok_or_else(|| {
                        AppError::Internal(anyhow::anyhow!("a checked course lost a rubric"))
                    })?;
                let mut input = input;
                let mut faults = Faults::default();
                check_scores(rubric, &mut input.scores, &mut faults);
                faults.text("feedback", &mut input.feedback, FEEDBACK_MAX, false, true);
                if input.request_revision && role != ReviewerRole::Mentor {
                    faults.add("request_revision", "only a mentor can request a revision");
                }
                faults.finish()?;
                let total = weighted_total(rubric, &input.scores);
                let revision = repo::revision(&self.db, row.id, row.revision)
                    .await?
                    .ok_or_else(|| {
                        AppError::Internal(anyhow::anyhow!("a submission lost its revision"))
                    })?;
                let now = self.clock.now();
                let id = Uuid::now_v7();
                let mut tx = self.db.begin().await?;
                let written = repo::insert_review(
                    &mut tx,
                    NewReview {
                        id,
                        submission: row.id,
                        revision_id: revision.id,
                        revision: row.revision,
                        reviewer: actor.id,
                        role,
                        scores: serde_json::to_value(&input.scores).map_err(|e| {
                            AppError::Internal(anyhow::Error::new(e).context("encoding scores"))
                        })?,
                        total,
                        feedback: &input.feedback,
                        revision_requested: input.request_revision,
                        now,
                    },
                )
                .await;
                match written {
                    Err(AppError::Duplicate(Unique::Review)) => {
                        return Err(AppError::Conflict(format!(
                            "you have already reviewed revision {} of this submission",
                            row.revision
                        )));
                    }
                    other => other?,
                }
                let status = match role {
                    ReviewerRole::Mentor if input.request_revision => {
                        SubmissionStatus::RevisionRequested
                    }
                    ReviewerRole::Mentor => SubmissionStatus::Reviewed,
                    ReviewerRole::Peer => match row.status {
                        SubmissionStatus::Submitted | SubmissionStatus::Resubmitted => {
                            SubmissionStatus::InReview
                        }
                        other => other,
                    },
                };
                repo::set_status(&mut tx, row.id, status, now).await?;
                if role == ReviewerRole::Peer {
                    repo::close_assignment(&mut tx, row.id, actor.id, now).await?;
                }
                let event = LearningEvent::SubmissionReviewed {
                    submission: row.id,
                    review: id,
                    learner: row.learner_id,
                    mentor: role == ReviewerRole::Mentor,
                };
                self.commit_with_event(tx, &event, id).await?
            }
        };
        let row = repo::review(&self.db, id)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a review vanished")))?;
        review_view(row, true)
    }

    /// The author rates a peer review of their submission helpful or not (again: the
    /// rating changes).
    pub async fn rate(
        &self,
        actor: &AuthUser,
        review: Uuid,
        helpful: bool,
    ) -> AppResult<ReviewView> {
        self.charge(OpClass::Write).await?;
        actor.require_write()?;
        let hidden = || AppError::not_found("no such review");
        let row = repo::review(&self.db, review).await?.ok_or_else(hidden)?;
        let (_, standing) = self
            .learning()
            .submissions()
            .visible(actor, row.submission_id)
            .await
            .map_err(|e| match e {
                AppError::NotFound(_) => hidden(),
                other => other,
            })?;
        if standing == Standing::Peer && row.reviewer_id != actor.id {
            return Err(hidden());
        }
        if standing != Standing::Learner {
            return Err(AppError::Forbidden(
                "only the submission's author rates its reviews".into(),
            ));
        }
        if row.role != ReviewerRole::Peer {
            return Err(AppError::Conflict(
                "mentors' reviews are not rated; rate peer reviews".into(),
            ));
        }
        let mut tx = self.db.begin().await?;
        repo::rate_review(&mut tx, row.id, helpful).await?;
        self.commit(tx, ()).await?;
        let row = repo::review(&self.db, review).await?.ok_or_else(hidden)?;
        review_view(row, false)
    }

    /// How well each peer reviewer of a cohort reviews (its mentors and admins).
    pub async fn quality(&self, actor: &AuthUser, cohort: &str) -> AppResult<Vec<ReviewerQuality>> {
        self.charge(OpClass::Read).await?;
        let cohort = cohort_row(&self.db, cohort).await?;
        if !self.learning().cohorts().mentors(actor, cohort.id).await? {
            return Err(AppError::Forbidden(
                "reviewer quality is for the cohort's mentors and admins".into(),
            ));
        }
        let reviews = repo::cohort_reviews(&self.db, cohort.id).await?;
        Ok(reviewer_quality(&reviews))
    }
}

/// Reviewer quality from a cohort's reviews, by reviewer handle.
pub(crate) fn reviewer_quality(reviews: &[ReviewRow]) -> Vec<ReviewerQuality> {
    // The mentor's total on each revision (the latest mentor review, if several).
    let mut mentor: HashMap<(Uuid, i32), f64> = HashMap::new();
    for r in reviews.iter().filter(|r| r.role == ReviewerRole::Mentor) {
        mentor.insert((r.submission_id, r.revision), r.total);
    }
    let mut by: std::collections::BTreeMap<&str, ReviewerQuality> = Default::default();
    let mut diffs: HashMap<&str, Vec<f64>> = HashMap::new();
    for r in reviews.iter().filter(|r| r.role == ReviewerRole::Peer) {
        let q = by
            .entry(&r.reviewer_handle)
            .or_insert_with(|| ReviewerQuality {
                reviewer: r.reviewer_handle.clone(),
                reviews: 0,
                rated: 0,
                helpful: 0,
                helpful_rate: None,
                mean_abs_diff: None,
                compared: 0,
            });
        q.reviews += 1;
        if let Some(h) = r.helpful {
            q.rated += 1;
            q.helpful += usize::from(h);
        }
        if let Some(m) = mentor.get(&(r.submission_id, r.revision)) {
            diffs
                .entry(&r.reviewer_handle)
                .or_default()
                .push((r.total - m).abs());
        }
    }
    by.into_iter()
        .map(|(handle, mut q)| {
            if q.rated > 0 {
                q.helpful_rate = Some(round2(q.helpful as f64 / q.rated as f64));
            }
            if let Some(d) = diffs.get(handle) {
                q.compared = d.len();
                q.mean_abs_diff = Some(round2(d.iter().sum::<f64>() / d.len() as f64));
            }
            q
        })
        .collect()
}

pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learning::model::{Criterion, Rubric};

    fn rubric() -> Rubric {
        let c = |key: &str, weight: f64, min: i32, max: i32| Criterion {
            key: key.into(),
            title: key.into(),
            description: String::new(),
            weight,
            min,
            max,
            levels: Vec::new(),
        };
        Rubric {
            slug: "r".into(),
            title: "R".into(),
            criteria: vec![
                c("design", 3.0, 0, 4),
                c("tests", 2.0, 0, 4),
                c("docs", 1.0, 1, 5),
            ],
        }
    }

    fn score(criterion: &str, score: f64) -> Score {
        Score {
            criterion: criterion.into(),
            score,
            comment: String::new(),
        }
    }

    #[test]
    fn the_total_weights_each_criterion_inside_its_range() {
        let r = rubric();
        // design 3/4 (w3), tests 2/4 (w2), docs 5 on 1-5 (w1):
        // (3*0.75 + 2*0.5 + 1*1.0) / 6 = 4.25 / 6 = 70.83 %.
        let s = vec![
            score("design", 3.0),
            score("tests", 2.0),
            score("docs", 5.0),
        ];
        assert_eq!(weighted_total(&r, &s), 70.83);
        let top = vec![
            score("design", 4.0),
            score("tests", 4.0),
            score("docs", 5.0),
        ];
        assert_eq!(weighted_total(&r, &top), 100.0);
        let low = vec![
            score("design", 0.0),
            score("tests", 0.0),
            score("docs", 1.0),
        ];
        assert_eq!(weighted_total(&r, &low), 0.0);
    }

    #[test]
    fn scores_out_of_range_missing_twice_or_unknown_are_named() {
        let r = rubric();
        let mut faults = Faults::default();
        let mut s = vec![
            score("design", 5.0),
            score("tests", f64::NAN),
            score("tests", 1.0),
            score("style", 1.0),
        ];
        check_scores(&r, &mut s, &mut faults);
        let Err(AppError::Validation(errors)) = faults.finish() else {
            panic!("faults expected");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["scores",],
            "four scores for three criteria is one fault: the list is too long"
        );
        let mut faults = Faults::default();
        let mut s = vec![
            score("design", 5.0),
            score("tests", f64::NAN),
            score("tests", 1.0),
        ];
        check_scores(&r, &mut s, &mut faults);
        let Err(AppError::Validation(errors)) = faults.finish() else {
            panic!("faults expected");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "scores[0].score",
                "scores[1].score",
                "scores[2].criterion",
                "scores"
            ]
        );
    }
}
