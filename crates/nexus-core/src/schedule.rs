//! Cron expressions for recurring jobs, parsed by `croner`.
//!
//! A schedule fires once per *period*: the period is named by the fire time it belongs to,
//! the latest fire time at or before now. Workers enqueue the job for that fire time with
//! a dedupe key made of the schedule name and the time, so any number of workers, each
//! ticking on its own clock, produce one job per period; a process that was down at fire
//! time catches up with one job, not one per missed period.

use chrono::{DateTime, Datelike, Utc};

#[derive(Debug, Clone)]
pub struct Cron {
    inner: croner::Cron,
}

impl Cron {
    /// Parses `sec min hour day month weekday` (seconds optional), in UTC.
    pub fn parse(expr: &str) -> Result<Cron, String> {
        let parser = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Optional)
            .build();
        parser
            .parse(expr)
            .map(|inner| Cron { inner })
            .map_err(|e| format!("`{expr}` is not a cron expression: {e}"))
    }

    /// The fire time of the current period: the latest match at or before `now`.
    pub fn current_fire(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.inner.find_previous_occurrence(&now, true).ok()
    }

    pub fn next_fire(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.inner.find_next_occurrence(&after, false).ok()
    }
}

/// The dedupe key of one period of one schedule.
pub fn period_key(name: &str, fire: DateTime<Utc>) -> String {
    format!("schedule:{name}:{}", fire.format("%Y-%m-%dT%H:%M:%SZ"))
}

/// The ISO week a fire time falls in, `2027-W10`: the period a weekly email belongs to,
/// whichever schedule sends it, so two weekly schedules agree on what "this week" is.
pub fn iso_week(fire: DateTime<Utc>) -> String {
    let week = fire.iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn iso_weeks_run_monday_to_sunday_and_belong_to_the_year_of_their_thursday() {
        let at = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 7, 0, 0).unwrap();
        assert_eq!(iso_week(at(2027, 3, 1)), "2027-W09");
        assert_eq!(iso_week(at(2027, 3, 7)), "2027-W09");
        assert_eq!(iso_week(at(2027, 3, 8)), "2027-W10");
        // 1 January 2027 is a Friday: it belongs to the last week of 2026.
        assert_eq!(iso_week(at(2027, 1, 1)), "2026-W53");
        assert_eq!(iso_week(at(2025, 12, 29)), "2026-W01");
    }

    #[test]
    fn weekly_schedule_names_the_same_period_all_week() {
        let cron = Cron::parse("0 0 8 * * Mon").unwrap();
        let tue = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
        let sun = Utc.with_ymd_and_hms(2026, 11, 29, 23, 59, 59).unwrap();
        let mon = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap();
        assert_eq!(cron.current_fire(tue), Some(mon));
        assert_eq!(cron.current_fire(sun), Some(mon));
        assert_eq!(
            cron.current_fire(mon),
            Some(mon),
            "the fire time is inclusive"
        );
        let next_mon = Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap();
        assert_eq!(cron.next_fire(mon), Some(next_mon));
        assert_eq!(
            period_key("weekly_digest", mon),
            "schedule:weekly_digest:2026-11-23T08:00:00Z"
        );
    }

    #[test]
    fn nonsense_is_refused_with_the_expression_named() {
        for bad in ["", "every monday", "61 * * * * *", "* * * * * * * *"] {
            let e = Cron::parse(bad).unwrap_err();
            assert!(e.contains("cron"), "{bad}: {e}");
        }
        assert!(
            Cron::parse("*/5 * * * *").is_ok(),
            "five fields are minutes"
        );
    }
}
