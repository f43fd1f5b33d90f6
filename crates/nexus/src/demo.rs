//! `nexus seed --demo`: a cohort in its sixth week to explore, on an empty database.
//!
//! The shipped course (`courses/scalable-architectures`), the cohort `demo-cohort` that
//! started 32 days ago in Europe/Berlin (in its fifth week, weeks 1-4 over), an admin, two mentors and twelve learners
//! (six back-end, six front-end) who published notes in the hub and handed in weeks 1-4,
//! with peer and mentor reviews, retrospectives and ledger items; one learner, `sam`,
//! fell behind and is at risk. Eleven learners have open collaboration profiles; ada and
//! fatima build together, and ada's portfolio is public. Everything goes through the use cases, on a clock that
//! walks the five weeks, so timestamps, late flags, peer assignments and progress are
//! what real use would have made. The same data on every run: names, scores and texts
//! come from the tables below, not from a random source.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Days, Duration, NaiveDate, TimeZone, Utc};
use nexus_core::config::Settings;
use nexus_core::hub::NoteKind;
use nexus_core::identity::{Role, Track};
use nexus_core::learning::{AssignmentStatus, CohortRole, EnrolmentPolicy, LedgerKind, Severity};
use nexus_core::learning::{CollaborationTrack, Visibility};
use nexus_db::Db;
use nexus_service::Services;
use nexus_service::actor::{AuthUser, Credential};
use nexus_service::clock::Clock;
use nexus_service::hub::{CreateNote, CreateTopic};
use nexus_service::identity::UpdateMe;
use nexus_service::learning::{
    CollaborationInput, CourseFiles, EntryInput, LedgerInput, NewCohortInput, PortfolioInput,
    ProfileInput, RetrospectiveInput, ReviewInput, Score, SubmissionInput, SubmissionLink,
};
use uuid::Uuid;

/// The password of every demo account (`{handle}@demo.example.com`).
pub const DEMO_PASSWORD: &str = "nexus demo password";
pub const COHORT: &str = "demo-cohort";

/// The learners: handle, name, track, and the level their work is reviewed at (0-4).
const LEARNERS: [(&str, &str, Track, f64); 12] = [
    ("ada", "Ada Okafor", Track::Backend, 3.6),
    ("bruno", "Bruno Silva", Track::Backend, 3.0),
    ("chen", "Chen Wei", Track::Backend, 2.8),
    ("dara", "Dara Nolan", Track::Backend, 3.3),
    ("emeka", "Emeka Obi", Track::Backend, 2.5),
    ("sam", "Sam Keller", Track::Backend, 1.2),
    ("fatima", "Fatima Zahra", Track::Frontend, 3.4),
    ("gus", "Gus Lindqvist", Track::Frontend, 2.9),
    ("hana", "Hana Sato", Track::Frontend, 3.1),
    ("ivan", "Ivan Petrov", Track::Frontend, 2.6),
    ("jade", "Jade Martin", Track::Frontend, 3.8),
    ("kofi", "Kofi Mensah", Track::Frontend, 2.7),
];

/// The learner who falls behind: low scores, then no hand-ins or retrospectives.
const AT_RISK: &str = "sam";

const TOPICS: [(&str, &str); 4] = [
    ("backend-architecture", "Backend architecture"),
    ("api-design", "API design"),
    ("caching", "Caching"),
    ("frontend-integration", "Frontend integration"),
];

/// The weekly deliverables of weeks 1-4 of the shipped course.
const DELIVERABLES: [&str; 4] = [
    "request-lifecycle-map",
    "resource-model",
    "error-contract",
    "concurrency-report",
];

/// What `seed --demo` made, for the operator's summary.
pub struct Summary {
    pub cohort: String,
    pub learners: Vec<String>,
    pub mentors: Vec<String>,
}

/// The email of a demo account.
pub fn email(handle: &str) -> String {
    format!("{handle}@demo.example.com")
}

