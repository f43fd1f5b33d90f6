//! The weekly learning digests on the manual clock: a mentor digest per cohort (hand-ins
//! awaiting review, learners at risk with their reasons, late work) and a learner digest
//! (deadlines ahead in the cohort's time, reviews received, reviews to do, new notes in
//! followed topics), checked word for word; one email per person and week with two
//! workers, a restart and a second fire time in the same week; a new one the next week;
//! none after opting out, after withdrawing, or once the cohort has ended; and the hub's
//! topic digest leaving out the notes a learner digest carried.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use nexus_core::config::Settings;
use nexus_core::hub::{NoteKind, NoteStatus};
use nexus_core::identity::Role;
use nexus_core::learning::{CohortRole, EnrolmentPolicy};
use nexus_service::Services;
use nexus_service::actor::AuthUser;
use nexus_service::hub::{CreateNote, CreateTopic};
use nexus_service::identity::UpdateEmailPreferences;
use nexus_service::learning::digests;
use nexus_service::learning::model::example_course;
use nexus_service::learning::{
    CourseDocument, NewCohortInput, ReviewInput, Score, SubmissionInput,
};
use nexus_service::mail::send::{EMAIL_SEND, Preference, email_payload_for};
use nexus_service::mail::templates;
use uuid::Uuid;

use crate::backend_tests;
use crate::harness::ServiceApp;
use crate::helpers::Backend;

backend_tests!(
    mentors_and_learners_get_their_week_word_for_word,
    one_digest_per_person_and_week_with_two_workers_a_restart_and_a_second_fire_time,
    opting_out_withdrawing_and_an_ended_cohort_stop_the_digests,
    reviews_to_do_list_the_open_peer_assignments,
);

fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, d, h, m, 0).unwrap()
}

/// Only the two weekly schedules, so that no deadline reminder adds mail.
async fn app(backend: Backend) -> ServiceApp {
    ServiceApp::configured(backend, &[], |s| {
        s.jobs
            .schedules
            .retain(|name, _| name == "learning_digests" || name == "weekly_digest");
    })
    .await
}

struct Fixture {
    admin: AuthUser,
    mia: AuthUser,
    ada: AuthUser,
    bob: AuthUser,
    grace: AuthUser,
}

/// The example course (`lifecycle-notes` due at the end of week 1, `error-contract` at
/// the end of week 2) run by the cohort `spring` from Monday 1 March 2027, in UTC: mia
/// mentors, ada and bob learn. grace is no member; she and ada follow the topic Rust.
async fn fixture(app: &ServiceApp) -> Fixture {
    app.clock
        .set(Utc.with_ymd_and_hms(2027, 2, 26, 9, 0, 0).unwrap());
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
                starts_on: NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(),
                timezone: "UTC".into(),
                peer_reviews: 0,
                enrolment: EnrolmentPolicy::Invite,
            },
        )
        .await
        .unwrap();
    let mia = app.user("mia", Role::Learner).await;
    let ada = app.user("ada", Role::Learner).await;
    let bob = app.user("bob", Role::Learner).await;
    let grace = app.user("grace", Role::Learner).await;
    for (handle, role) in [
        ("mia", CohortRole::Mentor),
        ("ada", CohortRole::Learner),
        ("bob", CohortRole::Learner),
    ] {
        learning
            .cohorts()
            .enrol(&admin, "spring", handle, role)
            .await
            .unwrap();
    }
    let topic = CreateTopic {
        slug: Some("rust".into()),
        title: "Rust".into(),
        description: None,
    };
    app.services
        .hub()
        .topics()
        .create(&admin, topic)
        .await
        .unwrap();
    for reader in [&ada, &grace] {
        app.services
            .hub()
            .follows()
            .follow_topic(reader, "rust")
            .await
            .unwrap();
    }
    Fixture {
        admin,
        mia,
        ada,
        bob,
        grace,
    }
}

fn hand_in(summary: &str) -> SubmissionInput {
    SubmissionInput {
        summary: summary.into(),
        links: vec![],
        notes: vec![],
        uploads: vec![],
    }
}

