//! Progress: what a learner's hand-ins, reviews, retrospectives and ledger say about how
//! they are doing, computed on every read from the rows (nothing is stored twice).
//!
//! The definitions, exactly (the fixture in `tests/api/progress.rs` checks each):
//! - **Week score**: for the deliverable of a course week, take the latest revision that
//!   has any review. If a mentor reviewed it, the score is that review's weighted total
//!   (0-100; the latest mentor review if two mentors did); if only peers did, it is the
//!   mean of their totals, flagged `provisional`. Rounded to two decimals.
//! - **Criterion scores**: the same reviews, per rubric criterion, each score placed in
//!   its criterion's `[min, max]` and scaled to 0-100.
//! - **Evidence completeness**: of the deliverables due so far (weekly and project ones,
//!   deadline overrides applied), the share whose latest revision carries every required
//!   evidence kind and which have a mentor review (of any revision); `null` while
//!   nothing is due.
//! - **Trend**: the least-squares slope of the week scores over the last four scored
//!   weeks, in points per week (x is the week number); `null` below two scored weeks.
//! - **At risk**, every reason that holds: a deliverable past due and not handed in (one
//!   reason each); two consecutive scored weeks below 60 (the latest such pair); a trend
//!   at or below -5; a high-severity ledger item open for more than 14 days (one reason
//!   each); no retrospective for either of the last two weeks that ended.
//! - **Ledger by week**: for each week that has begun, the items of the cohort logged
//!   for that week or earlier which were still open at the week's end (open now, or
//!   closed after it).
//!
//! Cost: a learner's page and a cohort's table each read a fixed number of statements
//! (the cohort, its course version, its overrides, then hand-ins, reviews,
//! retrospectives and ledger items of the whole cohort, one statement each), whatever
//! the number of learners or weeks.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use nexus_core::learning::{
    self as core, CohortRole, LedgerStatus, ReviewerRole, RiskReason, Severity,
};
use nexus_core::{AppError, error::AppResult};
use nexus_db::cohorts as cohort_repo;
use nexus_db::identity as users;
use nexus_db::progress::{self as repo, HandInFact, LearnerRow, LedgerFact, ReviewFact};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::cohorts::Loaded;
use super::model::{CourseDocument, Rubric};
use super::reviews::{Score, round2};
use super::rules::clip;
use crate::actor::AuthUser;
use crate::safety::OpClass;

use_case_group! {
    /// Progress of a learner and of a whole cohort: [`super::Learning::progress`].
    Progress
}

/// Below this a week score counts as low.
const LOW_SCORE: f64 = 60.0;
/// At or below this slope (points a week) the trend is falling.
const FALLING_TREND: f64 = -5.0;
/// How many of the latest scored weeks the trend is fitted to.
const TREND_WEEKS: usize = 4;
/// How long a high-severity ledger item may stay open.
const STALE_AFTER_DAYS: i64 = 14;

/// One week of a learner's progress.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WeekProgress {
    pub number: u32,
    pub title: String,
    /// The week's deliverable; absent for a week without one.
    #[schema(example = "week-03-caching-plan")]
    pub deliverable: Option<String>,
    /// The week score (0-100); `null` until a revision of the deliverable is reviewed.
    #[schema(example = 72.5)]
    pub score: Option<f64>,
    /// `true` when the score is the mean of peer reviews, no mentor having reviewed yet.
    pub provisional: bool,
    /// Per rubric criterion, 0-100, from the same reviews as `score`.
    #[schema(example = json!({"correctness": 75.0, "clarity": 50.0}))]
    pub criteria: BTreeMap<String, f64>,
    /// The deliverable's deadline (overrides applied), or the week's end without one.
    pub due: DateTime<Utc>,
    /// Whether the deliverable was handed in (late or not).
    pub submitted: bool,
    /// Whether a mentor reviewed a revision of it.
    pub reviewed: bool,
    /// Whether the latest revision carries every evidence kind the deliverable asks for.
    pub evidence_complete: bool,
    /// Whether the learner wrote the week's retrospective.
    pub retrospective: bool,
}

