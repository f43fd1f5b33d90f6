//! Identity and access, end to end over HTTP on both backends.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, PASSWORD, TestApp, assert_problem, spawn_app, spawn_app_with};

backend_tests!(
    register_verify_login_and_me_work_end_to_end,
    register_inputs_are_validated_with_every_field_named,
    a_taken_handle_is_a_conflict_and_a_taken_email_is_indistinguishable,
    bad_access_tokens_are_401_problems,
    a_disabled_users_tokens_stop_working_at_once,
    reusing_a_rotated_refresh_token_revokes_the_whole_family,
    logout_ends_the_session,
    read_scoped_tokens_cannot_write_and_revoked_tokens_are_401,
    changing_the_password_revokes_other_sessions,
    a_reset_token_works_once_and_signs_out_everywhere,
    answers_do_not_reveal_whether_an_email_exists,
    repeated_failed_logins_are_slowed_down,
    no_route_lets_one_user_reach_anothers_private_data,
    admins_list_and_manage_users_with_pagination,
    profile_updates_are_validated,
    the_openapi_document_describes_security_and_errors_of_every_operation,
    expired_email_codes_and_personal_tokens_are_refused,
);

async fn me(app: &TestApp, token: &str) -> reqwest::Response {
    app.get_auth("/api/v1/me", token).await
}

async fn register_verify_login_and_me_work_end_to_end(backend: Backend) {
    let app = spawn_app(backend).await;
    let resp = app.register("Ada@Example.com", "ada").await;
    assert_eq!(resp.status(), 202);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "accepted");

    // Unverified: can sign in and read.
    let login: Value = app
        .login("ada@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(login["token_type"], "Bearer");
    assert_eq!(login["expires_in"], 900);
    let access = login["access_token"].as_str().unwrap();
    let before: Value = me(&app, access).await.json().await.unwrap();
    assert_eq!(before["email_verified"], false);
    assert_eq!(before["email"], "Ada@Example.com");
    assert_eq!(before["role"], "learner");

    // The verification email is a real .eml in the outbox.
    let code = app
        .code_from_email("Ada@Example.com", "Verification code")
        .await;
    let resp = app
        .post_json("/api/v1/auth/verify-email", None, json!({"token": code}))
        .await;
    assert_eq!(resp.status(), 204);
    let after: Value = me(&app, access).await.json().await.unwrap();
    assert_eq!(after["email_verified"], true);
    assert_eq!(after["handle"], "ada");

    // The code is single-use.
    let again = app
        .post_json("/api/v1/auth/verify-email", None, json!({"token": code}))
        .await;
    assert_problem(again, 422, "validation-failed").await;
}

