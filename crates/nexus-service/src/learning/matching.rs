//! The collaborator match score: a pure function of two learners' facts and the time,
//! so that every number is unit-tested here without a database. The formula is
//! documented in `docs/learning/matching.md` and in the description of
//! `GET /api/v1/collaborators/matches`; keep the three in step.
//!
//! Five parts, 100 points at most:
//! - track, 0-40 ([`track_points`]): how much the two tracks complete each other;
//! - cohort, 0 or 20: active learners of the same cohort (so in the same week of it);
//! - topics, 0-20: 5 per shared topic, at most 4 (topics of the profile and of the
//!   learner's published notes);
//! - time zones, 0-10: hours both are inside their local working window (09:00-21:00) on
//!   the current date, out of 12 ([`overlap_hours`]);
//! - availability, 0-10: the smaller of the two `weekly_hours`, at most 10 (a pair moves
//!   at its slower member's pace; ten hours a week is enough for a project).
//!
//! Each part is rounded to one decimal, and so is their sum; parts worth 0 give no reason.

use std::collections::BTreeSet;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use nexus_core::learning::CollaborationTrack;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The local working window: from 09:00 to 21:00.
pub const WINDOW: (u32, u32) = (9, 21);
pub const TRACK_MAX: f64 = 40.0;
pub const COHORT_POINTS: f64 = 20.0;
pub const TOPIC_POINTS: f64 = 5.0;
pub const TOPICS_COUNTED: usize = 4;
pub const TIMEZONE_MAX: f64 = 10.0;
pub const AVAILABILITY_MAX: f64 = 10.0;

/// Which part of the score a reason is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReasonKind {
    Track,
    Cohort,
    Topics,
    Timezone,
    Availability,
}

/// One part of a match's score, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MatchReason {
    pub kind: ReasonKind,
    /// What this part adds to `score`.
    #[schema(example = 40.0)]
    pub points: f64,
    #[schema(example = "backend ↔ frontend")]
    pub detail: String,
}

/// What matching knows of one learner.
#[derive(Debug, Clone)]
pub struct Facts {
    pub track: CollaborationTrack,
    /// Topic slugs: the profile's and those of the learner's published notes.
    pub topics: BTreeSet<String>,
    /// The cohorts the learner is an active learner of, by slug, with the cohort's
    /// current week (`None` before it starts).
    pub cohorts: Vec<(String, Option<u32>)>,
    pub weekly_hours: u32,
    pub tz: Tz,
}

/// Points for a pair of tracks, the same either way round.
///
/// | pair | points | why |
/// | --- | --- | --- |
/// | backend ↔ frontend, backend ↔ mobile | 40 | one builds the API, the other its client |
/// | fullstack ↔ backend, frontend or mobile | 20 | covers either half; the other brings depth |
/// | devops ↔ backend or fullstack | 20 | deploys and runs what the other builds |
/// | devops ↔ frontend or mobile, frontend ↔ mobile | 10 | little to build together alone |
/// | the same track | 0 | nothing to complete |
pub fn track_points(a: CollaborationTrack, b: CollaborationTrack) -> f64 {
    use CollaborationTrack::{Backend, Devops, Frontend, Fullstack, Mobile};
    match (a, b) {
        (Backend, Frontend | Mobile) | (Frontend | Mobile, Backend) => 40.0,
        (Fullstack, Backend | Frontend | Mobile) | (Backend | Frontend | Mobile, Fullstack) => 20.0,
        (Devops, Backend | Fullstack) | (Backend | Fullstack, Devops) => 20.0,
        (Devops, Frontend | Mobile)
        | (Frontend | Mobile, Devops)
        | (Frontend, Mobile)
        | (Mobile, Frontend) => 10.0,
        _ => 0.0,
    }
}

/// The instants of `tz`'s working window on its local `day`; `None` where a bound does
/// not exist that day (a zone that skips 09:00 or 21:00), which counts as no window.
fn window(tz: Tz, day: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let at = |h: u32| {
        NaiveTime::from_hms_opt(h, 0, 0)
            .and_then(|t| tz.from_local_datetime(&day.and_time(t)).earliest())
            .map(|t| t.with_timezone(&Utc))
    };
    Some((at(WINDOW.0)?, at(WINDOW.1)?))
}

