//! The cohort of the `progress` benchmark scenario, made by `nexus seed --bench`: a
//! 24-week course, a cohort whose 24 weeks have all ended, `bench-user-0` as its mentor
//! and the next 500 benchmark users as learners (fewer in a small test seed), each with a hand-in and a mentor review
//! for every week, a retrospective for most weeks and a few ledger items.
//!
//! The course and the cohort go through the use cases; the 12,000 hand-ins, revisions
//! and reviews are written through the repositories in large transactions (as the note
//! seed does): assigning peers and sending emails for each would take minutes and measure
//! nothing the scenario reads.

use chrono::Duration;
use nexus_core::identity::Role;
use nexus_core::learning::{
    CohortRole, EnrolmentPolicy, LedgerKind, LedgerStatus, ReviewerRole, Severity,
};
use nexus_db::progress::{LedgerWrite, NewRetrospective};
use nexus_db::submissions::{NewReview, NewRevision};
use nexus_service::Services;
use nexus_service::actor::AuthUser;
use nexus_service::learning::{CourseDocument, NewCohortInput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

pub const COHORT: &str = "bench-cohort";
pub const LEARNERS: usize = 500;
pub const WEEKS: u32 = 24;
/// Learners per transaction.
const LEARNERS_PER_TX: usize = 50;

fn course() -> anyhow::Result<CourseDocument> {
    let weeks: Vec<serde_json::Value> = (1..=WEEKS)
        .map(|n| {
            serde_json::json!({
                "number": n, "title": format!("Week {n}"), "summary": "",
                "objectives": [{"code": format!("W{n:02}.1"), "bloom": "apply", "text": "Apply the week's pattern."}],
                "labs": [], "readings": [],
                "deliverable": {"slug": format!("week-{n:02}"), "title": format!("Week {n} deliverable"),
                                "description": "", "evidence": ["link"], "rubric": "weekly"}
            })
        })
        .collect();
    let doc = serde_json::json!({
        "slug": "bench-course", "title": "Benchmark course", "summary": "Twenty-four weeks.",
        "level": "intermediate", "duration_weeks": WEEKS, "weekly_hours": 8,
        "prerequisites": [], "outcomes": [],
        "phases": [{"title": "All", "first_week": 1, "last_week": WEEKS}],
        "weeks": weeks, "projects": [],
        "rubrics": [{"slug": "weekly", "title": "Weekly", "criteria": [
            {"key": "design", "title": "Design", "description": "", "weight": 2.0, "min": 0, "max": 4, "levels": []},
            {"key": "evidence", "title": "Evidence", "description": "", "weight": 1.0, "min": 0, "max": 4, "levels": []}
        ]}]
    });
    Ok(serde_json::from_value(doc)?)
}

/// Seeds the cohort with `users[0]` as mentor and the next [`LEARNERS`] users (or as
/// many as there are, for a small test seed) as learners.
pub async fn run(services: &Services, users: &[AuthUser], seed: u64) -> anyhow::Result<()> {
    anyhow::ensure!(
        users.len() >= 2,
        "the progress cohort needs a mentor and a learner: seed at least 2 users"
    );
    let learners = (users.len() - 1).min(LEARNERS);
    let admin = AuthUser {
        role: Role::Admin,
        ..users[0].clone()
    };
    let learning = services.learning();
    learning.courses().create(&admin, course()?).await?;
    let now = services.clock.now();
    // Started 24 weeks and a day ago: every week has ended.
    let starts_on = (now - Duration::weeks(i64::from(WEEKS)) - Duration::days(1)).date_naive();
    learning
        .cohorts()
        .create(
            &admin,
            NewCohortInput {
                slug: COHORT.into(),
                title: "Benchmark cohort".into(),
                course: "bench-course".into(),
                course_version: None,
                starts_on,
                timezone: "UTC".into(),
                peer_reviews: 0,
                enrolment: EnrolmentPolicy::Invite,
            },
        )
        .await?;
    let cohort = nexus_db::cohorts::cohort_by_slug(&services.db, COHORT)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the benchmark cohort vanished"))?;
    let mentor = users[0].id;
    nexus_db::cohorts::enrol(&services.db, cohort.id, mentor, CohortRole::Mentor, now).await?;

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for chunk in users[1..=learners].chunks(LEARNERS_PER_TX) {
        let mut tx = services.db.begin().await?;
        for learner in chunk {
            nexus_db::cohorts::enrol(&mut tx, cohort.id, learner.id, CohortRole::Learner, now)
                .await?;
            // Each learner has a level and drifts from it week by week.
            let level: f64 = rng.random_range(1.5..3.8);
            for week in 1..=WEEKS {
                let at = now - Duration::weeks(i64::from(WEEKS - week + 1));
                let submission = Uuid::now_v7();
                let deliverable = format!("week-{week:02}");
                nexus_db::submissions::insert_submission(
                    &mut tx,
                    submission,
                    cohort.id,
                    &deliverable,
                    learner.id,
                    false,
                    at,
                )
                .await?;
                let revision = Uuid::now_v7();
                let with_link = rng.random_bool(0.9);
                nexus_db::submissions::insert_revision(
                    &mut tx,
                    NewRevision {
                        id: revision,
                        submission,
                        revision: 1,
                        summary: "Done.",
                        links: serde_json::json!(if with_link {
                            vec![serde_json::json!({"url": "https://example.com", "label": ""})]
                        } else {
                            vec![]
                        }),
                        notes: serde_json::json!([]),
                        late: false,
                        evidence_missing: serde_json::json!(if with_link {
                            Vec::<&str>::new()
                        } else {
                            vec!["link"]
                        }),
                        now: at,
                    },
                )
                .await?;
                let design = (level + rng.random_range(-1.0..1.0))
                    .clamp(0.0, 4.0)
                    .round();
                let evidence = (level + rng.random_range(-1.0..1.0))
                    .clamp(0.0, 4.0)
                    .round();
                nexus_db::submissions::insert_review(
                    &mut tx,
                    NewReview {
                        id: Uuid::now_v7(),
                        submission,
                        revision_id: revision,
                        revision: 1,
                        reviewer: mentor,
                        role: ReviewerRole::Mentor,
                        scores: serde_json::json!([
                            {"criterion": "design", "score": design, "comment": ""},
                            {"criterion": "evidence", "score": evidence, "comment": ""}
                        ]),
                        total: ((design * 2.0 + evidence) / 12.0 * 10_000.0).round() / 100.0,
                        feedback: "",
                        revision_requested: false,
                        now: at + Duration::days(2),
                    },
                )
                .await?;
                if rng.random_bool(0.8) {
                    nexus_db::progress::put_retrospective(
                        &mut tx,
                        &NewRetrospective {
                            cohort: cohort.id,
                            learner: learner.id,
                            week: i32::try_from(week)?,
                            retain: "Measure first.",
                            improve: "Smaller steps.",
                            scale: "",
                            now: at,
                        },
                    )
                    .await?;
                }
            }
            for _ in 0..rng.random_range(0..4) {
                let week = rng.random_range(1..=WEEKS);
                let open = rng.random_bool(0.3);
                let at = now - Duration::weeks(i64::from(WEEKS - week + 1));
                nexus_db::progress::insert_ledger_item(
                    &mut tx,
                    &LedgerWrite {
                        id: Uuid::now_v7(),
                        user: learner.id,
                        cohort: Some(cohort.id),
                        kind: LedgerKind::Risk,
                        title: "A risk",
                        detail: "",
                        severity: if rng.random_bool(0.2) {
                            Severity::High
                        } else {
                            Severity::Medium
                        },
                        week: i32::try_from(week)?,
                        status: if open {
                            LedgerStatus::Open
                        } else {
                            LedgerStatus::Closed
                        },
                        closed_at: (!open).then(|| at + Duration::days(5)),
                        now: at,
                    },
                )
                .await?;
            }
        }
        tx.commit().await?;
    }
    tracing::info!(learners, weeks = WEEKS, "benchmark cohort seeded");
    Ok(())
}