async fn submit(app: &ServiceApp, who: &AuthUser, deliverable: &str, now: DateTime<Utc>) -> Uuid {
    app.clock.set(now);
    app.services
        .learning()
        .submissions()
        .submit(who, "spring", deliverable, hand_in("My work."))
        .await
        .unwrap()
        .id
}

/// mia's review of a hand-in: (2·4/4 + 1·2/4) / 3 = 83.33 %.
async fn review(app: &ServiceApp, mia: &AuthUser, submission: Uuid, now: DateTime<Utc>) {
    app.clock.set(now);
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
    app.services
        .learning()
        .reviews()
        .review(
            mia,
            submission,
            ReviewInput {
                scores,
                feedback: "Clear.".into(),
                request_revision: false,
            },
        )
        .await
        .unwrap();
}

async fn publish(app: &ServiceApp, who: &AuthUser, title: &str, now: DateTime<Utc>) -> String {
    app.clock.set(now);
    let note = CreateNote {
        title: title.into(),
        kind: NoteKind::Concept,
        body_md: "Written this week.".into(),
        topics: vec!["rust".into()],
        tags: vec![],
        status: Some(NoteStatus::Published),
        problem: None,
        solution: None,
        outcome: None,
    };
    app.services
        .hub()
        .notes()
        .create(who, note)
        .await
        .unwrap()
        .slug
        .clone()
}

/// Fires the schedules and runs the due jobs of one worker, at `now`.
async fn work(services: &Services, app: &ServiceApp, now: DateTime<Utc>) {
    app.clock.set(now);
    nexus_service::jobs::worker::fire_due_schedules(services)
        .await
        .unwrap();
    nexus_service::jobs::worker::drain(services).await.unwrap();
}

/// Another process on the same database and clock, with `settings`.
fn process(app: &ServiceApp, settings: Settings) -> Services {
    Services::with_clock(app.db.clone(), Arc::new(settings), &[], app.clock.clone()).unwrap()
}

