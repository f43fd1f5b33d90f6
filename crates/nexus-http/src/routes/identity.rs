//! `/api/v1/auth/*`, `/api/v1/me*`, `/api/v1/users/*` and `/api/v1/admin/users*`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use nexus_core::identity::Role;
use nexus_service::identity::{
    Accepted, AdminUser, AdminUserPatch, AdminUserQuery, ChangePassword, Client, CreateToken,
    CreatedToken, EmailPreferences, LoginRequest, Me, PublicProfile, RefreshRequest,
    RegisterRequest, ResetConfirm, ResetRequest, TokenInfo, TokenPair, TokenRequest,
    UpdateEmailPreferences, UpdateMe,
};
use nexus_service::page::Page;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Authed, ClientIp};
use crate::extract::{Bounded, JsonBody, QueryParams};
use crate::problem::ApiResult;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(verify_email))
        .routes(routes!(request_reset))
        .routes(routes!(confirm_reset))
        .routes(routes!(get_me, patch_me))
        .routes(routes!(get_email_preferences, patch_email_preferences))
        .routes(routes!(change_password))
        .routes(routes!(create_token, list_tokens))
        .routes(routes!(delete_token))
        .routes(routes!(public_profile))
        .routes(routes!(admin_list_users))
        .routes(routes!(admin_patch_user))
}

/// Create an account.
///
/// Answers 202 with the same body whether or not the email already has an account; the
/// email tells its owner either how to verify or that someone tried to sign up. An
/// unverified account can sign in and read but not publish.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "identity", request_body = RegisterRequest,
    responses(
        (status = 202, description = "Accepted; a message was sent to the address.", body = Accepted),
        (status = 409, description = "The handle is taken.", body = crate::Problem, content_type = "application/problem+json"),
    ))]
async fn register(
    State(s): State<AppState>,
    JsonBody(input): JsonBody<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(s.services.identity().accounts().register(input).await?),
    ))
}

/// Sign in.
///
/// The answer for an unknown email and for a wrong password is the same. Repeated failures
/// for one account or from one address are refused for a while (429 with `Retry-After`).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "identity", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in.", body = TokenPair),
        (status = 401, description = "Unknown email or wrong password (the same answer for both).", body = crate::Problem, content_type = "application/problem+json"),
    ))]
async fn login(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(input): JsonBody<LoginRequest>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(
        s.services
            .identity()
            .sessions()
            .login(input, Client { ip })
            .await?,
    ))
}

/// Exchange a refresh token for a new pair.
///
/// Each refresh token works once. Presenting one that was already exchanged revokes the
/// whole session: every token of it stops working.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "identity", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair; the old refresh token is spent.", body = TokenPair),
        (status = 401, description = "The refresh token is unknown, expired, spent or revoked.", body = crate::Problem, content_type = "application/problem+json"),
    ))]
async fn refresh(
    State(s): State<AppState>,
    JsonBody(input): JsonBody<RefreshRequest>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(s.services.identity().sessions().refresh(input).await?))
}

/// Sign out: end the session the refresh token belongs to.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "identity", request_body = RefreshRequest,
    responses((status = 204, description = "The session is over (or was already).")))]
async fn logout(
    State(s): State<AppState>,
    JsonBody(input): JsonBody<RefreshRequest>,
) -> ApiResult<StatusCode> {
    s.services.identity().sessions().logout(input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Confirm an email address with the code from the verification email.
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "identity", request_body = TokenRequest,
    responses((status = 204, description = "The address is verified.")))]
async fn verify_email(
    State(s): State<AppState>,
    JsonBody(input): JsonBody<TokenRequest>,
) -> ApiResult<StatusCode> {
    s.services.identity().accounts().verify_email(input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ask for a password-reset email.
///
/// Answers the same whether or not the address has an account.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "identity", request_body = ResetRequest,
    responses((status = 202, description = "Accepted.", body = Accepted)))]