/// Hours that `a`'s working window on its current local date (at `now`) overlaps `b`'s
/// windows (on the days around it, since the two dates may differ), to the minute.
#[allow(clippy::cast_precision_loss, reason = "minutes in three days")]
pub fn overlap_hours(a: Tz, b: Tz, now: DateTime<Utc>) -> f64 {
    let today = now.with_timezone(&a).date_naive();
    let Some((start, end)) = window(a, today) else {
        return 0.0;
    };
    let days = [
        today.checked_sub_days(Days::new(1)),
        Some(today),
        today.checked_add_days(Days::new(1)),
    ];
    let minutes: i64 = days
        .into_iter()
        .flatten()
        .filter_map(|d| window(b, d))
        .map(|(s, e)| (end.min(e) - start.max(s)).num_minutes().max(0))
        .sum();
    minutes as f64 / 60.0
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Hours as people write them: `8`, `6.5`.
fn hours_text(h: f64) -> String {
    format!("{}", round1(h))
}

/// The score of `them` for `me` at `now`, with a reason for each part worth anything.
pub fn score(me: &Facts, them: &Facts, now: DateTime<Utc>) -> (f64, Vec<MatchReason>) {
    let mut reasons = Vec::new();
    let mut add = |kind, points: f64, detail: String| {
        let points = round1(points);
        if points > 0.0 {
            reasons.push(MatchReason {
                kind,
                points,
                detail,
            });
        }
    };
    add(
        ReasonKind::Track,
        track_points(me.track, them.track),
        format!("{} ↔ {}", me.track, them.track),
    );
    let shared_cohorts: Vec<String> = me
        .cohorts
        .iter()
        .filter(|(slug, _)| them.cohorts.iter().any(|(s, _)| s == slug))
        .map(|(slug, week)| match week {
            Some(w) => format!("{slug} (week {w})"),
            None => format!("{slug} (not started)"),
        })
        .collect();
    if !shared_cohorts.is_empty() {
        add(
            ReasonKind::Cohort,
            COHORT_POINTS,
            format!("same cohort: {}", shared_cohorts.join(", ")),
        );
    }
    let shared: Vec<&str> = me
        .topics
        .intersection(&them.topics)
        .map(String::as_str)
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let counted = shared.len().min(TOPICS_COUNTED) as f64;
    add(
        ReasonKind::Topics,
        counted * TOPIC_POINTS,
        format!("shared topics: {}", shared.join(", ")),
    );
    let hours = overlap_hours(me.tz, them.tz, now);
    add(
        ReasonKind::Timezone,
        hours / 12.0 * TIMEZONE_MAX,
        format!(
            "{} h of working hours ({:02}:00-{:02}:00 local) overlap today",
            hours_text(hours),
            WINDOW.0,
            WINDOW.1
        ),
    );
    let both = me.weekly_hours.min(them.weekly_hours);
    add(
        ReasonKind::Availability,
        f64::from(both).min(AVAILABILITY_MAX),
        format!("both can give {both} h a week or more"),
    );
    let total = round1(reasons.iter().map(|r| r.points).sum());
    (total, reasons)
}

/// The current week of a cohort that starts on `starts_on`, on local date `today`;
/// `None` before it starts.
pub fn current_week(starts_on: NaiveDate, today: NaiveDate) -> Option<u32> {
    let days = (today - starts_on).num_days();
    if days < 0 {
        return None;
    }
    u32::try_from(days / 7 + 1).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nexus_core::learning::CollaborationTrack::{Backend, Devops, Frontend, Fullstack, Mobile};

    fn tz(name: &str) -> Tz {
        nexus_core::learning::time_zone(name).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn tracks_score_the_same_either_way_round() {
        let all = [Backend, Frontend, Fullstack, Mobile, Devops];
        for a in all {
            for b in all {
                assert_eq!(track_points(a, b), track_points(b, a), "{a} {b}");
            }
            assert_eq!(track_points(a, a), 0.0);
        }
        assert_eq!(track_points(Backend, Frontend), 40.0);
        assert_eq!(track_points(Mobile, Backend), 40.0);
        assert_eq!(track_points(Fullstack, Frontend), 20.0);
        assert_eq!(track_points(Devops, Backend), 20.0);
        assert_eq!(track_points(Devops, Mobile), 10.0);
        assert_eq!(track_points(Frontend, Mobile), 10.0);
    }

    #[test]
    fn overlap_is_counted_in_each_zone_s_own_window() {
        let now = at("2027-01-15T12:00:00Z");
        assert_eq!(overlap_hours(tz("UTC"), tz("UTC"), now), 12.0);
        // Kolkata (+05:30) works 03:30-15:30 UTC.
        assert_eq!(overlap_hours(tz("UTC"), tz("Asia/Kolkata"), now), 6.5);
        assert_eq!(overlap_hours(tz("Asia/Kolkata"), tz("UTC"), now), 6.5);
        // Tokyo (+09:00) works 00:00-12:00 UTC.
        assert_eq!(overlap_hours(tz("UTC"), tz("Asia/Tokyo"), now), 3.0);
        // Bogotá (-05:00) works 14:00-02:00 UTC.
        assert_eq!(overlap_hours(tz("UTC"), tz("America/Bogota"), now), 7.0);
        // Auckland (+13:00 in January) and Honolulu (-10:00) are 23 hours apart: an
        // hour apart on the clock, a day apart on the calendar, and 11 hours overlap.
        assert_eq!(
            overlap_hours(tz("Pacific/Auckland"), tz("Pacific/Honolulu"), now),
            11.0
        );
    }

    #[test]
    fn daylight_saving_time_moves_the_overlap() {
        // Berlin and New York are 6 hours apart in winter and in summer, and only 5 in
        // the weeks of March when the United States has changed its clocks and Europe
        // not yet.
        let berlin = tz("Europe/Berlin");
        let new_york = tz("America/New_York");
        assert_eq!(
            overlap_hours(berlin, new_york, at("2027-01-15T12:00:00Z")),
            6.0
        );
        assert_eq!(
            overlap_hours(berlin, new_york, at("2027-07-15T12:00:00Z")),
            6.0
        );
        assert_eq!(
            overlap_hours(berlin, new_york, at("2027-03-20T12:00:00Z")),
            7.0
        );
    }

    #[test]
    fn the_parts_add_up_and_empty_parts_give_no_reason() {
        let now = at("2027-01-15T12:00:00Z");
        let me = Facts {
            track: Backend,
            topics: ["caching".to_owned(), "queues".to_owned()].into(),
            cohorts: vec![("walk".to_owned(), Some(2))],
            weekly_hours: 10,
            tz: tz("UTC"),
        };
        let them = Facts {
            track: Frontend,
            topics: ["caching".to_owned(), "queues".to_owned(), "css".to_owned()].into(),
            cohorts: vec![("walk".to_owned(), Some(2))],
            weekly_hours: 6,
            tz: tz("Asia/Kolkata"),
        };
        let (total, reasons) = score(&me, &them, now);
        let points: Vec<(ReasonKind, f64)> = reasons.iter().map(|r| (r.kind, r.points)).collect();
        assert_eq!(
            points,
            [
                (ReasonKind::Track, 40.0),
                (ReasonKind::Cohort, 20.0),
                (ReasonKind::Topics, 10.0),
                (ReasonKind::Timezone, 5.4),
                (ReasonKind::Availability, 6.0),
            ]
        );
        assert_eq!(total, 81.4);
        assert_eq!(reasons[1].detail, "same cohort: walk (week 2)");
        assert_eq!(reasons[2].detail, "shared topics: caching, queues");
        assert_eq!(
            reasons[3].detail,
            "6.5 h of working hours (09:00-21:00 local) overlap today"
        );
        let same = Facts {
            track: Backend,
            topics: BTreeSet::new(),
            cohorts: Vec::new(),
            ..me.clone()
        };
        let (_, reasons) = score(&me, &same, now);
        let kinds: Vec<ReasonKind> = reasons.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, [ReasonKind::Timezone, ReasonKind::Availability]);
    }

    #[test]
    fn weeks_count_from_the_start_day() {
        let start = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        assert_eq!(current_week(start, start), Some(1));
        assert_eq!(
            current_week(start, NaiveDate::from_ymd_opt(2027, 3, 7).unwrap()),
            Some(1)
        );
        assert_eq!(
            current_week(start, NaiveDate::from_ymd_opt(2027, 3, 8).unwrap()),
            Some(2)
        );
        assert_eq!(
            current_week(start, NaiveDate::from_ymd_opt(2027, 2, 28).unwrap()),
            None
        );
    }
}
