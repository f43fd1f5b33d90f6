//! Learning-platform values that rows store and every transport shows: enrolment
//! policies, roles and states, submission and review states, and the deadline
//! arithmetic of a cohort's calendar.
//!
//! Deadlines are pure functions of a start date, a week number and an IANA time zone, so
//! they are unit-tested here across daylight-saving changes without a database.

use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

named_enum! {
    /// Who may join a cohort: anyone signed in (`open`), or only those an admin enrols
    /// (`invite`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum EnrolmentPolicy {
        Open = "open",
        Invite = "invite",
    }
}

named_enum! {
    /// A member's part in a cohort.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum CohortRole {
        Learner = "learner",
        Mentor = "mentor",
    }
}

named_enum! {
    /// Whether a member is still in the cohort. A withdrawn member keeps their history.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum EnrolmentStatus {
        Active = "active",
        Withdrawn = "withdrawn",
    }
}

named_enum! {
    /// Where a submission stands: `submitted` → `in_review` (a peer reviewed it) →
    /// `reviewed` or `revision_requested` (a mentor did) → `resubmitted` (a new revision)
    /// → …
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum SubmissionStatus {
        Submitted = "submitted",
        InReview = "in_review",
        Reviewed = "reviewed",
        RevisionRequested = "revision_requested",
        Resubmitted = "resubmitted",
    }
}

named_enum! {
    /// In what capacity a review was written.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum ReviewerRole {
        Mentor = "mentor",
        Peer = "peer",
    }
}

named_enum! {
    /// A peer review assignment: waiting for its review, or reviewed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum AssignmentStatus {
        Open = "open",
        Done = "done",
    }
}

named_enum! {
    /// What a risk-ledger item records: a defect found, a risk foreseen, or debt taken on.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum LedgerKind {
        Defect = "defect",
        Risk = "risk",
        Debt = "debt",
    }
}

named_enum! {
    /// How much a ledger item matters; a `high` one left open for more than two weeks
    /// puts its learner at risk.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
    pub enum Severity {
        Low = "low",
        Medium = "medium",
        High = "high",
    }
}

named_enum! {
    /// Whether a ledger item still needs attention.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum LedgerStatus {
        Open = "open",
        Closed = "closed",
    }
}

named_enum! {
    /// Why a learner is at risk (progress lists every reason that holds).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum RiskReason {
        /// A deliverable is past due and was not handed in.
        MissedDeadline = "missed_deadline",
        /// Two consecutive scored weeks below 60.
        LowScores = "low_scores",
        /// The week scores' trend is at or below -5 points a week.
        FallingTrend = "falling_trend",
        /// A high-severity ledger item has been open for more than two weeks.
        StaleHighRisk = "stale_high_risk",
        /// Neither of the last two weeks that ended has a retrospective.
        NoRetrospective = "no_retrospective",
    }
}

named_enum! {
    /// Who sees a portfolio, or one of its entries: its owner only (`private`) or anyone
    /// (`public`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
    pub enum Visibility {
        #[default]
        Private = "private",
        Public = "public",
    }
}

named_enum! {
    /// The part of a project a learner wants to build, for collaborator matching.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
    pub enum CollaborationTrack {
        Backend = "backend",
        Frontend = "frontend",
        Fullstack = "fullstack",
        Mobile = "mobile",
        Devops = "devops",
    }
}

named_enum! {
    /// Where a collaboration request stands: `pending` until the partner `accepted` or
    /// `declined` it; `cancelled` when either blocked the other while it was pending.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub enum CollaborationStatus {
        Pending = "pending",
        Accepted = "accepted",
        Declined = "declined",
        Cancelled = "cancelled",
    }
}

/// An IANA time zone by its name (`Europe/Berlin`); `None` for anything the tz database
/// does not know.
pub fn time_zone(name: &str) -> Option<Tz> {
    // The database's names are ASCII and short; refusing longer input early keeps the
    // lookup's cost bounded whatever a client sends.
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    name.parse::<Tz>().ok()
}