/// One reason a learner is at risk, with what it is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RiskItem {
    pub reason: RiskReason,
    #[schema(example = "weeks 3 and 4 scored 55 and 48")]
    pub detail: String,
}

/// Ledger items still open at the end of one week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LedgerWeek {
    pub week: u32,
    pub open: u32,
    /// Of `open`, the high-severity ones.
    pub high: u32,
}

/// The learner's ledger items kept for this cohort.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LedgerTrend {
    /// Items open now.
    pub open: u32,
    /// For every week that has begun, in order.
    pub open_by_week: Vec<LedgerWeek>,
}

/// `GET /cohorts/{slug}/progress/{handle}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LearnerProgress {
    pub cohort: String,
    #[schema(example = "ada")]
    pub learner: String,
    pub display_name: String,
    /// The instant the figures were computed for.
    pub as_of: DateTime<Utc>,
    /// Every week of the course, in order.
    pub weeks: Vec<WeekProgress>,
    /// 0-1; `null` while nothing is due.
    #[schema(example = 0.75)]
    pub evidence_completeness: Option<f64>,
    /// Points per week; `null` below two scored weeks.
    #[schema(example = -2.5)]
    pub trend: Option<f64>,
    /// Empty when the learner is on track.
    pub at_risk: Vec<RiskItem>,
    pub ledger: LedgerTrend,
}

/// One learner in a cohort's progress table.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProgressRow {
    #[schema(example = "ada")]
    pub learner: String,
    pub display_name: String,
    /// Deliverables due so far.
    pub due: u32,
    /// Of those, handed in.
    pub submitted: u32,
    /// Weeks with a score.
    pub scored: u32,
    /// The score of the latest scored week.
    pub latest_score: Option<f64>,
    /// The mean of the week scores.
    pub mean_score: Option<f64>,
    pub evidence_completeness: Option<f64>,
    pub trend: Option<f64>,
    /// Ledger items open now.
    pub open_ledger_items: u32,
    pub at_risk: Vec<RiskItem>,
}

/// The order of a cohort's progress table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProgressSort {
    /// Most risk reasons first, then by handle.
    #[default]
    Risk,
    /// By handle.
    Handle,
}

/// `GET /cohorts/{slug}/progress`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CohortProgress {
    pub cohort: String,
    pub as_of: DateTime<Utc>,
    /// One row per active learner.
    pub learners: Vec<ProgressRow>,
}

