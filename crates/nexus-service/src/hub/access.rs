//! Who sees and who changes what in the hub, and the lookups that apply it: every use case
//! that starts from a note's slug finds the note here, so a hidden note answers 404
//! everywhere, the same as a missing one.

use nexus_core::hub::{self, NoteStatus};
use nexus_core::identity::Role;
use nexus_core::{AppError, error::AppResult};
use nexus_db::hub as repo;
use uuid::Uuid;

use crate::Services;
use crate::actor::{AuthUser, Principal};

pub(crate) fn not_found(slug: &str) -> AppError {
    AppError::not_found(format!("no note `{slug}`"))
}

pub(crate) fn may_see(note: &repo::NoteRow, who: &Principal) -> bool {
    match note.status.as_str() {
        "published" => true,
        status => match who {
            Principal::User(u) => {
                u.id == note.author_id || (status == "archived" && u.role == Role::Admin)
            }
            Principal::Anonymous => false,
        },
    }
}

pub(crate) fn may_edit(note: &repo::NoteRow, who: &AuthUser) -> bool {
    who.id == note.author_id || who.role == Role::Admin
}

/// Authors review proposals on their own notes; mentors and admins on every note.
pub(crate) fn may_review(note_author: Uuid, who: &AuthUser) -> bool {
    who.id == note_author || who.role >= Role::Mentor
}

/// The caller of a use case that needs a signed-in user, as a reader.
pub(crate) fn user(actor: &AuthUser) -> Principal {
    Principal::User(actor.clone())
}

/// A note the caller may see, or 404.
pub(crate) async fn visible_note(
    services: &Services,
    who: &Principal,
    slug: &str,
) -> AppResult<repo::NoteRow> {
    let note = if hub::is_slug(slug) {
        repo::note_by_slug(&services.db, slug).await?
    } else {
        None
    };
    note.filter(|n| may_see(n, who))
        .ok_or_else(|| not_found(slug))
}

/// A note `actor` may see and edit (its author or an admin); 403 saying `why` not when
/// they may only see it.
pub(crate) async fn editable_note(
    services: &Services,
    actor: &AuthUser,
    slug: &str,
    why: &str,
) -> AppResult<repo::NoteRow> {
    let note = visible_note(services, &user(actor), slug).await?;
    if may_edit(&note, actor) {
        Ok(note)
    } else {
        Err(AppError::Forbidden(why.to_owned()))
    }
}

/// Passes `object` on when the caller may see the note `slug` it hangs off; when not,
/// the object is as missing as the note, and `missing` says so.
pub(crate) async fn on_visible_note<T>(
    services: &Services,
    who: &Principal,
    slug: &str,
    object: T,
    missing: impl FnOnce() -> AppError,
) -> AppResult<T> {
    match visible_note(services, who, slug).await {
        Ok(_) => Ok(object),
        Err(AppError::NotFound(_)) => Err(missing()),
        Err(e) => Err(e),
    }
}

/// A published note: drafts and archived notes take no comments, proposals or reports.
/// Those who may see such a note (a draft's author; an archived note's readers) are told
/// so (409); to everyone else it does not exist (404).
pub(crate) async fn published_note(
    services: &Services,
    who: &Principal,
    slug: &str,
) -> AppResult<repo::NoteRow> {
    let note = visible_note(services, who, slug).await?;
    if note.status == NoteStatus::Published {
        Ok(note)
    } else {
        Err(AppError::Conflict(format!(
            "the note `{slug}` is {}: only published notes take comments, proposals and reports",
            note.status
        )))
    }
}