/// The local time of day a week's work is due: the last minute of its last day.
const DUE_TIME: (u32, u32) = (23, 59);

/// When work due at the end of `week` (1-based) of a cohort that starts on `starts_on`
/// is due: 23:59 local time on the week's seventh day, in `tz`. `None` when the date
/// falls outside the calendar chrono can represent.
///
/// Across a daylight-saving change the wall-clock time stays 23:59, so the UTC instant
/// moves by the change. Where 23:59 does not exist that day (a zone that skips the last
/// hour of a day), the deadline is the first instant after the gap; where it exists twice
/// (a zone that repeats it), the later one, which gives the learner the longer time.
pub fn due_at(starts_on: NaiveDate, week: u32, tz: Tz) -> Option<DateTime<Utc>> {
    let days = u64::from(week.max(1)) * 7 - 1;
    let day = starts_on.checked_add_days(Days::new(days))?;
    let (h, m) = DUE_TIME;
    let local = day.and_time(NaiveTime::from_hms_opt(h, m, 0)?);
    let instant = match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t,
        LocalResult::Ambiguous(_, later) => later,
        LocalResult::None => {
            // Walk forward a minute at a time to the end of the gap (gaps are at most a
            // few hours in the tz database).
            let mut probe = local;
            let mut found = None;
            for _ in 0..(24 * 60) {
                probe += chrono::Duration::minutes(1);
                if let Some(t) = tz.from_local_datetime(&probe).earliest() {
                    found = Some(t);
                    break;
                }
            }
            found?
        }
    };
    Some(instant.with_timezone(&Utc))
}

/// `at` as local time in `tz`, RFC 3339 with the offset (`2027-03-28T23:59:00+02:00`).
pub fn local_rfc3339(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn week_one_is_due_at_the_end_of_its_seventh_day() {
        let tz = time_zone("UTC").unwrap();
        let due = due_at(date(2027, 1, 4), 1, tz).unwrap();
        assert_eq!(due.to_rfc3339(), "2027-01-10T23:59:00+00:00");
        let due = due_at(date(2027, 1, 4), 3, tz).unwrap();
        assert_eq!(due.to_rfc3339(), "2027-01-24T23:59:00+00:00");
    }

    #[test]
    fn the_local_time_stays_the_same_across_a_daylight_saving_change() {
        // Berlin moves to summer time on 2027-03-28: the week before ends at 23:59 CET
        // (22:59 UTC), the week that contains the change at 23:59 CEST (21:59 UTC).
        let tz = time_zone("Europe/Berlin").unwrap();
        let start = date(2027, 3, 15);
        assert_eq!(
            due_at(start, 1, tz).unwrap().to_rfc3339(),
            "2027-03-21T22:59:00+00:00"
        );
        let week2 = due_at(start, 2, tz).unwrap();
        assert_eq!(week2.to_rfc3339(), "2027-03-28T21:59:00+00:00");
        assert_eq!(local_rfc3339(week2, tz), "2027-03-28T23:59:00+02:00");
        // New York moves back on 2027-11-07: 23:59 EDT, then 23:59 EST.
        let tz = time_zone("America/New_York").unwrap();
        let start = date(2027, 10, 25);
        assert_eq!(
            due_at(start, 1, tz).unwrap().to_rfc3339(),
            "2027-11-01T03:59:00+00:00"
        );
        assert_eq!(
            due_at(start, 2, tz).unwrap().to_rfc3339(),
            "2027-11-08T04:59:00+00:00"
        );
    }

    #[test]
    fn unknown_time_zones_are_refused() {
        assert!(time_zone("Europe/Atlantis").is_none());
        assert!(time_zone("").is_none());
        assert!(time_zone(&"A".repeat(10_000)).is_none());
        assert!(time_zone("Asia/Kolkata").is_some());
    }

    #[test]
    fn dates_past_the_calendar_are_none_not_a_panic() {
        let tz = time_zone("UTC").unwrap();
        assert!(due_at(NaiveDate::MAX, 2, tz).is_none());
    }
}
