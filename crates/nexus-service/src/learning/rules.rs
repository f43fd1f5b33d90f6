//! The rules of a course document, written once: `POST` and `PUT /courses`, the zip
//! import and `nexus course import` all call [`check_course`] (and [`check_readings`]
//! once the database has said which notes exist).
//!
//! Every list has a bound and is not walked past it, and every string has a length, so
//! no document costs more than a fixed amount of work, whatever it holds. Strings are
//! trimmed in place while they are checked: the stored document is the normalised one, so
//! exporting and importing it again gives the same document.

use std::collections::HashSet;

use nexus_core::{AppError, FieldError};

use super::model::{Bloom, CourseDocument, Criterion, Deliverable, ProgressionNote, Rubric, Week};

pub const MAX_WEEKS: usize = 104;
pub const MAX_WEEKLY_HOURS: u32 = 80;
const MAX_LIST_ITEMS: usize = 50;
const MAX_PHASES: usize = 52;
const MAX_OBJECTIVES: usize = 30;
const MAX_LABS: usize = 20;
const MAX_READINGS: usize = 30;
const MAX_PROJECTS: usize = 20;
const MAX_PROJECT_DELIVERABLES: usize = 20;
const MAX_RUBRICS: usize = 50;
const MAX_CRITERIA: usize = 20;
const MAX_LEVELS: usize = 10;
const MAX_EVIDENCE: usize = 4;

pub const SLUG_MAX: usize = 80;
const CODE_MAX: usize = 40;
const TITLE_MAX: usize = 200;
const LABEL_MAX: usize = 80;
const LINE_MAX: usize = 1000;
const TEXT_MAX: usize = 4000;
const SUMMARY_MAX: usize = 20_000;
/// Scores live in this range; weights are positive and at most this.
const SCORE_BOUND: i32 = 1000;
const WEIGHT_MAX: f64 = 1000.0;
/// A document with hundreds of faults gets the first ones: enough to fix, bounded to send.
const MAX_ERRORS: usize = 100;

/// Field errors, collected up to [`MAX_ERRORS`].
#[derive(Default)]
pub struct Faults {
    errors: Vec<FieldError>,
}

impl Faults {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(FieldError::new(field, message));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn finish(self) -> Result<(), AppError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.errors))
        }
    }

    /// A string field: trimmed in place, at most `max` characters, not empty when
    /// `required`, and free of control characters (line breaks and tabs allowed where
    /// `multiline`).
    pub(crate) fn text(
        &mut self,
        field: &str,
        value: &mut String,
        max: usize,
        required: bool,
        multiline: bool,
    ) {
        let trimmed = value.trim();
        if trimmed.len() != value.len() {
            *value = trimmed.to_owned();
        }
        let chars = value.chars().count();
        if required && chars == 0 {
            self.add(field, "must not be empty");
        } else if chars > max {
            self.add(field, format!("must be at most {max} characters"));
        } else if value
            .chars()
            .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t')))
        {
            self.add(field, "must not contain control characters");
        }
    }

    pub(crate) fn title(&mut self, field: &str, value: &mut String) {
        self.text(field, value, TITLE_MAX, true, false);
    }

    pub(crate) fn slug(&mut self, field: &str, value: &str) -> bool {
        let ok = nexus_core::hub::is_slug_within(value, SLUG_MAX);
        if !ok {
            self.add(
                field,
                format!(
                    "must be 1-{SLUG_MAX} lowercase letters, digits and single hyphens, \
                     neither first nor last"
                ),
            );
        }
        ok
    }

    /// An objective code or criterion key: letters, digits, `.`, `_` and `-`.
    fn code(&mut self, field: &str, value: &str) -> bool {
        let ok = !value.is_empty()
            && value.len() <= CODE_MAX
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !ok {
            self.add(
                field,
                format!("must be 1-{CODE_MAX} letters, digits, dots, underscores or hyphens"),
            );
        }
        ok
    }

    /// Whether a list is within `max` items (and has at least `min`); a list too long is
    /// reported and not walked.
    pub(crate) fn list(&mut self, field: &str, len: usize, min: usize, max: usize) -> bool {
        if len > max {
            self.add(field, format!("must have at most {max} items"));
            return false;
        }
        if len < min {
            self.add(field, format!("must have at least {min} item(s)"));
        }
        true
    }

    fn lines(&mut self, field: &str, items: &mut [String]) {
        if self.list(field, items.len(), 0, MAX_LIST_ITEMS) {
            for (i, item) in items.iter_mut().enumerate() {
                self.text(&format!("{field}[{i}]"), item, LINE_MAX, true, false);
            }
        }
    }
}

