//! Domain enums as they are stored: a TEXT column holding their lowercase name, read back
//! into the enum (an unknown name is a decode error, never a silent default), so rows
//! carry `NoteKind` or `Role` rather than strings that every reader must parse again.
//!
//! Written by hand rather than with `#[derive(sqlx::Type)]`: the derive maps an enum to a
//! named PostgreSQL enum type, while these columns are TEXT with a CHECK on both backends.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

/// Implements the text mapping for an enum with `as_str(self) -> &'static str` and
/// `parse(&str) -> Option<Self>`.
macro_rules! stored_as_text {
    ($($t:ty),+ $(,)?) => {$(
        impl<DB: Database> Type<DB> for $t
        where
            str: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $t
        where
            &'r str: Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let text = <&'r str as Decode<'r, DB>>::decode(value)?;
                <$t>::parse(text).ok_or_else(|| {
                    format!("`{text}` is not a stored {}", stringify!($t)).into()
                })
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $t
        where
            &'q str: Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as Database>::ArgumentBuffer,
            ) -> Result<IsNull, BoxDynError> {
                <&'q str as Encode<'q, DB>>::encode(self.as_str(), buf)
            }
        }
    )+};
}

stored_as_text!(
    crate::hub::NoteKind,
    crate::hub::NoteStatus,
    crate::hub::ProposalStatus,
    crate::hub::ReportStatus,
    crate::identity::Role,
    crate::learning::EnrolmentPolicy,
    crate::learning::CohortRole,
    crate::learning::EnrolmentStatus,
    crate::learning::SubmissionStatus,
    crate::learning::ReviewerRole,
    crate::learning::AssignmentStatus,
    crate::learning::LedgerKind,
    crate::learning::Severity,
    crate::learning::LedgerStatus,
    crate::identity::Track,
    crate::learning::Visibility,
    crate::learning::CollaborationTrack,
    crate::learning::CollaborationStatus,
);