impl Progress<'_> {
    /// One learner's progress: for the learner, the cohort's mentors and admins. Anyone
    /// else, and a handle that is no learner of the cohort, gets 404.
    pub async fn learner(
        &self,
        actor: &AuthUser,
        cohort: &str,
        handle: &str,
    ) -> AppResult<LearnerProgress> {
        self.charge(OpClass::Read).await?;
        let cohort = self.learning().cohorts().load(cohort).await?;
        let not_found =
            || AppError::not_found(format!("no learner `{}` in this cohort", clip(handle)));
        let user = if handle == actor.handle {
            LearnerRow {
                user_id: actor.id,
                handle: actor.handle.clone(),
                display_name: String::new(),
            }
        } else {
            if !self
                .learning()
                .cohorts()
                .mentors(actor, cohort.row.id)
                .await?
            {
                return Err(not_found());
            }
            let user = users::user_by_handle(&self.db, handle)
                .await?
                .ok_or_else(not_found)?;
            LearnerRow {
                user_id: user.id,
                handle: user.handle,
                display_name: user.display_name,
            }
        };
        let enrolment = cohort_repo::enrolment(&self.db, cohort.row.id, user.user_id)
            .await?
            .filter(|e| e.role == CohortRole::Learner)
            .ok_or_else(not_found)?;
        let learner = LearnerRow {
            display_name: enrolment.display_name,
            ..user
        };
        let facts = self.facts(&cohort, Some(learner.user_id)).await?;
        let calendar = self.calendar(&cohort).await?;
        let mut grouped = facts.by_learner();
        let mine = grouped.remove(&learner.user_id).unwrap_or_default();
        let p = compute(&calendar, &cohort.doc, &mine);
        Ok(LearnerProgress {
            cohort: cohort.row.slug.clone(),
            learner: learner.handle,
            display_name: learner.display_name,
            as_of: calendar.now,
            weeks: p.weeks,
            evidence_completeness: p.evidence_completeness,
            trend: p.trend,
            at_risk: p.at_risk,
            ledger: p.ledger,
        })
    }

    /// The cohort's table: one row per active learner (mentors and admins).
    pub async fn cohort(
        &self,
        actor: &AuthUser,
        cohort: &str,
        sort: ProgressSort,
    ) -> AppResult<CohortProgress> {
        self.charge(OpClass::Read).await?;
        let cohort = self.learning().cohorts().load(cohort).await?;
        if !self
            .learning()
            .cohorts()
            .mentors(actor, cohort.row.id)
            .await?
        {
            return Err(AppError::Forbidden(
                "a cohort's progress table is for its mentors and admins".into(),
            ));
        }
        self.table(&cohort, sort).await
    }

    /// The table of a loaded cohort, for whoever has already been allowed to see it (a
    /// mentor, or a digest going to one).
    pub(crate) async fn table(
        &self,
        cohort: &Loaded,
        sort: ProgressSort,
    ) -> AppResult<CohortProgress> {
        let learners = repo::active_learners(&self.db, cohort.row.id).await?;
        let facts = self.facts(cohort, None).await?;
        let calendar = self.calendar(cohort).await?;
        let mut grouped = facts.by_learner();
        let mut rows: Vec<ProgressRow> = learners
            .into_iter()
            .map(|l| {
                let mine = grouped.remove(&l.user_id).unwrap_or_default();
                let p = compute(&calendar, &cohort.doc, &mine);
                row(l, &p)
            })
            .collect();
        if sort == ProgressSort::Risk {
            // Stable: rows come by handle, so equal risk stays in handle order.
            rows.sort_by_key(|r| std::cmp::Reverse(r.at_risk.len()));
        }
        Ok(CohortProgress {
            cohort: cohort.row.slug.clone(),
            as_of: calendar.now,
            learners: rows,
        })
    }

    /// Everything progress reads of a cohort (or of one learner in it): one statement
    /// per kind of row.
    async fn facts(&self, cohort: &Loaded, learner: Option<Uuid>) -> AppResult<Facts> {
        let id = cohort.row.id;
        Ok(Facts {
            hand_ins: repo::hand_ins(&self.db, id, learner).await?,
            reviews: repo::review_facts(&self.db, id, learner).await?,
            retrospectives: repo::retrospective_weeks(&self.db, id, learner).await?,
            ledger: repo::ledger_facts(&self.db, id, learner).await?,
        })
    }

    async fn calendar(&self, cohort: &Loaded) -> AppResult<Calendar> {
        let overrides = self.learning().cohorts().overrides(cohort.row.id).await?;
        Ok(Calendar::of(cohort, &overrides, self.clock.now()))
    }
}

