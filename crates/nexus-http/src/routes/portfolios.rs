//! Portfolios: `/api/v1/me/portfolio` for its owner, `/api/v1/portfolios/{handle}` for
//! anyone while it is public.

use axum::Json;
use axum::extract::{Path, State};
use nexus_service::learning::{PortfolioInput, PortfolioView};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Authed;
use crate::extract::JsonBody;
use crate::problem::{ApiResult, Problem};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_portfolio, put_portfolio))
        .routes(routes!(public_portfolio))
}

/// Your portfolio, whatever its visibility, private entries included.
#[utoipa::path(get, path = "/api/v1/me/portfolio", tag = "portfolios", security(("bearer" = [])),
    responses(
        (status = 200, description = "Your portfolio.", body = PortfolioView),
        (status = 404, description = "You have not written a portfolio yet.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn my_portfolio(
    State(s): State<AppState>,
    Authed(u): Authed,
) -> ApiResult<Json<PortfolioView>> {
    Ok(Json(s.services.learning().portfolios().mine(&u).await?))
}

/// Write your portfolio: visibility, headline, bio and entries (which replace the
/// previous ones, in the order given).
///
/// An entry cites one of your submissions that a mentor reviewed; a submission of
/// someone else's, an unknown id, or one without a mentor review is 422 naming the entry
/// (`entries[i].submission`). Each entry shows the latest revision a mentor reviewed:
/// its score is the weighted total (0-100) of the latest mentor review of that revision
/// (the definition of a week's score in progress), and its artifacts are that revision's
/// uploads and links. An entry is `public` unless you say `private`.
///
/// While the portfolio is `public`, its public entries are shown at
/// `GET /api/v1/portfolios/{handle}` and their uploads are readable by anyone at
/// `GET /api/v1/uploads/{id}`; making the portfolio or an entry `private` (or leaving an
/// entry out) hides them again at once.
#[utoipa::path(put, path = "/api/v1/me/portfolio", tag = "portfolios", security(("bearer" = [])),
    request_body = PortfolioInput,
    responses(
        (status = 200, description = "Your portfolio as written.", body = PortfolioView),
    ))]
async fn put_portfolio(
    State(s): State<AppState>,
    Authed(u): Authed,
    JsonBody(input): JsonBody<PortfolioInput>,
) -> ApiResult<Json<PortfolioView>> {
    Ok(Json(
        s.services.learning().portfolios().put(&u, input).await?,
    ))
}

/// A learner's public portfolio: headline, bio, the public entries (deliverable and
/// course, score, narrative, artifacts), skills, published notes and accepted
/// collaborations.
///
/// Skills are the objectives (code, text, Bloom level) of the week each shown entry's
/// deliverable belongs to (for a capstone deliverable: the week it is due at the end of),
/// when the entry's score is at least 70; only shown entries count. A private portfolio
/// and a missing one are both 404.
#[utoipa::path(get, path = "/api/v1/portfolios/{handle}", tag = "portfolios",
    params(("handle" = String, Path, description = "The learner's handle.", example = "ada")),
    responses(
        (status = 200, description = "The public portfolio.", body = PortfolioView),
        (status = 404, description = "No public portfolio of this handle.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn public_portfolio(
    State(s): State<AppState>,
    Path(handle): Path<String>,
) -> ApiResult<Json<PortfolioView>> {
    Ok(Json(
        s.services.learning().portfolios().public(&handle).await?,
    ))
}