fn unique(seen: &mut HashSet<String>, faults: &mut Faults, what: &str, field: &str, name: &str) {
    if !seen.insert(name.to_owned()) {
        faults.add(field, format!("duplicate {what} `{name}`"));
    }
}

/// Checks (and trims) every field of a course document that needs no database; the
/// readings' notes are checked by [`check_readings`].
pub fn check_course(doc: &mut CourseDocument, faults: &mut Faults) {
    faults.slug("slug", &doc.slug);
    faults.title("title", &mut doc.title);
    faults.text("summary", &mut doc.summary, TEXT_MAX, false, true);
    if doc.duration_weeks == 0 || doc.duration_weeks as usize > MAX_WEEKS {
        faults.add(
            "duration_weeks",
            format!("must be between 1 and {MAX_WEEKS}"),
        );
    }
    if doc.weekly_hours == 0 || doc.weekly_hours > MAX_WEEKLY_HOURS {
        faults.add(
            "weekly_hours",
            format!("must be between 1 and {MAX_WEEKLY_HOURS}"),
        );
    }
    faults.lines("prerequisites", &mut doc.prerequisites);
    faults.lines("outcomes", &mut doc.outcomes);

    // Rubrics first: deliverables name them.
    let rubrics = check_rubrics(&mut doc.rubrics, faults);
    let mut deliverables = HashSet::new();
    let weeks_ok = faults.list("weeks", doc.weeks.len(), 1, MAX_WEEKS);
    // The week numbers valid elsewhere in the document: 1..=N when the weeks are right.
    let n = if weeks_ok { doc.weeks.len() as u32 } else { 0 };
    if weeks_ok {
        if doc.duration_weeks as usize != doc.weeks.len() && !doc.weeks.is_empty() {
            faults.add(
                "duration_weeks",
                format!(
                    "must equal the number of weeks ({}); weeks are numbered 1..duration_weeks",
                    doc.weeks.len()
                ),
            );
        }
        let mut codes = HashSet::new();
        let mut labs = HashSet::new();
        for (i, week) in doc.weeks.iter_mut().enumerate() {
            let ctx = WeekScope {
                rubrics: &rubrics,
                codes: &mut codes,
                labs: &mut labs,
                deliverables: &mut deliverables,
            };
            check_week(i, week, ctx, faults);
        }
    }

    if faults.list("phases", doc.phases.len(), 0, MAX_PHASES) {
        let mut spans: Vec<(u32, u32, usize)> = Vec::new();
        for (i, phase) in doc.phases.iter_mut().enumerate() {
            let field = format!("phases[{i}]");
            faults.title(&format!("{field}.title"), &mut phase.title);
            let (first, last) = (phase.first_week, phase.last_week);
            if first == 0 || first > n {
                faults.add(
                    format!("{field}.first_week"),
                    format!("must be a week of the course (1-{n})"),
                );
            } else if last < first || last > n {
                faults.add(
                    format!("{field}.last_week"),
                    format!("must be a week of the course from first_week ({first}) to {n}"),
                );
            } else if let Some((_, _, j)) = spans.iter().find(|(a, b, _)| first <= *b && *a <= last)
            {
                faults.add(field, format!("overlaps phases[{j}]"));
            } else {
                spans.push((first, last, i));
            }
        }
    }

    if faults.list("projects", doc.projects.len(), 0, MAX_PROJECTS) {
        let mut slugs = HashSet::new();
        for (i, project) in doc.projects.iter_mut().enumerate() {
            let field = format!("projects[{i}]");
            if faults.slug(&format!("{field}.slug"), &project.slug) {
                unique(
                    &mut slugs,
                    faults,
                    "project",
                    &format!("{field}.slug"),
                    &project.slug,
                );
            }
            faults.title(&format!("{field}.title"), &mut project.title);
            faults.text(
                &format!("{field}.summary"),
                &mut project.summary,
                TEXT_MAX,
                false,
                true,
            );
            let list = format!("{field}.deliverables");
            if faults.list(
                &list,
                project.deliverables.len(),
                1,
                MAX_PROJECT_DELIVERABLES,
            ) {
                for (j, d) in project.deliverables.iter_mut().enumerate() {
                    let field = format!("{list}[{j}]");
                    check_deliverable(&field, d, &rubrics, &mut deliverables, faults);
                    match d.due_week {
                        Some(week) if (1..=n).contains(&week) => {}
                        _ => faults.add(
                            format!("{field}.due_week"),
                            format!("must be a week of the course (1-{n})"),
                        ),
                    }
                }
            }
        }
    }
}