pub async fn run(db: Db, settings: Arc<Settings>, course_dir: &Path) -> anyhow::Result<Summary> {
    let files = CourseFiles::from_dir(course_dir).map_err(|e| {
        anyhow::anyhow!(
            "reading the course folder {}: {}",
            course_dir.display(),
            e.public_detail()
        )
    })?;
    let today = Utc::now().date_naive();
    // Four and a half weeks ago: weeks 1-4 have ended, week 5 is not due yet.
    let starts_on = today
        .checked_sub_days(Days::new(32))
        .ok_or_else(|| anyhow::anyhow!("no date 32 days before today"))?;
    let clock = Clock::manual(at(starts_on, -3, 9));
    let services = Services::with_clock(db.clone(), settings, &[], clock.clone())?;
    anyhow::ensure!(
        nexus_db::identity::user_by_handle(&db, "demo-admin")
            .await?
            .is_none(),
        "this database already holds the demo; seed a fresh one"
    );
    let fail = |what: &str| {
        let what = what.to_owned();
        move |e: nexus_core::AppError| anyhow::anyhow!("{what}: {}", e.public_detail())
    };

    let admin = account(&services, "demo-admin", "Demo Admin", Role::Admin, None).await?;
    let mentors = [
        account(&services, "mia", "Mia Hoffmann", Role::Learner, None).await?,
        account(&services, "max", "Max Dubois", Role::Learner, None).await?,
    ];
    let mut learners = Vec::new();
    for (handle, name, track, _) in LEARNERS {
        learners.push(account(&services, handle, name, Role::Learner, Some(track)).await?);
    }

    let learning = services.learning();
    let course = learning
        .courses()
        .import(&admin, files)
        .await
        .map_err(fail("importing the course"))?
        .course
        .document
        .slug;
    learning
        .cohorts()
        .create(
            &admin,
            NewCohortInput {
                slug: COHORT.into(),
                title: "Scalable architectures, demo cohort".into(),
                course,
                course_version: None,
                starts_on,
                timezone: "Europe/Berlin".into(),
                peer_reviews: 2,
                enrolment: EnrolmentPolicy::Open,
            },
        )
        .await
        .map_err(fail("creating the cohort"))?;
    for m in &mentors {
        learning
            .cohorts()
            .enrol(&admin, COHORT, &m.handle, CohortRole::Mentor)
            .await
            .map_err(fail("enrolling a mentor"))?;
    }
    for l in &learners {
        learning
            .cohorts()
            .join(l, COHORT)
            .await
            .map_err(fail("joining the cohort"))?;
    }
    for (slug, title) in TOPICS {
        services
            .hub()
            .topics()
            .create(
                &admin,
                CreateTopic {
                    slug: Some(slug.into()),
                    title: title.into(),
                    description: None,
                },
            )
            .await
            .map_err(fail("creating a topic"))?;
    }

    // Week 1 starts: every learner publishes a note the hand-ins cite; sam logs a risk he
    // never closes.
    clock.set(at(starts_on, 1, 10));
    let mut notes = Vec::new();
    for (i, l) in learners.iter().enumerate() {
        let (_, name, track, _) = LEARNERS[i];
        notes.push(publish_note(&services, l, name, track).await?);
    }
    learning
        .ledger()
        .create(
            &learners[index(AT_RISK)],
            LedgerInput {
                kind: LedgerKind::Risk,
                title: "No load test for the request path".into(),
                detail: "Latency budgets are guesses until a load test measures them.".into(),
                severity: Severity::High,
                week: 1,
                cohort: Some(COHORT.into()),
            },
        )
        .await
        .map_err(fail("logging a risk"))?;

    let mut ada_work = Vec::new();
    for (w, deliverable) in DELIVERABLES.iter().enumerate() {
        let week = u32::try_from(w + 1)?;
        let first_day = i64::try_from(w * 7)?;
        clock.set(at(starts_on, first_day + 3, 11));
        let mut handed_in = Vec::new();
        for (i, l) in learners.iter().enumerate() {
            if l.handle == AT_RISK && week >= 3 {
                continue;
            }
            let view = learning
                .submissions()
                .submit(l, COHORT, deliverable, hand_in(&l.handle, week, &notes[i]))
                .await
                .map_err(fail("handing in"))?;
            handed_in.push((i, view.id));
        }
        ada_work.push(handed_in[index("ada")].1);
        // Peers review what they were assigned, then the mentors review everything.
        clock.set(at(starts_on, first_day + 5, 15));
        for l in &learners {
            let open = learning
                .submissions()
                .my_assignments(l, Some(AssignmentStatus::Open), Some(100), None)
                .await
                .map_err(fail("listing assignments"))?;
            for a in open.items {
                let author = handed_in
                    .iter()
                    .find(|(_, id)| *id == a.submission)
                    .map_or(2.5, |(i, _)| LEARNERS[*i].3);
                learning
                    .reviews()
                    .review(l, a.submission, review(author + 0.3, week, false))
                    .await
                    .map_err(fail("a peer review"))?;
            }
        }
        clock.set(at(starts_on, first_day + 6, 17));
        for (i, id) in &handed_in {
            let mentor = &mentors[i % 2];
            learning
                .reviews()
                .review(mentor, *id, review(LEARNERS[*i].3, week, true))
                .await
                .map_err(fail("a mentor review"))?;
        }
        // Retrospectives at the week's end (sam stops writing them after week 2).
        clock.set(at(starts_on, first_day + 6, 20));
        for l in &learners {
            if l.handle == AT_RISK && week >= 2 {
                continue;
            }
            learning
                .retrospectives()
                .put(
                    l,
                    COHORT,
                    week,
                    RetrospectiveInput {
                        retain: format!("Writing the week {week} evidence down before the review."),
                        improve: "Start the measurements earlier in the week.".into(),
                        scale: "Put the slow path behind a queue before the traffic doubles."
                            .into(),
                    },
                )
                .await
                .map_err(fail("a retrospective"))?;
        }
    }
    collaborate(&services, &learners).await?;
    // ada publishes her portfolio: her four reviewed hand-ins and the collaboration.
    learning
        .portfolios()
        .put(
            &learners[index("ada")],
            PortfolioInput {
                visibility: Visibility::Public,
                headline: "Back-end learner: request paths, resource models, error contracts"
                    .into(),
                bio: "Building services that say what went wrong and how long it took.".into(),
                entries: ada_work
                    .iter()
                    .enumerate()
                    .map(|(w, id)| EntryInput {
                        submission: *id,
                        narrative: format!(
                            "Week {}: what I built, what the review changed, what I measured.",
                            w + 1
                        ),
                        visibility: Visibility::Public,
                    })
                    .collect(),
            },
        )
        .await
        .map_err(fail("ada's portfolio"))?;
    Ok(Summary {
        cohort: COHORT.into(),
        learners: learners.iter().map(|l| l.handle.clone()).collect(),
        mentors: mentors.iter().map(|m| m.handle.clone()).collect(),
    })
}

