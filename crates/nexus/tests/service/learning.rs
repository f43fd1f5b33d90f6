//! The learning platform's background work on the manual clock: deadline reminders 48
//! and 24 hours before each due time go exactly once to each learner who has not handed
//! in, with two workers and a restart in between; hand-ins, assignments and reviews
//! reach the people concerned by email.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use nexus_core::identity::Role;
use nexus_core::learning::{CohortRole, EnrolmentPolicy};
use nexus_service::Services;
use nexus_service::actor::AuthUser;
use nexus_service::learning::model::example_course;
use nexus_service::learning::{
    CourseDocument, NewCohortInput, ReviewInput, Score, SubmissionInput,
};

use crate::backend_tests;
use crate::harness::ServiceApp;
use crate::helpers::Backend;

backend_tests!(
    deadline_reminders_go_once_each_with_two_workers_and_a_restart,
    hand_ins_assignments_and_reviews_reach_the_people_concerned,
);

const START: (i32, u32, u32) = (2027, 3, 1);

/// The example course (deliverables `lifecycle-notes`, week 1, and `error-contract`,
/// week 2) and the cohort `spring` on it, starting 1 March 2027 in UTC: week 1 is due on
/// 7 March at 23:59 UTC. mia mentors; ada, bob and cy learn.
async fn cohort(app: &ServiceApp, peer_reviews: i32) -> (AuthUser, Vec<AuthUser>) {
    let learning = app.services.learning();
    let admin = app.user("root", Role::Admin).await;
    let doc: CourseDocument = serde_json::from_value(example_course()).unwrap();
    learning.courses().create(&admin, doc).await.unwrap();
    let (y, m, d) = START;
    learning
        .cohorts()
        .create(
            &admin,
            NewCohortInput {
                slug: "spring".into(),
                title: "Spring".into(),
                course: "intro-backend".into(),
                course_version: None,
                starts_on: NaiveDate::from_ymd_opt(y, m, d).unwrap(),
                timezone: "UTC".into(),
                peer_reviews,
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
    let mut learners = Vec::new();
    for handle in ["ada", "bob", "cyd"] {
        learners.push(app.user(handle, Role::Learner).await);
        learning
            .cohorts()
            .enrol(&admin, "spring", handle, CohortRole::Learner)
            .await
            .unwrap();
    }
    (mia, learners)
}

fn hand_in(summary: &str) -> SubmissionInput {
    SubmissionInput {
        summary: summary.into(),
        links: vec![],
        notes: vec![],
        uploads: vec![],
    }
}

fn week_one_due() -> DateTime<Utc> {
    let (y, m, d) = START;
    Utc.with_ymd_and_hms(y, m, d + 6, 23, 59, 0).unwrap()
}

fn reminders(app: &ServiceApp, handle: &str, lead: u32) -> usize {
    app.emails_to(&format!("{handle}@example.com"))
        .iter()
        .filter(|m| m.contains(&format!("due in {lead} hours")))
        .count()
}

/// Fires the schedules and runs the due jobs of one worker, at `now`.
async fn work(services: &Services, app: &ServiceApp, now: DateTime<Utc>) {
    app.clock.set(now);
    nexus_service::jobs::worker::fire_due_schedules(services)
        .await
        .unwrap();
    nexus_service::jobs::worker::drain(services).await.unwrap();
}

async fn deadline_reminders_go_once_each_with_two_workers_and_a_restart(backend: Backend) {
    let app = ServiceApp::new(backend).await;
    app.clock
        .set(Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap());
    let (_, learners) = cohort(&app, 0).await;
    // bob hands in week 1 early; ada and cy do not.
    app.services
        .learning()
        .submissions()
        .submit(
            &learners[1],
            "spring",
            "lifecycle-notes",
            hand_in("Done early."),
        )
        .await
        .unwrap();
    let due = week_one_due();
    let second = Services::with_clock(
        app.db.clone(),
        Arc::clone(&app.services.settings),
        &[],
        app.clock.clone(),
    )
    .unwrap();

    // Three days before: nothing yet.
    work(&app.services, &app, due - Duration::hours(72)).await;
    for handle in ["ada", "bob", "cyd"] {
        assert_eq!(reminders(&app, handle, 48), 0);
    }

    // 47 hours before, both workers fire and drain: one 48-hour reminder each for ada
    // and cy, none for bob, who handed in, nor for the mentor.
    work(&app.services, &app, due - Duration::hours(47)).await;
    work(
        &second,
        &app,
        due - Duration::hours(47) + Duration::minutes(1),
    )
    .await;
    assert_eq!(reminders(&app, "ada", 48), 1);
    assert_eq!(reminders(&app, "cyd", 48), 1);
    assert_eq!(reminders(&app, "bob", 48), 0);
    assert_eq!(reminders(&app, "mia", 48), 0);
    let text = &app.emails_to("ada@example.com")[0];
    assert!(text.contains("2027-03-07T23:59:00+00:00"), "{text}");

    // A restart: a new process on the same database, later in the same window.
    drop(second);
    let restarted = Services::with_clock(
        app.db.clone(),
        Arc::clone(&app.services.settings),
        &[],
        app.clock.clone(),
    )
    .unwrap();
    work(&restarted, &app, due - Duration::hours(30)).await;
    assert_eq!(
        reminders(&app, "ada", 48),
        1,
        "the 48-hour reminder went once"
    );

    // cy hands in on the last day; the 24-hour reminder reaches ada only, once.
    app.clock.set(due - Duration::hours(26));
    app.services
        .learning()
        .submissions()
        .submit(
            &learners[2],
            "spring",
            "lifecycle-notes",
            hand_in("Made it."),
        )
        .await
        .unwrap();
    work(&restarted, &app, due - Duration::hours(23)).await;
    work(&app.services, &app, due - Duration::hours(22)).await;
    work(&restarted, &app, due - Duration::minutes(10)).await;
    assert_eq!(reminders(&app, "ada", 24), 1);
    assert_eq!(reminders(&app, "cyd", 24), 0);
    assert_eq!(reminders(&app, "bob", 24), 0);

    // After the deadline, and for week 2 not yet: nothing more.
    work(&app.services, &app, due + Duration::hours(1)).await;
    assert_eq!(app.emails_to("ada@example.com").len(), 2);
    let recorded: i64 = nexus_db::Exec::from(&app.db)
        .scalar(nexus_db::query("SELECT COUNT(*) FROM deadline_reminders"))
        .await
        .unwrap();
    assert_eq!(recorded, 3, "ada 48 and 24, cy 48");
}

async fn hand_ins_assignments_and_reviews_reach_the_people_concerned(backend: Backend) {
    let app = ServiceApp::new(backend).await;
    let (mia, learners) = cohort(&app, 1).await;
    let submissions = app.services.learning().submissions();
    let ada = submissions
        .submit(&learners[0], "spring", "lifecycle-notes", hand_in("Mine."))
        .await
        .unwrap();
    submissions
        .submit(&learners[1], "spring", "lifecycle-notes", hand_in("Bob's."))
        .await
        .unwrap();
    app.drain_at(Utc::now()).await;
    let mails = |handle: &str, needle: &str| {
        app.emails_to(&format!("{handle}@example.com"))
            .iter()
            .filter(|m| m.contains(needle))
            .count()
    };
    // The mentor hears of both hand-ins; ada and bob are asked to review each other.
    assert_eq!(mails("mia", "handed in"), 2);
    assert_eq!(mails("ada", "Please review"), 1);
    assert_eq!(mails("bob", "Please review"), 1);
    assert_eq!(mails("cyd", "Please review"), 0);

    let scores = vec![
        Score {
            criterion: "correctness".into(),
            score: 4.0,
            comment: String::new(),
        },
        Score {
            criterion: "clarity".into(),
            score: 2.0,
            comment: String::new(),
        },
    ];
    let review = app
        .services
        .learning()
        .reviews()
        .review(
            &mia,
            ada.id,
            ReviewInput {
                scores,
                feedback: "Clear.".into(),
                request_revision: false,
            },
        )
        .await
        .unwrap();
    // (2·4/4 + 1·2/4) / 3 = 83.33 %.
    assert_eq!(review.total, 83.33);
    app.drain_at(Utc::now()).await;
    assert_eq!(mails("ada", "has a new review"), 1);
    // Draining again sends nothing twice.
    app.drain_at(Utc::now() + Duration::hours(1)).await;
    assert_eq!(mails("ada", "has a new review"), 1);
    assert_eq!(mails("mia", "handed in"), 2);
}
