//! The services' clock reaches the use cases: what they stamp on a row is the clock's
//! time, and what they compare with a stored time (a session's or a token's expiry, a
//! login lock-out) is compared with the clock's time. The clock stands years away from
//! the system time, so a stamp or a check on the system time cannot pass.

use chrono::{DateTime, Duration, TimeZone, Utc};
use nexus_core::AppError;
use nexus_core::hub::{NoteKind, NoteStatus};
use nexus_core::identity::Role;
use nexus_service::actor::{AuthUser, Credential};
use nexus_service::hub::discussion::CreateComment;
use nexus_service::hub::{CreateNote, CreateTopic, UpdateNote};
use nexus_service::identity::{
    Client, CreateToken, LoginRequest, RefreshRequest, TokenPair, TokenScope,
};

use crate::backend_tests;
use crate::harness::ServiceApp;
use crate::helpers::Backend;

backend_tests!(
    notes_comments_and_accounts_carry_the_clocks_time,
    sessions_and_tokens_expire_by_the_clock,
    a_login_lock_out_ends_when_the_clock_passes_it,
);

/// Whole seconds (PostgreSQL keeps microseconds), far from any test run's real time.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2031, 5, 4, 10, 0, 0).unwrap()
}

fn client() -> Client {
    Client {
        ip: [127, 0, 0, 1].into(),
    }
}

async fn notes_comments_and_accounts_carry_the_clocks_time(backend: Backend) {
    let app = ServiceApp::new(backend).await;
    app.clock.set(t0());
    let admin = app.user("root", Role::Admin).await;
    let me = app.services.identity().accounts().me(&admin).await.unwrap();
    assert_eq!((me.created_at, me.updated_at), (t0(), t0()), "operator");

    let hub = app.services.hub();
    let topic = hub
        .topics()
        .create(
            &admin,
            CreateTopic {
                slug: Some("rust".into()),
                title: "Rust".into(),
                description: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(topic.created_at, t0());

    let written = t0() + Duration::hours(1);
    app.clock.set(written);
    let note = hub
        .notes()
        .create(
            &admin,
            CreateNote {
                title: "Ownership".into(),
                kind: NoteKind::Concept,
                body_md: "Values have one owner.".into(),
                topics: vec!["rust".into()],
                tags: vec![],
                status: Some(NoteStatus::Published),
                problem: None,
                solution: None,
                outcome: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (note.created_at, note.updated_at, note.published_at),
        (written, written, Some(written))
    );

    let commented = written + Duration::minutes(30);
    app.clock.set(commented);
    let comment = hub
        .comments()
        .create(
            &admin,
            &note.slug,
            CreateComment {
                body_md: "And borrowing?".into(),
                parent_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (comment.created_at, comment.updated_at),
        (commented, commented)
    );

    // An edit a day later moves `updated_at` to the clock and leaves `created_at`.
    let edited = written + Duration::days(1);
    app.clock.set(edited);
    let changed = hub
        .notes()
        .update(
            &admin,
            &note.slug,
            Some(note.version),
            UpdateNote {
                title: Some("Ownership and borrowing".into()),
                kind: None,
                body_md: None,
                topics: None,
                tags: None,
                status: None,
                problem: None,
                solution: None,
                outcome: None,
                message: None,
            },
        )
        .await
        .unwrap();
    assert_eq!((changed.created_at, changed.updated_at), (written, edited));
}

async fn sessions_and_tokens_expire_by_the_clock(backend: Backend) {
    let app = ServiceApp::new(backend).await;
    app.clock.set(t0());
    let ada = app.user("ada", Role::Learner).await;
    let sessions = app.services.identity().sessions();
    let pair = sessions
        .login(
            LoginRequest {
                email: "ada@example.com".into(),
                password: "a long enough password".into(),
            },
            client(),
        )
        .await
        .unwrap();
    let session = sessions.authenticate(&pair.access_token).await.unwrap();
    assert_eq!(session.id, ada.id);

    // The session lives `refresh_token_ttl_days` from its sign-in, by the clock; a
    // rotation within it does not extend it.
    let ttl =
        Duration::days(i64::try_from(app.services.settings.auth.refresh_token_ttl_days).unwrap());
    app.clock.set(t0() + ttl - Duration::seconds(1));
    let rotated = sessions
        .refresh(RefreshRequest {
            refresh_token: pair.refresh_token,
        })
        .await
        .unwrap();
    sessions.authenticate(&rotated.access_token).await.unwrap();
    app.clock.set(t0() + ttl);
    // The access token itself is still valid (its `exp` is on the system time); the
    // session behind it has ended by the clock.
    assert!(
        matches!(
            sessions.authenticate(&rotated.access_token).await,
            Err(AppError::Unauthenticated(_))
        ),
        "the session ended at its expiry by the clock"
    );
    assert!(matches!(
        sessions
            .refresh(RefreshRequest {
                refresh_token: rotated.refresh_token,
            })
            .await,
        Err(AppError::Unauthenticated(_))
    ));

    // A personal access token made at the clock's time expires a day later by it, and
    // its last use is the clock's time.
    let made = t0() + Duration::days(100);
    app.clock.set(made);
    let created = app
        .services
        .identity()
        .tokens()
        .create(
            &ada,
            CreateToken {
                name: "script".into(),
                scope: TokenScope::Read,
                expires_in_days: Some(1),
            },
        )
        .await
        .unwrap();
    assert_eq!(created.info.created_at, made);
    assert_eq!(created.info.expires_at, Some(made + Duration::days(1)));
    let used = made + Duration::days(1) - Duration::seconds(1);
    app.clock.set(used);
    let by_token = sessions.authenticate(&created.token).await.unwrap();
    assert!(matches!(by_token.credential, Credential::Token { .. }));
    let listed = app.services.identity().tokens().list(&ada).await.unwrap();
    assert_eq!(listed[0].last_used_at, Some(used));
    app.clock.set(made + Duration::days(1));
    assert!(
        matches!(
            sessions.authenticate(&created.token).await,
            Err(AppError::Unauthenticated(_))
        ),
        "the token expired by the clock"
    );
}

async fn a_login_lock_out_ends_when_the_clock_passes_it(backend: Backend) {
    let app = ServiceApp::configured(backend, &[], |s| {
        s.auth.login_failures_before_lockout = 2;
        s.auth.login_lockout_secs = 60;
    })
    .await;
    app.clock.set(t0());
    let ada: AuthUser = app.user("ada", Role::Learner).await;
    let sessions = app.services.identity().sessions();
    let login = |password: &str| {
        sessions.login(
            LoginRequest {
                email: "ada@example.com".into(),
                password: password.into(),
            },
            client(),
        )
    };
    for _ in 0..2 {
        assert!(matches!(
            login("a wrong password!!").await,
            Err(AppError::Unauthenticated(_))
        ));
    }
    // Locked out for 60 s from the last failure, by the clock: the right password waits.
    assert_eq!(retry_after(login("a long enough password").await), Some(60));
    app.clock.set(t0() + Duration::seconds(59));
    assert_eq!(retry_after(login("a long enough password").await), Some(1));
    app.clock.set(t0() + Duration::seconds(60));
    let pair = login("a long enough password").await.unwrap();
    assert_eq!(
        sessions.authenticate(&pair.access_token).await.unwrap().id,
        ada.id
    );
}

/// The seconds a refused login must wait, or `None` for any other answer.
fn retry_after(answer: Result<TokenPair, AppError>) -> Option<u64> {
    match answer {
        Err(AppError::RateLimited { retry_after_secs }) => Some(retry_after_secs),
        _ => None,
    }
}