/// Open collaboration profiles for every learner but sam, and one accepted pair: ada
/// (back end) builds with fatima (front end).
async fn collaborate(services: &Services, learners: &[AuthUser]) -> anyhow::Result<()> {
    let collaboration = services.learning().collaboration();
    for (i, l) in learners.iter().enumerate() {
        if l.handle == AT_RISK {
            continue;
        }
        let frontend = LEARNERS[i].2 == Track::Frontend;
        collaboration
            .put_profile(
                l,
                ProfileInput {
                    track: if frontend {
                        CollaborationTrack::Frontend
                    } else {
                        CollaborationTrack::Backend
                    },
                    stack: if frontend {
                        vec!["typescript".into(), "react".into()]
                    } else {
                        vec!["rust".into(), "postgresql".into()]
                    },
                    topics: vec![if frontend {
                        "frontend-integration".into()
                    } else {
                        "backend-architecture".into()
                    }],
                    weekly_hours: 4 + u32::try_from(i % 4)?,
                    timezone: "Europe/Berlin".into(),
                    looking_for: "A partner for the capstone.".into(),
                    open: true,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("profile of {}: {}", l.handle, e.public_detail()))?;
    }
    let request = collaboration
        .request(
            &learners[index("ada")],
            CollaborationInput {
                partner: "fatima".into(),
                project_title: "Course catalogue with a cached API".into(),
                message: "I build the API and its cache; you build the pages?".into(),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("ada's request: {}", e.public_detail()))?;
    collaboration
        .accept(&learners[index("fatima")], request.id)
        .await
        .map_err(|e| anyhow::anyhow!("fatima's answer: {}", e.public_detail()))?;
    Ok(())
}

/// Midnight of `day` (plus `days`) at `hour` UTC.
fn at(day: NaiveDate, days: i64, hour: u32) -> DateTime<Utc> {
    let base = Utc
        .from_utc_datetime(&day.and_hms_opt(hour, 0, 0).unwrap_or_default())
        .to_utc();
    base + Duration::days(days)
}

fn index(handle: &str) -> usize {
    LEARNERS
        .iter()
        .position(|l| l.0 == handle)
        .unwrap_or_default()
}

async fn account(
    services: &Services,
    handle: &str,
    name: &str,
    role: Role,
    track: Option<Track>,
) -> anyhow::Result<AuthUser> {
    let id = services
        .identity()
        .operator()
        .create_user(
            &email(handle),
            handle,
            Some(name),
            DEMO_PASSWORD.to_owned(),
            role,
        )
        .await
        .map_err(|e| anyhow::anyhow!("creating {handle}: {}", e.public_detail()))?;
    let user = AuthUser {
        id,
        handle: handle.to_owned(),
        role,
        verified: true,
        credential: Credential::Session(Uuid::nil()),
    };
    if track.is_some() {
        services
            .identity()
            .accounts()
            .update_me(
                &user,
                UpdateMe {
                    display_name: None,
                    bio: None,
                    track,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("profile of {handle}: {}", e.public_detail()))?;
    }
    Ok(user)
}

/// A published note of the learner's, by track; its slug.
async fn publish_note(
    services: &Services,
    who: &AuthUser,
    name: &str,
    track: Track,
) -> anyhow::Result<String> {
    let (title, topic, body) = match track {
        Track::Frontend => (
            format!("How a page waits for the API, by {name}"),
            "frontend-integration",
            "A page that renders before its data arrives needs three states: loading, \
             loaded and failed. Each request carries a timeout shorter than the user's \
             patience, and a retry only for idempotent calls.\n\n## What I measured\n\n\
             Time to first byte of the list call, cold and warm cache.",
        ),
        _ => (
            format!("The life of a request, by {name}"),
            "backend-architecture",
            "From the socket to the handler and back: the load balancer, the router, the \
             middleware, the service and the database each spend part of the latency \
             budget and each can fail on its own.\n\n## Where time went\n\n\
             Most of it in the database round trip; the rest in JSON encoding.",
        ),
    };
    let note = services
        .hub()
        .notes()
        .create(
            who,
            CreateNote {
                title,
                kind: NoteKind::Concept,
                body_md: body.to_owned(),
                topics: vec![topic.to_owned()],
                tags: vec!["week-1".to_owned()],
                status: None,
                problem: None,
                solution: None,
                outcome: None,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("a note of {}: {}", who.handle, e.public_detail()))?;
    Ok(note.slug.clone())
}

fn hand_in(handle: &str, week: u32, note: &str) -> SubmissionInput {
    SubmissionInput {
        summary: format!(
            "Week {week}: the deliverable, its measurements and what changed after review."
        ),
        links: vec![SubmissionLink {
            url: format!("https://github.com/{handle}/scalable-architectures-week-{week}"),
            label: "Repository".into(),
        }],
        notes: vec![note.to_owned()],
        uploads: vec![],
    }
}

/// A review around `level` (0-4): scores drift by week so trends are not flat.
fn review(level: f64, week: u32, mentor: bool) -> ReviewInput {
    let drift = [0.0, 0.4, -0.3, 0.2][usize::try_from(week - 1).unwrap_or(0) % 4];
    let score = |offset: f64| (level + drift + offset).clamp(0.0, 4.0).round();
    let criterion = |key: &str, offset: f64| Score {
        criterion: key.into(),
        score: score(offset),
        comment: String::new(),
    };
    ReviewInput {
        scores: vec![
            criterion("correctness", 0.0),
            criterion("evidence", -0.2),
            criterion("reasoning", 0.1),
            criterion("communication", 0.3),
        ],
        feedback: if mentor {
            "Clear structure; back the latency claims with the load test numbers.".into()
        } else {
            "Easy to follow. I would add the failure modes of the cache.".into()
        },
        request_revision: false,
    }
}