async fn request_reset(
    State(s): State<AppState>,
    JsonBody(input): JsonBody<ResetRequest>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(
            s.services
                .identity()
                .accounts()
                .request_password_reset(input)
                .await?,
        ),
    ))
}

/// Set a new password with the code from the reset email.
///
/// The code works once; every session of the account is signed out.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "identity", request_body = ResetConfirm,
    responses((status = 204, description = "The password is changed.")))]
async fn confirm_reset(
    State(s): State<AppState>,
    JsonBody(input): JsonBody<ResetConfirm>,
) -> ApiResult<StatusCode> {
    s.services
        .identity()
        .accounts()
        .confirm_password_reset(input)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own account.
#[utoipa::path(get, path = "/api/v1/me", tag = "identity", security(("bearer" = [])),
    responses((status = 200, description = "The account.", body = Me)))]
async fn get_me(State(s): State<AppState>, Authed(user): Authed) -> ApiResult<Json<Me>> {
    Ok(Json(s.services.identity().accounts().me(&user).await?))
}

/// Change the caller's display name, bio or track.
#[utoipa::path(patch, path = "/api/v1/me", tag = "identity", security(("bearer" = [])), request_body = UpdateMe,
    responses((status = 200, description = "The updated account.", body = Me)))]
async fn patch_me(
    State(s): State<AppState>,
    Authed(user): Authed,
    JsonBody(input): JsonBody<UpdateMe>,
) -> ApiResult<Json<Me>> {
    Ok(Json(
        s.services
            .identity()
            .accounts()
            .update_me(&user, input)
            .await?,
    ))
}

/// Which optional emails the caller gets.
///
/// `notifications`: an email when someone comments on, or proposes an edit to, one of the
/// caller's notes. `digest`: the weekly digest of new notes in followed topics.
/// `learning_digest`: the weekly mentor digest of each cohort the caller mentors and the
/// weekly learner digest. All are on for a new account. Verification and password-reset
/// emails are always sent.
#[utoipa::path(get, path = "/api/v1/me/email-preferences", tag = "identity", security(("bearer" = [])),
    responses((status = 200, description = "The preferences.", body = EmailPreferences,
        example = json!({"notifications": true, "digest": true, "learning_digest": true}))))]
async fn get_email_preferences(
    State(s): State<AppState>,
    Authed(user): Authed,
) -> ApiResult<Json<EmailPreferences>> {
    Ok(Json(
        s.services
            .identity()
            .accounts()
            .email_preferences(&user)
            .await?,
    ))
}

/// Turn notification emails, the weekly digest or the learning digests on or off.
///
/// A merge: only the fields given change. The setting applies to emails not yet sent,
/// including those already queued.
#[utoipa::path(patch, path = "/api/v1/me/email-preferences", tag = "identity", security(("bearer" = [])),
    request_body(content = UpdateEmailPreferences, example = json!({"digest": false})),
    responses((status = 200, description = "The preferences after the change.", body = EmailPreferences,
        example = json!({"notifications": true, "digest": false, "learning_digest": true}))))]
async fn patch_email_preferences(
    State(s): State<AppState>,
    Authed(user): Authed,
    JsonBody(input): JsonBody<UpdateEmailPreferences>,
) -> ApiResult<Json<EmailPreferences>> {
    Ok(Json(
        s.services
            .identity()
            .accounts()
            .update_email_preferences(&user, input)
            .await?,
    ))
}

/// Change the password; every other session is signed out.
///
/// Needs a signed-in session (not a personal access token).
#[utoipa::path(post, path = "/api/v1/me/password", tag = "identity", security(("bearer" = [])), request_body = ChangePassword,
    responses((status = 204, description = "The password is changed.")))]
async fn change_password(
    State(s): State<AppState>,
    Authed(user): Authed,
    JsonBody(input): JsonBody<ChangePassword>,
) -> ApiResult<StatusCode> {
    s.services
        .identity()
        .accounts()
        .change_password(&user, input)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a personal access token for scripts.
///
/// The token is in this answer only; store it. Needs a signed-in session.
#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "identity", security(("bearer" = [])), request_body = CreateToken,
    responses((status = 201, description = "The new token, shown once.", body = CreatedToken)))]