struct WeekScope<'a> {
    rubrics: &'a HashSet<String>,
    codes: &'a mut HashSet<String>,
    labs: &'a mut HashSet<String>,
    deliverables: &'a mut HashSet<String>,
}

fn check_week(i: usize, week: &mut Week, ctx: WeekScope<'_>, faults: &mut Faults) {
    let field = format!("weeks[{i}]");
    if week.number as usize != i + 1 {
        faults.add(
            format!("{field}.number"),
            format!("weeks are numbered 1..N in order: expected {}", i + 1),
        );
    }
    faults.title(&format!("{field}.title"), &mut week.title);
    faults.text(
        &format!("{field}.summary"),
        &mut week.summary,
        SUMMARY_MAX,
        false,
        true,
    );
    let list = format!("{field}.objectives");
    if faults.list(&list, week.objectives.len(), 0, MAX_OBJECTIVES) {
        for (j, o) in week.objectives.iter_mut().enumerate() {
            let f = format!("{list}[{j}]");
            if faults.code(&format!("{f}.code"), &o.code) {
                unique(
                    ctx.codes,
                    faults,
                    "objective code",
                    &format!("{f}.code"),
                    &o.code,
                );
            }
            faults.text(&format!("{f}.text"), &mut o.text, LINE_MAX, true, false);
        }
    }
    let list = format!("{field}.labs");
    if faults.list(&list, week.labs.len(), 0, MAX_LABS) {
        for (j, lab) in week.labs.iter_mut().enumerate() {
            let f = format!("{list}[{j}]");
            if faults.slug(&format!("{f}.slug"), &lab.slug) {
                unique(ctx.labs, faults, "lab", &format!("{f}.slug"), &lab.slug);
            }
            faults.title(&format!("{f}.title"), &mut lab.title);
            faults.text(
                &format!("{f}.description"),
                &mut lab.description,
                TEXT_MAX,
                false,
                true,
            );
        }
    }
    let list = format!("{field}.readings");
    if faults.list(&list, week.readings.len(), 0, MAX_READINGS) {
        let mut seen = HashSet::new();
        for (j, slug) in week.readings.iter().enumerate() {
            let f = format!("{list}[{j}]");
            if faults.slug(&f, slug) {
                unique(&mut seen, faults, "reading", &f, slug);
            }
        }
    }
    if let Some(d) = week.deliverable.as_mut() {
        let field = format!("{field}.deliverable");
        check_deliverable(&field, d, ctx.rubrics, ctx.deliverables, faults);
        if d.due_week.is_some() {
            faults.add(
                format!("{field}.due_week"),
                "is for a project's deliverable; a week's is due at the end of its week",
            );
        }
    }
}