fn row(l: LearnerRow, p: &Computed) -> ProgressRow {
    let scores: Vec<f64> = p.weeks.iter().filter_map(|w| w.score).collect();
    ProgressRow {
        learner: l.handle,
        display_name: l.display_name,
        due: p.due,
        submitted: p.submitted,
        scored: count(scores.len()),
        latest_score: scores.last().copied(),
        mean_score: (!scores.is_empty())
            .then(|| round2(scores.iter().sum::<f64>() / scores.len() as f64)),
        evidence_completeness: p.evidence_completeness,
        trend: p.trend,
        open_ledger_items: p.ledger.open,
        at_risk: p.at_risk.clone(),
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The rows progress reads.
struct Facts {
    hand_ins: Vec<HandInFact>,
    reviews: Vec<ReviewFact>,
    retrospectives: Vec<(Uuid, i32)>,
    ledger: Vec<LedgerFact>,
}

/// One learner's share of [`Facts`].
#[derive(Default)]
pub(crate) struct LearnerFacts {
    hand_ins: HashMap<String, HandInFact>,
    /// By deliverable, oldest first.
    reviews: HashMap<String, Vec<ReviewFact>>,
    retrospectives: HashSet<u32>,
    ledger: Vec<LedgerFact>,
}

impl Facts {
    fn by_learner(self) -> HashMap<Uuid, LearnerFacts> {
        let mut out: HashMap<Uuid, LearnerFacts> = HashMap::new();
        for h in self.hand_ins {
            out.entry(h.learner_id)
                .or_default()
                .hand_ins
                .insert(h.deliverable.clone(), h);
        }
        for r in self.reviews {
            out.entry(r.learner_id)
                .or_default()
                .reviews
                .entry(r.deliverable.clone())
                .or_default()
                .push(r);
        }
        for (learner, week) in self.retrospectives {
            if let Ok(week) = u32::try_from(week) {
                out.entry(learner).or_default().retrospectives.insert(week);
            }
        }
        for l in self.ledger {
            out.entry(l.user_id).or_default().ledger.push(l);
        }
        out
    }
}

/// A cohort's calendar at one instant: what is due when.
pub(crate) struct Calendar {
    now: DateTime<Utc>,
    /// Every deliverable: slug, due instant (overrides applied), its local rendering.
    due: Vec<(String, DateTime<Utc>, String)>,
    /// Each course week's end (the computed deadline, overrides aside), by number.
    week_ends: BTreeMap<u32, DateTime<Utc>>,
}

impl Calendar {
    fn of(
        cohort: &Loaded,
        overrides: &HashMap<String, DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Calendar {
        let due = cohort
            .schedule(overrides)
            .into_iter()
            .map(|i| (i.deliverable, i.due_at, i.due_local))
            .collect();
        let week_ends = cohort
            .doc
            .weeks
            .iter()
            .filter_map(|w| {
                core::due_at(cohort.row.starts_on, w.number, cohort.tz).map(|end| (w.number, end))
            })
            .collect();
        Calendar {
            now,
            due,
            week_ends,
        }
    }

    fn due_of(&self, deliverable: &str) -> Option<DateTime<Utc>> {
        self.due
            .iter()
            .find(|(d, _, _)| d == deliverable)
            .map(|(_, at, _)| *at)
    }

    /// Whether week `n` has begun: the first always has (a cohort's first week is open
    /// to notes before its start date), a later one once the week before it ended.
    fn begun(&self, n: u32) -> bool {
        n <= 1
            || self
                .week_ends
                .get(&(n - 1))
                .is_some_and(|end| *end < self.now)
    }
}

/// A learner's figures.
struct Computed {
    weeks: Vec<WeekProgress>,
    due: u32,
    submitted: u32,
    evidence_completeness: Option<f64>,
    trend: Option<f64>,
    at_risk: Vec<RiskItem>,
    ledger: LedgerTrend,
}

/// A week score with its criteria.
#[derive(Debug, Clone, PartialEq)]
struct Scored {
    score: f64,
    provisional: bool,
    criteria: BTreeMap<String, f64>,
}

fn compute(cal: &Calendar, doc: &CourseDocument, facts: &LearnerFacts) -> Computed {
    let mentor_reviewed = |d: &str| {
        facts
            .reviews
            .get(d)
            .is_some_and(|rs| rs.iter().any(|r| r.role == ReviewerRole::Mentor))
    };
    let complete = |d: &str| {
        facts
            .hand_ins
            .get(d)
            .is_some_and(|h| h.evidence_missing.0.is_empty())
    };

    let mut weeks = Vec::new();
    for week in &doc.weeks {
        let Some(end) = cal.week_ends.get(&week.number) else {
            continue;
        };
        let deliverable = week.deliverable.as_ref();
        let slug = deliverable.map(|d| d.slug.as_str());
        let scored = deliverable.and_then(|d| {
            let rubric = doc.rubrics.iter().find(|r| r.slug == d.rubric)?;
            week_score(facts.reviews.get(&d.slug)?, rubric)
        });
        weeks.push(WeekProgress {
            number: week.number,
            title: week.title.clone(),
            deliverable: slug.map(str::to_owned),
            score: scored.as_ref().map(|s| s.score),
            provisional: scored.as_ref().is_some_and(|s| s.provisional),
            criteria: scored.map(|s| s.criteria).unwrap_or_default(),
            due: slug.and_then(|d| cal.due_of(d)).unwrap_or(*end),
            submitted: slug.is_some_and(|d| facts.hand_ins.contains_key(d)),
            reviewed: slug.is_some_and(mentor_reviewed),
            evidence_complete: slug.is_some_and(complete),
            retrospective: facts.retrospectives.contains(&week.number),
        });
    }

    let mut at_risk = Vec::new();
    let past_due: Vec<_> = cal.due.iter().filter(|(_, at, _)| *at <= cal.now).collect();
    let mut submitted = 0;
    let mut evidenced = 0;
    for (d, _, local) in &past_due {
        if facts.hand_ins.contains_key(d) {
            submitted += 1;
            if complete(d) && mentor_reviewed(d) {
                evidenced += 1;
            }
        } else {
            at_risk.push(RiskItem {
                reason: RiskReason::MissedDeadline,
                detail: format!("`{d}` was due {local} and has not been handed in"),
            });
        }
    }
    let evidence_completeness = (!past_due.is_empty())
        .then(|| (f64::from(evidenced) / past_due.len() as f64 * 10_000.0).round() / 10_000.0);

    let scored: Vec<(u32, f64)> = weeks
        .iter()
        .filter_map(|w| w.score.map(|s| (w.number, s)))
        .collect();
    if let Some(pair) = scored
        .windows(2)
        .rev()
        .find(|p| p[0].1 < LOW_SCORE && p[1].1 < LOW_SCORE)
    {
        at_risk.push(RiskItem {
            reason: RiskReason::LowScores,
            detail: format!(
                "weeks {} and {} scored {} and {}",
                pair[0].0, pair[1].0, pair[0].1, pair[1].1
            ),
        });
    }
    let recent = &scored[scored.len().saturating_sub(TREND_WEEKS)..];
    let trend = slope(recent).map(round2);
    if let Some(t) = trend.filter(|t| *t <= FALLING_TREND) {
        at_risk.push(RiskItem {
            reason: RiskReason::FallingTrend,
            detail: format!(
                "week scores change by {t} points a week over weeks {}-{}",
                recent[0].0,
                recent[recent.len() - 1].0
            ),
        });
    }
    for item in &facts.ledger {
        let age = cal.now - item.created_at;
        if item.severity == Severity::High
            && item.status == LedgerStatus::Open
            && age > Duration::days(STALE_AFTER_DAYS)
        {
            at_risk.push(RiskItem {
                reason: RiskReason::StaleHighRisk,
                detail: format!(
                    "high-severity item `{}` has been open for {} days",
                    clip(&item.title),
                    age.num_days()
                ),
            });
        }
    }
    let ended: Vec<u32> = cal
        .week_ends
        .iter()
        .filter(|(_, end)| **end <= cal.now)
        .map(|(n, _)| *n)
        .collect();
    if let [.., a, b] = ended[..]
        && !facts.retrospectives.contains(&a)
        && !facts.retrospectives.contains(&b)
    {
        at_risk.push(RiskItem {
            reason: RiskReason::NoRetrospective,
            detail: format!("no retrospective for weeks {a} and {b}"),
        });
    }

    Computed {
        weeks,
        due: count(past_due.len()),
        submitted,
        evidence_completeness,
        trend,
        at_risk,
        ledger: ledger_trend(cal, &facts.ledger),
    }
}

/// The week score of a deliverable from its reviews (oldest first); `None` when none.
fn week_score(reviews: &[ReviewFact], rubric: &Rubric) -> Option<Scored> {
    let latest = reviews.iter().map(|r| r.revision).max()?;
    let on_latest: Vec<&ReviewFact> = reviews.iter().filter(|r| r.revision == latest).collect();
    if let Some(mentor) = on_latest
        .iter()
        .rev()
        .find(|r| r.role == ReviewerRole::Mentor)
    {
        return Some(Scored {
            score: round2(mentor.total),
            provisional: false,
            criteria: criteria_mean(&[mentor], rubric),
        });
    }
    let n = on_latest.len() as f64;
    Some(Scored {
        score: round2(on_latest.iter().map(|r| r.total).sum::<f64>() / n),
        provisional: true,
        criteria: criteria_mean(&on_latest, rubric),
    })
}

/// Per criterion, the mean of the reviews' scores placed in `[min, max]` as 0-100.
fn criteria_mean(reviews: &[&ReviewFact], rubric: &Rubric) -> BTreeMap<String, f64> {
    let mut sums: BTreeMap<String, (f64, u32)> = BTreeMap::new();
    for r in reviews {
        // Scores were checked against this rubric when the review was written.
        let Ok(scores) = serde_json::from_value::<Vec<Score>>(r.scores.0.clone()) else {
            continue;
        };
        for s in scores {
            let Some(c) = rubric.criteria.iter().find(|c| c.key == s.criterion) else {
                continue;
            };
            let span = f64::from(c.max - c.min);
            let place = if span > 0.0 {
                (s.score - f64::from(c.min)) / span
            } else {
                1.0
            };
            let e = sums.entry(s.criterion).or_default();
            e.0 += place * 100.0;
            e.1 += 1;
        }
    }
    sums.into_iter()
        .map(|(k, (sum, n))| (k, round2(sum / f64::from(n))))
        .collect()
}

/// The least-squares slope of `points` (week, score); `None` below two points.
fn slope(points: &[(u32, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mx = points.iter().map(|p| f64::from(p.0)).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (f64::from(p.0) - mx).powi(2)).sum();
    let sxy: f64 = points
        .iter()
        .map(|p| (f64::from(p.0) - mx) * (p.1 - my))
        .sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

fn ledger_trend(cal: &Calendar, items: &[LedgerFact]) -> LedgerTrend {
    let open_at = |item: &LedgerFact, end: DateTime<Utc>| match item.status {
        LedgerStatus::Open => true,
        LedgerStatus::Closed => item.closed_at.is_some_and(|at| at > end),
    };
    let open_by_week = cal
        .week_ends
        .iter()
        .filter(|(n, _)| cal.begun(**n))
        .map(|(n, end)| {
            let open: Vec<&LedgerFact> = items
                .iter()
                .filter(|i| u32::try_from(i.week).is_ok_and(|w| w <= *n) && open_at(i, *end))
                .collect();
            LedgerWeek {
                week: *n,
                open: count(open.len()),
                high: count(open.iter().filter(|i| i.severity == Severity::High).count()),
            }
        })
        .collect();
    LedgerTrend {
        open: count(
            items
                .iter()
                .filter(|i| i.status == LedgerStatus::Open)
                .count(),
        ),
        open_by_week,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slope_is_the_least_squares_fit_in_points_per_week() {
        assert_eq!(slope(&[(1, 80.0)]), None);
        assert_eq!(slope(&[(1, 80.0), (2, 70.0)]), Some(-10.0));
        // 70, 72, 68, 60 over weeks 1-4: slope = Σ(x-2.5)(y-67.5) / Σ(x-2.5)² = -17 / 5.
        let s = slope(&[(1, 70.0), (2, 72.0), (3, 68.0), (4, 60.0)]).unwrap();
        assert!((s - (-3.4)).abs() < 1e-9, "{s}");
        // Gaps in the weeks are gaps on the x axis.
        assert_eq!(slope(&[(1, 50.0), (3, 70.0)]), Some(10.0));
    }
}