/// The plain-text body of an `.eml` as lettre writes it (7bit, quoted-printable or
/// base64), with CRLF made LF.
fn plain_text(eml: &str) -> String {
    let eml = eml.replace("\r\n", "\n");
    let start = eml
        .find("Content-Type: text/plain")
        .expect("a text/plain part");
    let part = &eml[start..];
    let (headers, rest) = part.split_once("\n\n").unwrap();
    // The part ends at the multipart's next boundary line.
    let boundary = eml
        .split("boundary=\"")
        .nth(1)
        .and_then(|b| b.split('"').next())
        .expect("a multipart boundary");
    let end = rest.find(&format!("\n--{boundary}")).unwrap_or(rest.len());
    let body = &rest[..end];
    if headers.contains("Content-Transfer-Encoding: base64") {
        use base64::Engine;
        let joined: String = body.split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(joined)
            .unwrap();
        String::from_utf8(bytes).unwrap().replace("\r\n", "\n")
    } else if headers.contains("Content-Transfer-Encoding: quoted-printable") {
        let joined = body.replace("=\n", "");
        let raw = joined.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'=' && i + 2 < raw.len() + 1 {
                let hex = std::str::from_utf8(&raw[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(raw[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    } else {
        body.to_owned()
    }
}

/// The plain-text bodies of the emails to `handle` whose subject contains `subject`.
fn mail(app: &ServiceApp, handle: &str, subject: &str) -> Vec<String> {
    app.emails_to(&format!("{handle}@example.com"))
        .iter()
        .filter(|m| {
            m.replace("\r\n", "\n")
                .lines()
                .any(|l| l.starts_with("Subject: ") && l.contains(subject))
        })
        .map(|m| plain_text(m))
        .collect()
}

fn public(app: &ServiceApp) -> String {
    app.services
        .settings
        .public_url
        .trim_end_matches('/')
        .to_owned()
}

const FOOTER: &str = "You get this digest every week. Turn it off (learning_digest) at";

async fn mentors_and_learners_get_their_week_word_for_word(backend: Backend) {
    let app = app(backend).await;
    let f = fixture(&app).await;
    let url = public(&app);

    // Monday 1 March, 07:00: the cohort's first day. Nothing has happened yet: mia's
    // digest says all clear; each learner is told of the week's deadline.
    work(&app.services, &app, at(1, 7, 0)).await;
    let mia = mail(&app, "mia", "Mentor digest: Spring (2027-W09)");
    assert_eq!(mia.len(), 1, "{mia:?}");
    assert_eq!(
        mia[0],
        format!(
            "Hello mia,\n\n\
             This is your mentor digest of Spring (spring) for 2027-W09, as of Mon 1 Mar 2027, 07:00 UTC.\n\n\
             All clear: no hand-in awaits review, nobody is at risk and no work is late.\n\n\
             Awaiting your review (0)\nNone.\n\n\
             At risk (0)\nNone.\n\n\
             Late work (0)\nNone.\n\n\
             {FOOTER} {url}/settings/email.\n\n\
             -- \nNexus\n"
        )
    );
    let bob = mail(&app, "bob", "Your learning digest (2027-W09)");
    assert_eq!(
        bob,
        [format!(
            "Hello bob,\n\n\
             This is your learning digest for 2027-W09.\n\n\
             Deadlines in the next 7 days (1)\n\
             - Lifecycle notes (spring): due Sun 7 Mar 2027, 23:59 UTC \u{2014} {url}/cohorts/spring/deliverables/lifecycle-notes\n\n\
             Reviews received (0)\nNone.\n\n\
             Reviews to do (0)\nNone.\n\n\
             0 new notes in topics you follow\nNone.\n\n\
             {FOOTER} {url}/settings/email.\n\n\
             -- \nNexus\n"
        )]
    );
    assert_eq!(
        mail(&app, "ada", "Your learning digest (2027-W09)").len(),
        1
    );
    assert!(
        mail(&app, "grace", "learning digest").is_empty(),
        "no member"
    );
    assert!(
        mail(&app, "root", "digest").is_empty(),
        "admins are no members"
    );

    // The week: ada hands in week 1 on time, grace publishes a note on Rust, mia reviews
    // ada's hand-in, ada hands in week 2 early. bob hands in nothing.
    let lifecycle = submit(&app, &f.ada, "lifecycle-notes", at(4, 10, 0)).await;
    let slug = publish(&app, &f.grace, "Ownership in practice", at(5, 12, 0)).await;
    review(&app, &f.mia, lifecycle, at(6, 9, 0)).await;
    let contract = submit(&app, &f.ada, "error-contract", at(7, 12, 0)).await;
    // The notifications of the week go out as they happen; the digests come on Monday.
    app.drain_at(at(7, 12, 1)).await;

    // Monday 8 March, 07:00.
    work(&app.services, &app, at(8, 7, 0)).await;
    let mia = mail(&app, "mia", "Mentor digest: Spring (2027-W10)");
    assert_eq!(
        mia,
        [format!(
            "Hello mia,\n\n\
             This is your mentor digest of Spring (spring) for 2027-W10, as of Mon 8 Mar 2027, 07:00 UTC.\n\n\
             Awaiting your review (1)\n\
             - ada: An error contract, revision 1, handed in Sun 7 Mar 2027, 12:00 UTC \u{2014} {url}/cohorts/spring/submissions/{contract}\n\n\
             At risk (1)\n\
             - bob: missed_deadline (`lifecycle-notes` was due 2027-03-07T23:59:00+00:00 and has not been handed in)\n\n\
             Late work (1)\n\
             - Lifecycle notes, due Sun 7 Mar 2027, 23:59 UTC: not handed in by bob\n\n\
             {FOOTER} {url}/settings/email.\n\n\
             -- \nNexus\n"
        )]
    );
    let ada = mail(&app, "ada", "Your learning digest (2027-W10)");
    assert_eq!(
        ada,
        [format!(
            "Hello ada,\n\n\
             This is your learning digest for 2027-W10.\n\n\
             Deadlines in the next 7 days (1)\n\
             - An error contract (spring): due Sun 14 Mar 2027, 23:59 UTC (handed in) \u{2014} {url}/cohorts/spring/deliverables/error-contract\n\n\
             Reviews received (1)\n\
             - Lifecycle notes (spring), revision 1: a mentor scored it 83.33/100 \u{2014} {url}/cohorts/spring/submissions/{lifecycle}\n\n\
             Reviews to do (0)\nNone.\n\n\
             1 new note in topics you follow\n\
             - [Rust] Ownership in practice \u{2014} {url}/notes/{slug}\n\n\
             {FOOTER} {url}/settings/email.\n\n\
             -- \nNexus\n"
        )]
    );
    let bob = mail(&app, "bob", "Your learning digest (2027-W10)");
    assert_eq!(bob.len(), 1);
    assert!(
        bob[0].contains("- An error contract (spring): due Sun 14 Mar 2027, 23:59 UTC \u{2014}"),
        "{}",
        bob[0]
    );

    // 08:00, the hub's topic digest: grace gets the note; ada, whose learner digest
    // carried it, gets no second copy.
    work(&app.services, &app, at(8, 8, 0)).await;
    let grace = mail(&app, "grace", "Your weekly Nexus digest");
    assert_eq!(grace.len(), 1);
    assert!(grace[0].contains("Ownership in practice"), "{}", grace[0]);
    assert!(mail(&app, "ada", "Your weekly Nexus digest").is_empty());
    let copies = app
        .emails_to("ada@example.com")
        .iter()
        .filter(|m| plain_text(m).contains("Ownership in practice"))
        .count();
    assert_eq!(copies, 1, "the note reached ada once");
}

async fn one_digest_per_person_and_week_with_two_workers_a_restart_and_a_second_fire_time(
    backend: Backend,
) {
    let app = app(backend).await;
    let f = fixture(&app).await;
    let second = process(&app, (*app.services.settings).clone());
    let count = |handle: &str, week: &str| {
        mail(&app, handle, &format!("Mentor digest: Spring ({week})")).len()
            + mail(&app, handle, &format!("Your learning digest ({week})")).len()
    };

    // Both workers see Monday 07:00 and drain, one after the other and again.
    work(&app.services, &app, at(8, 7, 0)).await;
    work(&second, &app, at(8, 7, 0) + Duration::seconds(30)).await;
    work(&app.services, &app, at(8, 7, 1)).await;
    for handle in ["mia", "ada", "bob"] {
        assert_eq!(count(handle, "2027-W10"), 1, "{handle}");
    }

    // A restart later that morning, with the schedule moved to 07:30: the same week
    // fires again under a new fire time, and its jobs run again; nobody gets a second.
    drop(second);
    let mut moved = (*app.services.settings).clone();
    moved
        .jobs
        .schedules
        .insert("learning_digests".into(), "0 30 7 * * Mon".into());
    let restarted = process(&app, moved);
    work(&restarted, &app, at(8, 7, 45)).await;
    let fanouts: i64 = nexus_db::Exec::from(&app.db)
        .scalar(nexus_db::query(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'learning.digests'",
        ))
        .await
        .unwrap();
    assert_eq!(fanouts, 2, "the week fired under both fire times");
    // A digest job retried after its email was queued (a crash before the job's outcome
    // was recorded) finds the week recorded.
    for (job, id) in [
        (digests::MENTOR_DIGEST, app_cohort(&app).await),
        (digests::LEARNER_DIGEST, f.ada.id),
    ] {
        restarted
            .queue
            .enqueue(
                job,
                &serde_json::json!({"id": id, "since": at(1, 7, 0), "fire": at(8, 7, 0)}),
                &nexus_service::jobs::EnqueueOptions::default(),
            )
            .await
            .unwrap();
    }
    work(&restarted, &app, at(8, 9, 0)).await;
    for handle in ["mia", "ada", "bob"] {
        assert_eq!(count(handle, "2027-W10"), 1, "{handle} still has one");
    }
    let recorded: i64 = nexus_db::Exec::from(&app.db)
        .scalar(nexus_db::query(
            "SELECT COUNT(*) FROM digests_sent WHERE period = '2027-W10' AND kind <> 'topics'",
        ))
        .await
        .unwrap();
    assert_eq!(recorded, 3, "mia's for spring, ada's and bob's");

    // bob hands in week 1 late on Tuesday and mia reviews it on Wednesday. The next
    // Monday brings mia and bob a new digest, and mia's names the late hand-in. ada has
    // no deadline ahead, no review and nothing to review: nothing to say, no email.
    let late = submit(&app, &f.bob, "lifecycle-notes", at(9, 10, 0)).await;
    review(&app, &f.mia, late, at(10, 10, 0)).await;
    work(&restarted, &app, at(15, 7, 30)).await;
    for handle in ["mia", "bob"] {
        assert_eq!(count(handle, "2027-W11"), 1, "{handle}");
        assert_eq!(count(handle, "2027-W10"), 1, "{handle}");
    }
    assert_eq!(count("ada", "2027-W11"), 0);
    let url = public(&app);
    let bob = &mail(&app, "bob", "Your learning digest (2027-W11)")[0];
    assert!(
        bob.contains(&format!(
            "Reviews received (1)\n\
             - Lifecycle notes (spring), revision 1: a mentor scored it 83.33/100 \u{2014} {url}/cohorts/spring/submissions/{late}\n"
        )),
        "{bob}"
    );
    let mia = &mail(&app, "mia", "Mentor digest: Spring (2027-W11)")[0];
    assert!(
        mia.contains(&format!(
            "Late work (2)\n\
             - bob handed in Lifecycle notes late (revision 1) on Tue 9 Mar 2027, 10:00 UTC \u{2014} {url}/cohorts/spring/submissions/{late}\n\
             - An error contract, due Sun 14 Mar 2027, 23:59 UTC: not handed in by ada, bob\n"
        )),
        "{mia}"
    );
    assert!(mia.contains("Awaiting your review (0)\nNone.\n"), "{mia}");
    assert!(
        mia.contains("- bob: missed_deadline (`error-contract`"),
        "{mia}"
    );
    let _ = f.admin;
}

/// The cohort's id, read as a job would name it.
async fn app_cohort(app: &ServiceApp) -> Uuid {
    nexus_db::cohorts::cohort_by_slug(&app.db, "spring")
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn opting_out_withdrawing_and_an_ended_cohort_stop_the_digests(backend: Backend) {
    let app = app(backend).await;
    let f = fixture(&app).await;
    let accounts = app.services.identity().accounts();
    let off = || UpdateEmailPreferences {
        notifications: None,
        digest: None,
        learning_digest: Some(false),
    };
    // mia turns the learning digests off; bob withdraws; ada keeps hers but turns the
    // topic digest off, so her digest has no notes section and claims no topics.
    accounts
        .update_email_preferences(&f.mia, off())
        .await
        .unwrap();
    app.services
        .learning()
        .cohorts()
        .withdraw(&f.bob, "spring", "bob")
        .await
        .unwrap();
    accounts
        .update_email_preferences(
            &f.ada,
            UpdateEmailPreferences {
                notifications: None,
                digest: Some(false),
                learning_digest: None,
            },
        )
        .await
        .unwrap();
    publish(&app, &f.grace, "Borrowing", at(3, 9, 0)).await;
    work(&app.services, &app, at(8, 7, 0)).await;
    assert!(
        mail(&app, "mia", "Mentor digest").is_empty(),
        "mia opted out"
    );
    assert!(
        mail(&app, "bob", "learning digest").is_empty(),
        "bob withdrew"
    );
    let ada = mail(&app, "ada", "Your learning digest (2027-W10)");
    assert_eq!(ada.len(), 1);
    assert!(!ada[0].contains("topics you follow"), "{}", ada[0]);
    assert!(!ada[0].contains("Borrowing"), "{}", ada[0]);

    // An opt-out after a digest was queued still holds: the email job reads it when
    // it runs.
    accounts
        .update_email_preferences(&f.ada, off())
        .await
        .unwrap();
    let queued = templates::notice("ada@example.com", "Queued learning digest", &[]);
    app.services
        .queue
        .enqueue(
            EMAIL_SEND,
            &email_payload_for(queued, f.ada.id, Preference::LearningDigest),
            &Default::default(),
        )
        .await
        .unwrap();
    app.drain_at(at(8, 9, 0)).await;
    assert!(mail(&app, "ada", "Queued learning digest").is_empty());

    // ada turns it back on, hands in week 1 late and mia reviews it: the cohort's last
    // Monday (its last day was Sunday 14 March) brings ada one more digest; the Monday
    // after, the cohort has ended and brings none.
    accounts
        .update_email_preferences(
            &f.ada,
            UpdateEmailPreferences {
                notifications: None,
                digest: None,
                learning_digest: Some(true),
            },
        )
        .await
        .unwrap();
    let work1 = submit(&app, &f.ada, "lifecycle-notes", at(9, 9, 0)).await;
    review(&app, &f.mia, work1, at(10, 9, 0)).await;
    work(&app.services, &app, at(15, 7, 0)).await;
    assert_eq!(
        mail(&app, "ada", "Your learning digest (2027-W11)").len(),
        1
    );
    assert_eq!(
        mail(&app, "mia", "Mentor digest: Spring (2027-W11)").len(),
        0,
        "mia is still opted out"
    );
    accounts
        .update_email_preferences(
            &f.mia,
            UpdateEmailPreferences {
                notifications: None,
                digest: None,
                learning_digest: Some(true),
            },
        )
        .await
        .unwrap();
    work(&app.services, &app, at(22, 7, 0)).await;
    work(&app.services, &app, at(29, 7, 0)).await;
    for handle in ["mia", "ada", "bob"] {
        assert!(
            mail(&app, handle, "2027-W12").is_empty(),
            "{handle}: the cohort ended"
        );
        assert!(
            mail(&app, handle, "2027-W13").is_empty(),
            "{handle}: the cohort ended"
        );
    }
    let _ = &f.grace;
}

/// A second cohort of the course with one peer review per hand-in: ada hands in first,
/// bob second, so each reviews the other; ada reviews bob's at once, so only bob's
/// digest lists a review to do.
async fn reviews_to_do_list_the_open_peer_assignments(backend: Backend) {
    let app = app(backend).await;
    let f = fixture(&app).await;
    let url = public(&app);
    let learning = app.services.learning();
    learning
        .cohorts()
        .create(
            &f.admin,
            NewCohortInput {
                slug: "peers".into(),
                title: "Peers".into(),
                course: "intro-backend".into(),
                course_version: None,
                starts_on: NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(),
                timezone: "UTC".into(),
                peer_reviews: 1,
                enrolment: EnrolmentPolicy::Invite,
            },
        )
        .await
        .unwrap();
    for handle in ["ada", "bob"] {
        learning
            .cohorts()
            .enrol(&f.admin, "peers", handle, CohortRole::Learner)
            .await
            .unwrap();
    }
    app.clock.set(at(3, 10, 0));
    let submissions = learning.submissions();
    let ada_work = submissions
        .submit(&f.ada, "peers", "lifecycle-notes", hand_in("Ada's notes."))
        .await
        .unwrap()
        .id;
    app.clock.set(at(3, 11, 0));
    let bob_work = submissions
        .submit(&f.bob, "peers", "lifecycle-notes", hand_in("Bob's notes."))
        .await
        .unwrap()
        .id;
    let score = |criterion: &str| Score {
        criterion: criterion.into(),
        score: 3.0,
        comment: String::new(),
    };
    learning
        .reviews()
        .review(
            &f.ada,
            bob_work,
            ReviewInput {
                scores: vec![score("correctness"), score("clarity")],
                feedback: "Clear.".into(),
                request_revision: false,
            },
        )
        .await
        .unwrap();

    work(&app.services, &app, at(8, 7, 0)).await;
    let bob = mail(&app, "bob", "Your learning digest (2027-W10)");
    assert_eq!(bob.len(), 1, "{bob:?}");
    assert!(
        bob[0].contains(&format!(
            "Reviews to do (1)\n\
             - Lifecycle notes (peers), assigned Wed 3 Mar 2027 \u{2014} {url}/cohorts/peers/submissions/{ada_work}\n"
        )),
        "{}",
        bob[0]
    );
    // bob also hears of ada's peer review of his work.
    assert!(
        bob[0].contains("Lifecycle notes (peers), revision 1: a peer scored it 75/100"),
        "{}",
        bob[0]
    );
    let ada = mail(&app, "ada", "Your learning digest (2027-W10)");
    assert_eq!(ada.len(), 1, "{ada:?}");
    assert!(ada[0].contains("Reviews to do (0)\nNone.\n"), "{}", ada[0]);
}