fn check_deliverable(
    field: &str,
    d: &mut Deliverable,
    rubrics: &HashSet<String>,
    seen: &mut HashSet<String>,
    faults: &mut Faults,
) {
    if faults.slug(&format!("{field}.slug"), &d.slug) {
        unique(
            seen,
            faults,
            "deliverable",
            &format!("{field}.slug"),
            &d.slug,
        );
    }
    faults.title(&format!("{field}.title"), &mut d.title);
    faults.text(
        &format!("{field}.description"),
        &mut d.description,
        TEXT_MAX,
        false,
        true,
    );
    let list = format!("{field}.evidence");
    if faults.list(&list, d.evidence.len(), 0, MAX_EVIDENCE) {
        let mut kinds = HashSet::new();
        for (j, kind) in d.evidence.iter().enumerate() {
            if !kinds.insert(*kind) {
                faults.add(format!("{list}[{j}]"), "names an evidence kind twice");
            }
        }
    }
    if !rubrics.contains(&d.rubric) {
        faults.add(
            format!("{field}.rubric"),
            format!("names no rubric of this course (`{}`)", clip(&d.rubric)),
        );
    }
}

/// Checks the rubrics and returns the slugs of those that may be referred to.
fn check_rubrics(rubrics: &mut [Rubric], faults: &mut Faults) -> HashSet<String> {
    let mut slugs = HashSet::new();
    if !faults.list("rubrics", rubrics.len(), 0, MAX_RUBRICS) {
        return slugs;
    }
    for (i, rubric) in rubrics.iter_mut().enumerate() {
        let field = format!("rubrics[{i}]");
        if faults.slug(&format!("{field}.slug"), &rubric.slug) {
            unique(
                &mut slugs,
                faults,
                "rubric",
                &format!("{field}.slug"),
                &rubric.slug,
            );
        }
        faults.title(&format!("{field}.title"), &mut rubric.title);
        let list = format!("{field}.criteria");
        if faults.list(&list, rubric.criteria.len(), 1, MAX_CRITERIA) {
            let mut keys = HashSet::new();
            for (j, c) in rubric.criteria.iter_mut().enumerate() {
                let f = format!("{list}[{j}]");
                if faults.code(&format!("{f}.key"), &c.key) {
                    unique(
                        &mut keys,
                        faults,
                        "criterion key",
                        &format!("{f}.key"),
                        &c.key,
                    );
                }
                check_criterion(&f, c, faults);
            }
        }
    }
    slugs
}

fn check_criterion(field: &str, c: &mut Criterion, faults: &mut Faults) {
    faults.title(&format!("{field}.title"), &mut c.title);
    faults.text(
        &format!("{field}.description"),
        &mut c.description,
        TEXT_MAX,
        false,
        true,
    );
    if !(c.weight.is_finite() && c.weight > 0.0 && c.weight <= WEIGHT_MAX) {
        faults.add(
            format!("{field}.weight"),
            format!("must be positive and at most {WEIGHT_MAX}"),
        );
    }
    let bound = -SCORE_BOUND..=SCORE_BOUND;
    if !bound.contains(&c.min) {
        faults.add(
            format!("{field}.min"),
            format!("must be between -{SCORE_BOUND} and {SCORE_BOUND}"),
        );
        return;
    }
    if !bound.contains(&c.max) || c.max <= c.min {
        faults.add(
            format!("{field}.max"),
            format!("must be greater than min and at most {SCORE_BOUND}"),
        );
        return;
    }
    let list = format!("{field}.levels");
    if !faults.list(&list, c.levels.len(), 0, MAX_LEVELS) {
        return;
    }
    let mut ranges: Vec<(i32, i32, usize)> = Vec::new();
    for (k, level) in c.levels.iter_mut().enumerate() {
        let f = format!("{list}[{k}]");
        faults.text(
            &format!("{f}.label"),
            &mut level.label,
            LABEL_MAX,
            true,
            false,
        );
        faults.text(
            &format!("{f}.description"),
            &mut level.description,
            LINE_MAX,
            false,
            true,
        );
        if level.min > level.max {
            faults.add(format!("{f}.max"), "must not be below the level's min");
        } else if level.min < c.min || level.max > c.max {
            faults.add(
                f,
                format!(
                    "the range {}-{} is outside the criterion's range {}-{}",
                    level.min, level.max, c.min, c.max
                ),
            );
        } else if let Some((_, _, other)) = ranges
            .iter()
            .find(|(a, b, _)| level.min <= *b && *a <= level.max)
        {
            faults.add(f, format!("overlaps levels[{other}]"));
        } else {
            ranges.push((level.min, level.max, k));
        }
    }
}