async fn create_token(
    State(s): State<AppState>,
    Authed(user): Authed,
    JsonBody(input): JsonBody<CreateToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.services.identity().tokens().create(&user, input).await?),
    ))
}

/// The caller's live personal access tokens (without their secrets).
#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "identity", security(("bearer" = [])),
    responses((status = 200, description = "The tokens, newest first.", body = Vec<TokenInfo>)))]
async fn list_tokens(
    State(s): State<AppState>,
    Authed(user): Authed,
) -> ApiResult<Json<Vec<TokenInfo>>> {
    Ok(Json(s.services.identity().tokens().list(&user).await?))
}

/// Revoke one of the caller's personal access tokens.
#[utoipa::path(delete, path = "/api/v1/me/tokens/{id}", tag = "identity", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The token's id.")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 404, description = "The caller has no such live token.", body = crate::Problem, content_type = "application/problem+json"),
    ))]
async fn delete_token(
    State(s): State<AppState>,
    Authed(user): Authed,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    s.services.identity().tokens().revoke(&user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's public profile.
#[utoipa::path(get, path = "/api/v1/users/{handle}", tag = "identity",
    params(("handle" = String, Path, description = "The user's handle.", example = "ada-lovelace")),
    responses(
        (status = 200, description = "The profile.", body = PublicProfile),
        (status = 404, description = "No such (enabled) user.", body = crate::Problem, content_type = "application/problem+json"),
    ))]
async fn public_profile(
    State(s): State<AppState>,
    Path(handle): Path<String>,
) -> ApiResult<Json<PublicProfile>> {
    Ok(Json(
        s.services
            .identity()
            .accounts()
            .public_profile(&handle)
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminUsersParams {
    /// Only users with this role.
    role: Option<Role>,
    /// Only disabled (`true`) or enabled (`false`) users.
    disabled: Option<bool>,
    /// Only handles starting with this.
    #[param(inline)]
    handle: Option<Bounded<30>>,
    /// Page size, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(schema_with = crate::openapi::id_cursor)]
    cursor: Option<String>,
}

/// List users (admins only), oldest first, with filters and cursor pagination.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", security(("bearer" = [])), params(AdminUsersParams),
    responses((status = 200, description = "A page of users.", body = Page<AdminUser>)))]
async fn admin_list_users(
    State(s): State<AppState>,
    Authed(user): Authed,
    QueryParams(p): QueryParams<AdminUsersParams>,
) -> ApiResult<Json<Page<AdminUser>>> {
    let q = AdminUserQuery {
        role: p.role,
        disabled: p.disabled,
        handle_prefix: p.handle.map(Bounded::into_inner),
        limit: p.limit,
        cursor: p.cursor,
    };
    Ok(Json(s.services.identity().users().list(&user, q).await?))
}

/// Change a user's role or disable them (admins only).
///
/// Disabling signs the user out everywhere at once.
#[utoipa::path(patch, path = "/api/v1/admin/users/{handle}", tag = "admin", security(("bearer" = [])), request_body = AdminUserPatch,
    params(("handle" = String, Path, description = "The user's handle.")),
    responses(
        (status = 200, description = "The updated user.", body = AdminUser),
        (status = 404, description = "No such user.", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "An admin tried to disable or demote themselves.", body = crate::Problem, content_type = "application/problem+json"),
    ))]
async fn admin_patch_user(
    State(s): State<AppState>,
    Authed(user): Authed,
    Path(handle): Path<String>,
    JsonBody(patch): JsonBody<AdminUserPatch>,
) -> ApiResult<Json<AdminUser>> {
    Ok(Json(
        s.services
            .identity()
            .users()
            .update(&user, &handle, patch)
            .await?,
    ))
}