async fn register_inputs_are_validated_with_every_field_named(backend: Backend) {
    let app = spawn_app(backend).await;
    let resp = app
        .post_json(
            "/api/v1/auth/register",
            None,
            json!({"email": "not-an-email", "handle": "No Way", "display_name": "", "password": "short"}),
        )
        .await;
    let body = assert_problem(resp, 422, "validation-failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "handle", "display_name", "password"]);

    // Wrong types, unknown fields, huge and unicode values.
    let wrong_type = app
        .post_json(
            "/api/v1/auth/register",
            None,
            json!({"email": 5, "handle": "x", "display_name": "x", "password": "x"}),
        )
        .await;
    let body = assert_problem(wrong_type, 422, "validation-failed").await;
    assert_eq!(body["errors"][0]["field"], "email");
    let unknown = app
        .post_json(
            "/api/v1/auth/register",
            None,
            json!({"email": "a@b.io", "handle": "abc", "display_name": "x", "password": PASSWORD, "role": "admin"}),
        )
        .await;
    assert_problem(unknown, 422, "validation-failed").await;
    let huge = app
        .post_json(
            "/api/v1/auth/register",
            None,
            json!({"email": "a@b.io", "handle": "abc", "display_name": "x".repeat(100_000), "password": PASSWORD}),
        )
        .await;
    let body = assert_problem(huge, 422, "validation-failed").await;
    assert_eq!(body["errors"][0]["field"], "display_name");
    let unicode = app
        .post_json(
            "/api/v1/auth/register",
            None,
            json!({"email": "jürgen@example.com", "handle": "juergen", "display_name": "Jürgen 名前 🦀", "password": "pässwörd-ñ-12345"}),
        )
        .await;
    assert_eq!(unicode.status(), 202);
    let token = app.login("jürgen@example.com", "pässwörd-ñ-12345").await;
    assert_eq!(token.status(), 200);
}

async fn a_taken_handle_is_a_conflict_and_a_taken_email_is_indistinguishable(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.register("ada@example.com", "ada").await.status(), 202);
    assert_problem(
        app.register("other@example.com", "ada").await,
        409,
        "conflict",
    )
    .await;
    // Same address in another case: accepted, and the owner is told.
    let resp = app.register("ADA@example.com", "ada2").await;
    assert_eq!(resp.status(), 202);
    app.jobs_settled().await;
    let notices: Vec<String> = app
        .emails_to("ADA@example.com")
        .into_iter()
        .filter(|m| m.contains("tried to sign up"))
        .collect();
    assert_eq!(notices.len(), 1);
    // No second account was made.
    assert_problem(app.get("/api/v1/users/ada2").await, 404, "not-found").await;
}

fn forge(header: Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        signature
    )
}

async fn bad_access_tokens_are_401_problems(backend: Backend) {
    let app = spawn_app(backend).await;
    let user = app.verified_user("ada").await;
    assert_eq!(me(&app, &user.access).await.status(), 200);

    let parts: Vec<&str> = user.access.split('.').collect();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let key = STANDARD
        .decode(
            std::fs::read_to_string(app.state.settings.data_dir.join("jwt.key"))
                .unwrap()
                .trim(),
        )
        .unwrap();

    let forged_signature = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode([0u8; 32])
    );
    let alg_none = forge(json!({"alg": "none", "typ": "JWT"}), &claims, "");
    let other_alg = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &claims,
        &EncodingKey::from_secret(&key),
    )
    .unwrap();
    let rs256_header = forge(json!({"alg": "RS256", "typ": "JWT"}), &claims, parts[2]);
    let mut stale = claims.clone();
    stale["iat"] = json!(claims["iat"].as_i64().unwrap() - 7200);
    stale["exp"] = json!(claims["iat"].as_i64().unwrap() - 3600);
    let expired = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &stale,
        &EncodingKey::from_secret(&key),
    )
    .unwrap();
    let other_key = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&[9u8; 64]),
    )
    .unwrap();

    for (what, token) in [
        ("forged signature", forged_signature.as_str()),
        ("alg none", &alg_none),
        ("HS512", &other_alg),
        ("RS256 header", &rs256_header),
        ("expired", &expired),
        ("another key", &other_key),
        ("garbage", "not.a.jwt"),
        ("empty pat", "nxp_"),
        (
            "unknown pat",
            "nxp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ),
    ] {
        let resp = me(&app, token).await;
        assert_eq!(resp.status(), 401, "{what}");
        assert!(resp.headers().contains_key("www-authenticate"), "{what}");
        assert_problem(resp, 401, "unauthenticated").await;
    }
    // A malformed Authorization header is 401 too, never anonymous.
    let resp = app
        .client
        .get(app.url("/api/v1/me"))
        .header("authorization", "Basic YWRhOnB3")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "unauthenticated").await;
    assert_problem(app.get("/api/v1/me").await, 401, "unauthenticated").await;
}