/// The distinct, well-formed note slugs the weeks read, for one database lookup.
pub fn reading_slugs(doc: &CourseDocument) -> Vec<String> {
    let mut all: Vec<String> = doc
        .weeks
        .iter()
        .take(MAX_WEEKS)
        .flat_map(|w| w.readings.iter().take(MAX_READINGS))
        .filter(|s| nexus_core::hub::is_slug_within(s, SLUG_MAX))
        .cloned()
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// Every reading must be a published note; `known` holds those that are.
pub fn check_readings(doc: &CourseDocument, known: &HashSet<String>, faults: &mut Faults) {
    for (i, week) in doc.weeks.iter().take(MAX_WEEKS).enumerate() {
        for (j, slug) in week.readings.iter().take(MAX_READINGS).enumerate() {
            if nexus_core::hub::is_slug_within(slug, SLUG_MAX) && !known.contains(slug) {
                faults.add(
                    format!("weeks[{i}].readings[{j}]"),
                    format!("no published note `{slug}`"),
                );
            }
        }
    }
}

/// Objectives whose level falls below the highest level of the week before.
pub fn progression(doc: &CourseDocument) -> Vec<ProgressionNote> {
    let mut notes = Vec::new();
    let mut previous: Option<Bloom> = None;
    for week in &doc.weeks {
        if let Some(highest) = previous {
            for o in &week.objectives {
                if o.bloom < highest {
                    notes.push(ProgressionNote {
                        week: week.number,
                        code: o.code.clone(),
                        bloom: o.bloom,
                        previous_highest: highest,
                    });
                }
            }
        }
        previous = week.objectives.iter().map(|o| o.bloom).max();
    }
    notes
}

/// A name quoted back to the client, cut short.
pub(crate) fn clip(s: &str) -> String {
    s.chars().take(SLUG_MAX).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learning::model::example_course;

    fn doc() -> CourseDocument {
        serde_json::from_value(example_course()).unwrap()
    }

    fn fields(mut d: CourseDocument) -> Vec<String> {
        let mut faults = Faults::default();
        check_course(&mut d, &mut faults);
        faults.errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn the_example_is_valid_and_trimmed_in_place() {
        let mut d = doc();
        d.title = "  Intro  ".into();
        let mut faults = Faults::default();
        check_course(&mut d, &mut faults);
        assert!(faults.is_empty(), "{:?}", faults.errors);
        assert_eq!(d.title, "Intro");
    }

    #[test]
    fn overlapping_levels_and_levels_outside_the_range_are_named() {
        let mut d = doc();
        let c = &mut d.rubrics[0].criteria[0];
        c.levels[1].min = 1;
        assert_eq!(fields(d.clone()), ["rubrics[0].criteria[0].levels[1]"]);
        let c = &mut d.rubrics[0].criteria[0];
        c.levels[1].min = 2;
        c.levels[1].max = 5;
        assert_eq!(fields(d), ["rubrics[0].criteria[0].levels[1]"]);
    }

    #[test]
    fn a_list_past_its_bound_is_reported_once_and_not_walked() {
        let mut d = doc();
        d.weeks[0].labs = (0..10_000).map(|_| d.weeks[0].labs[0].clone()).collect();
        assert_eq!(fields(d), ["weeks[0].labs"]);
    }

    #[test]
    fn progression_lists_objectives_below_the_previous_weeks_highest() {
        let mut d = doc();
        assert!(progression(&d).is_empty());
        d.weeks[1].objectives[0].bloom = Bloom::Remember;
        let notes = progression(&d);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].code, "W02.1");
        assert_eq!(notes[0].previous_highest, Bloom::Understand);
    }
}
