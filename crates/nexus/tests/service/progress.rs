//! Progress reads a fixed number of statements whatever the size of the cohort: the
//! statement counter of `nexus_db::Db` is read around each call, with 3 learners and
//! again with 40, each with hand-ins, reviews, retrospectives and ledger items.

use chrono::{TimeZone, Utc};
use nexus_core::identity::Role;
use nexus_core::learning::{CohortRole, EnrolmentPolicy, LedgerKind, Severity};
use nexus_service::actor::AuthUser;
use nexus_service::learning::model::example_course;
use nexus_service::learning::{
    CourseDocument, LedgerInput, NewCohortInput, ProgressSort, RetrospectiveInput, ReviewInput,
    Score, SubmissionInput,
};

use crate::backend_tests;
use crate::harness::ServiceApp;
use crate::helpers::Backend;

backend_tests!(progress_costs_the_same_statements_for_3_learners_and_for_40);

/// Learners `l{from}`..`l{to}` join `spring`, hand in week 1, get mia's review, write
/// the week's retrospective and log a ledger item.
async fn grow(app: &ServiceApp, admin: &AuthUser, mia: &AuthUser, from: usize, to: usize) {
    let learning = app.services.learning();
    for i in from..to {
        let handle = format!("l{i:03}");
        let learner = app.user(&handle, Role::Learner).await;
        learning
            .cohorts()
            .enrol(admin, "spring", &handle, CohortRole::Learner)
            .await
            .unwrap();
        let submission = learning
            .submissions()
            .submit(
                &learner,
                "spring",
                "lifecycle-notes",
                SubmissionInput {
                    summary: format!("Notes of {handle}."),
                    links: vec![],
                    notes: vec![],
                    uploads: vec![],
                },
            )
            .await
            .unwrap();
        let score = |criterion: &str, score: f64| Score {
            criterion: criterion.into(),
            score,
            comment: String::new(),
        };
        learning
            .reviews()
            .review(
                mia,
                submission.id,
                ReviewInput {
                    scores: vec![score("correctness", 3.0), score("clarity", 2.0)],
                    feedback: String::new(),
                    request_revision: false,
                },
            )
            .await
            .unwrap();
        learning
            .retrospectives()
            .put(
                &learner,
                "spring",
                1,
                RetrospectiveInput {
                    retain: "Tests first.".into(),
                    improve: String::new(),
                    scale: String::new(),
                },
            )
            .await
            .unwrap();
        learning
            .ledger()
            .create(
                &learner,
                LedgerInput {
                    kind: LedgerKind::Risk,
                    title: "One database".into(),
                    detail: String::new(),
                    severity: Severity::High,
                    week: 1,
                    cohort: Some("spring".into()),
                },
            )
            .await
            .unwrap();
    }
}

/// Statements run by a cohort's table and by one learner's page.
async fn cost(app: &ServiceApp, mia: &AuthUser) -> (u64, u64) {
    let progress = app.services.learning().progress();
    let before = app.db.statements();
    let table = progress
        .cohort(mia, "spring", ProgressSort::Risk)
        .await
        .unwrap();
    let table_cost = app.db.statements() - before;
    assert!(!table.learners.is_empty());
    let before = app.db.statements();
    let page = progress.learner(mia, "spring", "l001").await.unwrap();
    let page_cost = app.db.statements() - before;
    assert_eq!(page.weeks[0].score, Some(66.67));
    (table_cost, page_cost)
}

async fn progress_costs_the_same_statements_for_3_learners_and_for_40(backend: Backend) {
    let app = ServiceApp::new(backend).await;
    app.clock
        .set(Utc.with_ymd_and_hms(2027, 3, 2, 9, 0, 0).unwrap());
    let learning = app.services.learning();
    let admin = app.user("root", Role::Admin).await;
    let doc: CourseDocument = serde_json::from_value(example_course()).unwrap();
    learning.courses().create(&admin, doc).await.unwrap();
    learning
        .cohorts()
        .create(
            &admin,
            NewCohortInput {
                slug: "spring".into(),
                title: "Spring".into(),
                course: "intro-backend".into(),
                course_version: None,
                starts_on: chrono::NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(),
                timezone: "UTC".into(),
                peer_reviews: 1,
                enrolment: EnrolmentPolicy::Invite,
            },
        )
        .await
        .unwrap();
    let mia = app.user("mia", Role::Learner).await;
    learning
        .cohorts()
        .enrol(&admin, "spring", "mia", CohortRole::Mentor)
        .await
        .unwrap();

    grow(&app, &admin, &mia, 0, 3).await;
    // Week 2 ends: everyone is late with it, and their week-1 risks are 14+ days old.
    app.clock
        .set(Utc.with_ymd_and_hms(2027, 3, 20, 9, 0, 0).unwrap());
    let small = cost(&app, &mia).await;
    grow(&app, &admin, &mia, 3, 40).await;
    let large = cost(&app, &mia).await;
    assert_eq!(
        small, large,
        "statements (table, page) with 3 and 40 learners"
    );
    // The cohort, its course version, its overrides, the caller's enrolment, then one
    // statement per kind of row (learners, hand-ins, reviews, retrospectives, ledger); a
    // page looks the learner and their enrolment up instead of listing the learners.
    assert!(large.0 <= 9, "the table took {} statements", large.0);
    assert!(
        large.1 <= 10,
        "a learner's page took {} statements",
        large.1
    );

    let table = learning
        .progress()
        .cohort(&mia, "spring", ProgressSort::Handle)
        .await
        .unwrap();
    assert_eq!(table.learners.len(), 40);
    let reasons: Vec<&str> = table.learners[0]
        .at_risk
        .iter()
        .map(|r| r.reason.as_str())
        .collect();
    assert_eq!(reasons, ["missed_deadline", "stale_high_risk"]);
}