async fn a_disabled_users_tokens_stop_working_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("root").await;
    let ada = app.verified_user("ada").await;
    let pat: Value = app
        .post_json(
            "/api/v1/me/tokens",
            Some(&ada.access),
            json!({"name": "script", "scope": "read"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let pat = pat["token"].as_str().unwrap().to_owned();
    assert_eq!(me(&app, &pat).await.status(), 200);

    let resp = app
        .patch_json(
            "/api/v1/admin/users/ada",
            Some(&admin.access),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["disabled"], true);
    assert_problem(me(&app, &ada.access).await, 401, "unauthenticated").await;
    assert_problem(me(&app, &pat).await, 401, "unauthenticated").await;
    assert_problem(
        app.login(&ada.email, PASSWORD).await,
        401,
        "unauthenticated",
    )
    .await;
    let refreshed = app
        .post_json(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": ada.refresh}),
        )
        .await;
    assert_problem(refreshed, 401, "unauthenticated").await;
    // Disabled users have no public profile.
    assert_problem(app.get("/api/v1/users/ada").await, 404, "not-found").await;
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": token}),
    )
    .await
}

async fn reusing_a_rotated_refresh_token_revokes_the_whole_family(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.verified_user("ada").await;
    let second: Value = refresh(&app, &ada.refresh).await.json().await.unwrap();
    let newest_refresh = second["refresh_token"].as_str().unwrap();
    let newest_access = second["access_token"].as_str().unwrap();
    assert_ne!(newest_refresh, ada.refresh);
    assert_eq!(me(&app, newest_access).await.status(), 200);

    // The first token again: reuse. The family is revoked.
    assert_problem(refresh(&app, &ada.refresh).await, 401, "unauthenticated").await;
    assert_problem(refresh(&app, newest_refresh).await, 401, "unauthenticated").await;
    assert_problem(me(&app, newest_access).await, 401, "unauthenticated").await;
    assert_problem(me(&app, &ada.access).await, 401, "unauthenticated").await;

    // Other sessions of the same user are unaffected.
    let other = app
        .login(&ada.email, PASSWORD)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        me(&app, other["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    // Nonsense refresh tokens are 401, not 500.
    for junk in ["", "x", &"y".repeat(10_000)] {
        assert_problem(refresh(&app, junk).await, 401, "unauthenticated").await;
    }
}

async fn logout_ends_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.verified_user("ada").await;
    let resp = app
        .post_json(
            "/api/v1/auth/logout",
            None,
            json!({"refresh_token": ada.refresh}),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_problem(me(&app, &ada.access).await, 401, "unauthenticated").await;
    assert_problem(refresh(&app, &ada.refresh).await, 401, "unauthenticated").await;
    // Twice is fine.
    let again = app
        .post_json(
            "/api/v1/auth/logout",
            None,
            json!({"refresh_token": ada.refresh}),
        )
        .await;
    assert_eq!(again.status(), 204);
}

async fn read_scoped_tokens_cannot_write_and_revoked_tokens_are_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.verified_user("ada").await;
    let created = app
        .post_json(
            "/api/v1/me/tokens",
            Some(&ada.access),
            json!({"name": "reader", "scope": "read", "expires_in_days": 30}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let read = created["token"].as_str().unwrap().to_owned();
    assert!(read.starts_with("nxp_"));
    assert_eq!(created["scope"], "read");
    assert!(read.starts_with(created["prefix"].as_str().unwrap()));

    assert_eq!(me(&app, &read).await.status(), 200);
    let write_attempt = app
        .patch_json(
            "/api/v1/me",
            Some(&read),
            json!({"bio": "changed by a script"}),
        )
        .await;
    assert_problem(write_attempt, 403, "forbidden").await;
    // Tokens cannot mint tokens or change the password.
    let mint = app
        .post_json(
            "/api/v1/me/tokens",
            Some(&read),
            json!({"name": "more", "scope": "write"}),
        )
        .await;
    assert_problem(mint, 403, "forbidden").await;

    let write: Value = app
        .post_json(
            "/api/v1/me/tokens",
            Some(&ada.access),
            json!({"name": "writer", "scope": "write"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let write_token = write["token"].as_str().unwrap();
    let ok = app
        .patch_json(
            "/api/v1/me",
            Some(write_token),
            json!({"bio": "changed by a script"}),
        )
        .await;
    assert_eq!(ok.status(), 200);

    // Listing never shows secrets.
    let listed = app
        .get_auth("/api/v1/me/tokens", &ada.access)
        .await
        .text()
        .await
        .unwrap();
    assert!(!listed.contains(&read) && !listed.contains(write_token));
    assert_eq!(
        serde_json::from_str::<Value>(&listed)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let id = created["id"].as_str().unwrap();
    let revoked = app
        .delete_auth(&format!("/api/v1/me/tokens/{id}"), &ada.access)
        .await;
    assert_eq!(revoked.status(), 204);
    assert_problem(me(&app, &read).await, 401, "unauthenticated").await;
    let twice = app
        .delete_auth(&format!("/api/v1/me/tokens/{id}"), &ada.access)
        .await;
    assert_problem(twice, 404, "not-found").await;
    let bad_id = app
        .delete_auth("/api/v1/me/tokens/not-a-uuid", &ada.access)
        .await;
    assert_problem(bad_id, 400, "bad-request").await;

    let bad = app
        .post_json(
            "/api/v1/me/tokens",
            Some(&ada.access),
            json!({"name": "", "scope": "admin", "expires_in_days": 0}),
        )
        .await;
    assert_problem(bad, 422, "validation-failed").await;
}

async fn changing_the_password_revokes_other_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.verified_user("ada").await;
    let other: Value = app.login(&ada.email, PASSWORD).await.json().await.unwrap();
    let other_access = other["access_token"].as_str().unwrap();

    let wrong = app
        .post_json(
            "/api/v1/me/password",
            Some(&ada.access),
            json!({"current_password": "not the password", "new_password": "a brand new password"}),
        )
        .await;
    let body = assert_problem(wrong, 422, "validation-failed").await;
    assert_eq!(body["errors"][0]["field"], "current_password");

    let ok = app
        .post_json(
            "/api/v1/me/password",
            Some(&ada.access),
            json!({"current_password": PASSWORD, "new_password": "a brand new password"}),
        )
        .await;
    assert_eq!(ok.status(), 204);
    assert_eq!(
        me(&app, &ada.access).await.status(),
        200,
        "this session stays"
    );
    assert_problem(me(&app, other_access).await, 401, "unauthenticated").await;
    assert_problem(
        app.login(&ada.email, PASSWORD).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_eq!(
        app.login(&ada.email, "a brand new password").await.status(),
        200
    );
}

async fn a_reset_token_works_once_and_signs_out_everywhere(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.verified_user("ada").await;
    let resp = app
        .post_json(
            "/api/v1/auth/password-reset",
            None,
            json!({"email": "ADA@example.com"}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    let code = app.code_from_email(&ada.email, "Reset code").await;
    let confirm = |password: &'static str| {
        app.post_json(
            "/api/v1/auth/password-reset/confirm",
            None,
            json!({"token": code, "password": password}),
        )
    };
    assert_problem(confirm("short").await, 422, "validation-failed").await;
    assert_eq!(confirm("my reset password 1").await.status(), 204);
    assert_problem(
        confirm("my reset password 2").await,
        422,
        "validation-failed",
    )
    .await;
    assert_problem(me(&app, &ada.access).await, 401, "unauthenticated").await;
    assert_eq!(
        app.login(&ada.email, "my reset password 1").await.status(),
        200
    );
    assert_problem(
        app.login(&ada.email, "my reset password 2").await,
        401,
        "unauthenticated",
    )
    .await;
}

async fn answers_do_not_reveal_whether_an_email_exists(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user("ada").await;
    let pair = |known: &'static str, unknown: &'static str| (known, unknown);

    // Register: same status and body.
    let (known, unknown) = pair("ada@example.com", "nobody@example.com");
    let a = app.register(known, "ada-again").await;
    let b = app.register(unknown, "nobody").await;
    assert_eq!(a.status(), b.status());
    assert_eq!(a.text().await.unwrap(), b.text().await.unwrap());

    // Login with a wrong password vs an unknown email: same status and body but the ids.
    let a = app.login(known, "wrong password!!").await;
    let b = app.login("ghost@example.com", "wrong password!!").await;
    assert_eq!(a.status(), 401);
    assert_eq!(a.status(), b.status());
    let strip = |mut v: Value| {
        v["request_id"] = Value::Null;
        v
    };
    assert_eq!(
        strip(a.json().await.unwrap()),
        strip(b.json().await.unwrap())
    );

    // Reset: same status and body.
    let a = app
        .post_json("/api/v1/auth/password-reset", None, json!({"email": known}))
        .await;
    let b = app
        .post_json(
            "/api/v1/auth/password-reset",
            None,
            json!({"email": "ghost@example.com"}),
        )
        .await;
    assert_eq!(a.status(), 202);
    assert_eq!(a.status(), b.status());
    assert_eq!(a.text().await.unwrap(), b.text().await.unwrap());
}

async fn repeated_failed_logins_are_slowed_down(backend: Backend) {
    let app = spawn_app_with(
        backend,
        |s| {
            s.auth.login_failures_before_lockout = 5;
            s.auth.login_lockout_secs = 60;
        },
        None,
    )
    .await;
    let ada = app.verified_user("ada").await;
    for _ in 0..5 {
        assert_problem(
            app.login(&ada.email, "wrong password!!").await,
            401,
            "unauthenticated",
        )
        .await;
    }
    let limited = app.login(&ada.email, PASSWORD).await;
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_problem(limited, 429, "rate-limited").await;
}

async fn no_route_lets_one_user_reach_anothers_private_data(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.verified_user("alice").await;
    let b = app.verified_user("bob").await;
    let b_token: Value = app
        .post_json(
            "/api/v1/me/tokens",
            Some(&b.access),
            json!({"name": "bob's", "scope": "write"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let b_token_id = b_token["id"].as_str().unwrap();

    // /me is always the caller's own account.
    let mine: Value = me(&app, &a.access).await.json().await.unwrap();
    assert_eq!(mine["handle"], "alice");
    let patched: Value = app
        .patch_json("/api/v1/me", Some(&a.access), json!({"bio": "alice's bio"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(patched["handle"], "alice");
    let bobs: Value = me(&app, &b.access).await.json().await.unwrap();
    assert_eq!(bobs["bio"], "", "bob is untouched");

    // B's token is invisible to A: not listed, and deleting it is "not found".
    let listed: Value = app.get_auth_json("/api/v1/me/tokens", &a.access).await;
    assert_eq!(listed.as_array().unwrap().len(), 0);
    let resp = app
        .delete_auth(&format!("/api/v1/me/tokens/{b_token_id}"), &a.access)
        .await;
    assert_problem(resp, 404, "not-found").await;
    assert_eq!(
        me(&app, b_token["token"].as_str().unwrap()).await.status(),
        200
    );

    // B's public profile shows nothing private.
    let profile: Value = app.get_json("/api/v1/users/bob").await;
    assert_eq!(profile["handle"], "bob");
    for private in ["email", "id", "email_verified", "disabled"] {
        assert!(
            profile.get(private).is_none(),
            "{private} leaked: {profile}"
        );
    }

    // A's session cannot end B's, nor use B's refresh token as its own.
    let resp = app
        .post_json(
            "/api/v1/auth/logout",
            Some(&a.access),
            json!({"refresh_token": "not-bobs"}),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(me(&app, &b.access).await.status(), 200);

    // Admin routes are closed to non-admins.
    assert_problem(
        app.get_auth("/api/v1/admin/users", &a.access).await,
        403,
        "forbidden",
    )
    .await;
    let resp = app
        .patch_json(
            "/api/v1/admin/users/bob",
            Some(&a.access),
            json!({"disabled": true}),
        )
        .await;
    assert_problem(resp, 403, "forbidden").await;
    assert_eq!(me(&app, &b.access).await.status(), 200);
}

async fn admins_list_and_manage_users_with_pagination(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin("root").await;
    for h in ["user-a", "user-b", "user-c"] {
        app.verified_user(h).await;
    }
    let page1: Value = app
        .get_auth_json("/api/v1/admin/users?limit=2", &admin.access)
        .await;
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2: Value = app
        .get_auth_json(
            &format!("/api/v1/admin/users?limit=2&cursor={cursor}"),
            &admin.access,
        )
        .await;
    assert_eq!(page2["items"].as_array().unwrap().len(), 2);
    assert!(page2["next_cursor"].is_null());
    let handles: Vec<&str> = page1["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page2["items"].as_array().unwrap())
        .map(|u| u["handle"].as_str().unwrap())
        .collect();
    assert_eq!(handles, ["root", "user-a", "user-b", "user-c"]);

    let filtered: Value = app
        .get_auth_json("/api/v1/admin/users?role=admin", &admin.access)
        .await;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
    let prefixed: Value = app
        .get_auth_json("/api/v1/admin/users?handle=user-", &admin.access)
        .await;
    assert_eq!(prefixed["items"].as_array().unwrap().len(), 3);

    for bad in ["limit=0", "limit=1000000", "cursor=garbage"] {
        let resp = app
            .get_auth(&format!("/api/v1/admin/users?{bad}"), &admin.access)
            .await;
        assert_problem(resp, 422, "validation-failed").await;
    }
    let problem = assert_problem(
        app.get_auth("/api/v1/admin/users?role=king", &admin.access)
            .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "role");

    let promoted: Value = app
        .patch_json(
            "/api/v1/admin/users/user-a",
            Some(&admin.access),
            json!({"role": "mentor"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(promoted["role"], "mentor");
    let demote_self = app
        .patch_json(
            "/api/v1/admin/users/root",
            Some(&admin.access),
            json!({"role": "learner"}),
        )
        .await;
    assert_problem(demote_self, 409, "conflict").await;
    let missing = app
        .patch_json(
            "/api/v1/admin/users/nobody",
            Some(&admin.access),
            json!({"role": "mentor"}),
        )
        .await;
    assert_problem(missing, 404, "not-found").await;
}

async fn profile_updates_are_validated(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.verified_user("ada").await;
    let ok: Value = app
        .patch_json("/api/v1/me", Some(&ada.access), json!({"display_name": "  Ada L. ", "track": "backend", "bio": "Analytical engines 🦀"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ok["display_name"], "Ada L.");
    assert_eq!(ok["track"], "backend");
    assert_eq!(ok["bio"], "Analytical engines 🦀");
    for (body, field) in [
        (json!({"display_name": ""}), "display_name"),
        (json!({"bio": "x".repeat(2001)}), "bio"),
        (json!({"display_name": "a\u{0}b"}), "display_name"),
        (json!({"track": "devops"}), "track"),
        (json!({"role": "admin"}), "role"),
    ] {
        let resp = app.patch_json("/api/v1/me", Some(&ada.access), body).await;
        let problem = assert_problem(resp, 422, "validation-failed").await;
        assert!(
            problem["errors"][0]["field"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{problem}"
        );
    }
    let still: Value = me(&app, &ada.access).await.json().await.unwrap();
    assert_eq!(still["role"], "learner");
}

async fn the_openapi_document_describes_security_and_errors_of_every_operation(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc: Value = app.get_json("/api/openapi.json").await;
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.contains_key("500"),
                "{method} {path} documents 500"
            );
            let alternatives = op
                .get("security")
                .map(|s| s.as_array().unwrap().clone())
                .unwrap_or_default();
            let secured = !alternatives.is_empty();
            // `{}` among the alternatives: credentials are optional (reads whose answer
            // includes the caller's own drafts; an upload, which is as missing to an
            // anonymous caller, 404, as to anyone else who may not read it).
            let optional = alternatives
                .iter()
                .any(|a| a.as_object().unwrap().is_empty());
            // Own-account and admin routes need a credential, and so does every write
            // outside the sign-in flow itself. Edit proposals and the report queue are
            // reads whose answer depends on who asks (a proposer sees their own; only
            // mentors see reports), so they need one too, as do webhooks (each user's own).
            // A cohort is public; its members, hand-ins, reviewer figures, progress and
            // retrospectives are not, and neither is a submission; matches and requests
            // are the caller's own (a portfolio is public).
            let private_reads = [
                "/api/v1/notes/{slug}/proposals",
                "/api/v1/reports",
                "/api/v1/cohorts/{slug}/enrolments",
                "/api/v1/cohorts/{slug}/submissions",
                "/api/v1/cohorts/{slug}/reviewers",
                "/api/v1/cohorts/{slug}/progress",
                "/api/v1/cohorts/{slug}/progress/{handle}",
                "/api/v1/cohorts/{slug}/weeks/{n}/retrospective",
                "/api/v1/collaborators/matches",
                "/api/v1/collaborations/{id}",
            ];
            let needs_auth = path.starts_with("/api/v1/me")
                || path.starts_with("/api/v1/admin")
                || path.starts_with("/api/v1/webhooks")
                || private_reads.contains(&path.as_str())
                || (method != "get" && !path.starts_with("/api/v1/auth/"));
            assert_eq!(secured && !optional, needs_auth, "{method} {path} security");
            if optional {
                assert!(
                    method == "get"
                        && (path.starts_with("/api/v1/notes")
                            || path == "/api/v1/uploads/{id}"
                            || path.starts_with("/api/v1/submissions/{id}")),
                    "{method} {path} takes optional credentials"
                );
            }
            if secured {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} documents 401"
                );
            }
            if op.get("requestBody").is_some() {
                assert!(
                    responses.contains_key("422"),
                    "{method} {path} documents 422"
                );
                assert!(
                    responses.contains_key("415"),
                    "{method} {path} documents 415"
                );
            }
            for (status, r) in responses {
                // Readiness answers 503 with its own JSON body listing the checks.
                let readiness = path == "/readyz" && status == "503";
                if (status.starts_with('4') || status.starts_with('5')) && !readiness {
                    assert!(
                        r["content"]["application/problem+json"].is_object(),
                        "{method} {path} {status} is a problem"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 18, "{checked} operations");
}

async fn expired_email_codes_and_personal_tokens_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.register("ada@example.com", "ada").await.status(), 202);
    let ada = app
        .login("ada@example.com", PASSWORD)
        .await
        .json::<Value>()
        .await
        .unwrap();
    let access = ada["access_token"].as_str().unwrap();
    let pat: Value = app
        .post_json(
            "/api/v1/me/tokens",
            Some(access),
            json!({"name": "soon", "scope": "read", "expires_in_days": 1}),
        )
        .await
        .json()
        .await
        .unwrap();
    let pat = pat["token"].as_str().unwrap();
    assert_eq!(me(&app, pat).await.status(), 200);

    // Move every expiry into the past, as time passing would.
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    let db = &app.state.db;
    let mut x = nexus_db::Exec::from(db);
    x.execute(nexus_db::query("UPDATE email_tokens SET expires_at = $1").bind(past))
        .await
        .unwrap();
    x.execute(nexus_db::query("UPDATE personal_access_tokens SET expires_at = $1").bind(past))
        .await
        .unwrap();
    let code = app
        .code_from_email("ada@example.com", "Verification code")
        .await;
    let resp = app
        .post_json("/api/v1/auth/verify-email", None, json!({"token": code}))
        .await;
    assert_problem(resp, 422, "validation-failed").await;
    assert_problem(me(&app, pat).await, 401, "unauthenticated").await;
    assert_eq!(
        me(&app, access).await.status(),
        200,
        "the session itself is still live"
    );
}
