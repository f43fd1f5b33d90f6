//! The learning domain's types: the course document as authors write it (JSON through
//! REST, YAML and Markdown as code) and the views the API answers with.
//!
//! The document types refuse unknown fields, so a misspelt key in `course.yaml` is an
//! error rather than a silently dropped setting; `bloom` and `evidence` are enums, so an
//! unknown value is refused by the parser with the path of the field. The bounds and the
//! cross-references are checked in [`super::rules`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Bloom's revised taxonomy, lowest to highest: the order is the progression the
/// import report checks.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Bloom {
    Remember,
    Understand,
    Apply,
    Analyze,
    Evaluate,
    Create,
}

impl Bloom {
    pub fn as_str(self) -> &'static str {
        match self {
            Bloom::Remember => "remember",
            Bloom::Understand => "understand",
            Bloom::Apply => "apply",
            Bloom::Analyze => "analyze",
            Bloom::Evaluate => "evaluate",
            Bloom::Create => "create",
        }
    }
}

/// What a learner hands in as proof of a deliverable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EvidenceKind {
    /// A public URL (a write-up, a recording).
    Link,
    /// A source repository.
    Repo,
    /// An uploaded file.
    File,
    /// A note in the knowledge hub.
    Note,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CourseLevel {
    Beginner,
    Intermediate,
    Advanced,
}

impl CourseLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            CourseLevel::Beginner => "beginner",
            CourseLevel::Intermediate => "intermediate",
            CourseLevel::Advanced => "advanced",
        }
    }

    pub fn parse(s: &str) -> Option<CourseLevel> {
        [
            CourseLevel::Beginner,
            CourseLevel::Intermediate,
            CourseLevel::Advanced,
        ]
        .into_iter()
        .find(|l| l.as_str() == s)
    }
}

/// A whole course: what `POST /courses` and `PUT /courses/{slug}` take, and what every
/// version keeps, unchanged, for the cohorts that run on it.
///
/// Unlike every part inside it, the document itself ignores fields it does not know, so
/// that a course as `GET` answers it (with its `version` and `created_at`) can be edited
/// and sent back with `PUT` as it is; and so that its schema can be extended by the
/// answer's (`CourseView`). `course.yaml` is strict about its keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!(crate::learning::model::example_course()))]
pub struct CourseDocument {
    #[schema(example = "scalable-architectures", max_length = 80)]
    pub slug: String,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub summary: String,
    pub level: CourseLevel,
    /// The number of weeks; `weeks` numbers them 1..=`duration_weeks`.
    #[schema(minimum = 1, maximum = 104)]
    pub duration_weeks: u32,
    /// Expected study hours per week.
    #[schema(minimum = 1, maximum = 80)]
    pub weekly_hours: u32,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub prerequisites: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub outcomes: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 52)]
    pub phases: Vec<Phase>,
    #[schema(min_items = 1, max_items = 104)]
    pub weeks: Vec<Week>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub projects: Vec<Project>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub rubrics: Vec<Rubric>,
}

/// A named run of weeks (`Foundation`, weeks 1-6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    pub first_week: u32,
    pub last_week: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Week {
    /// 1 for the first week, consecutive.
    pub number: u32,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// Markdown; the body of the week's file in a course folder.
    #[serde(default)]
    #[schema(max_length = 20000)]
    pub summary: String,
    #[serde(default)]
    #[schema(max_items = 30)]
    pub objectives: Vec<Objective>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub labs: Vec<Lab>,
    /// Slugs of published notes of the knowledge hub.
    #[serde(default)]
    #[schema(max_items = 30)]
    pub readings: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliverable: Option<Deliverable>,
}

/// What a learner should be able to do after the week, at a Bloom level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    /// Unique in the course (`W01.1`).
    #[schema(example = "W01.1", max_length = 40)]
    pub code: String,
    pub bloom: Bloom,
    #[schema(min_length = 1, max_length = 1000)]
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Lab {
    #[schema(max_length = 80)]
    pub slug: String,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: String,
}

/// A deliverable, reviewed against a rubric of the course: a week's (due at the end of
/// its week) or a project's (due at the end of `due_week`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Deliverable {
    /// Unique among every deliverable of the course, weekly or of a project.
    #[schema(max_length = 80)]
    pub slug: String,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: String,
    /// The kinds of evidence a submission must carry, each at most once.
    #[serde(default)]
    #[schema(max_items = 4)]
    pub evidence: Vec<EvidenceKind>,
    /// The slug of one of the course's `rubrics`.
    #[schema(max_length = 80)]
    pub rubric: String,
    /// The week a project's deliverable is due at the end of; required for a project's,
    /// absent for a week's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_week: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Project {
    #[schema(max_length = 80)]
    pub slug: String,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub summary: String,
    #[schema(max_items = 20)]
    pub deliverables: Vec<Deliverable>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rubric {
    #[schema(max_length = 80)]
    pub slug: String,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[schema(min_items = 1, max_items = 20)]
    pub criteria: Vec<Criterion>,
}

/// One scored aspect of a rubric: a score in `[min, max]`, weighted against the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// Unique in the rubric.
    #[schema(example = "correctness", max_length = 40)]
    pub key: String,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: String,
    /// Positive; weights are relative to the rubric's other criteria.
    #[schema(example = 2.0)]
    pub weight: f64,
    #[schema(example = 0, minimum = -1000, maximum = 1000)]
    pub min: i32,
    #[schema(example = 4, minimum = -1000, maximum = 1000)]
    pub max: i32,
    /// Named bands of scores, inside `[min, max]` and not overlapping.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub levels: Vec<Level>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Level {
    pub min: i32,
    pub max: i32,
    #[schema(example = "proficient", min_length = 1, max_length = 80)]
    pub label: String,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub description: String,
}

/// A course at one version.
#[derive(Debug, Serialize, ToSchema)]
pub struct CourseView {
    /// 1 on creation, one more on every change.
    #[schema(example = 1)]
    pub version: i32,
    /// When this version was made.
    pub created_at: DateTime<Utc>,
    #[serde(flatten)]
    pub document: CourseDocument,
}

/// A course as lists show it, at its current version.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CourseListItem {
    #[schema(example = "scalable-architectures")]
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub level: CourseLevel,
    pub duration_weeks: i32,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One version in a course's history; older versions never change.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CourseVersionInfo {
    pub version: i32,
    pub title: String,
    pub created_at: DateTime<Utc>,
    /// Who made it; absent when it came from the operator's shell (`nexus course import`).
    pub created_by: Option<String>,
}

/// An objective whose Bloom level falls below the highest level of the week before: the
/// curriculum promises a progression, and this is where it steps back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProgressionNote {
    pub week: u32,
    pub code: String,
    pub bloom: Bloom,
    /// The highest level of the week before.
    pub previous_highest: Bloom,
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    /// Whether the course is new (version 1) or got a new version.
    pub created: bool,
    pub course: CourseView,
    pub progression: Vec<ProgressionNote>,
    /// Files of the folder that are not part of a course's layout, and were not read.
    pub ignored_files: Vec<String>,
}

/// The small example the OpenAPI document shows: two weeks, one rubric.
pub fn example_course() -> serde_json::Value {
    serde_json::json!({
        "slug": "intro-backend",
        "title": "Introduction to backend engineering",
        "summary": "HTTP services from the request to the database.",
        "level": "beginner",
        "duration_weeks": 2,
        "weekly_hours": 4,
        "prerequisites": ["One programming language"],
        "outcomes": ["Build and test a small JSON API"],
        "phases": [{"title": "Foundation", "first_week": 1, "last_week": 2}],
        "weeks": [
            {"number": 1, "title": "The request lifecycle", "summary": "From socket to handler.",
             "objectives": [{"code": "W01.1", "bloom": "understand", "text": "Explain what happens between a request and its answer."}],
             "labs": [{"slug": "trace-a-request", "title": "Trace a request", "description": ""}],
             "readings": [],
             "deliverable": {"slug": "lifecycle-notes", "title": "Lifecycle notes", "description": "", "evidence": ["note"], "rubric": "weekly"}},
            {"number": 2, "title": "Resources and errors", "summary": "",
             "objectives": [{"code": "W02.1", "bloom": "apply", "text": "Design resources with clear error answers."}],
             "labs": [], "readings": [],
             "deliverable": {"slug": "error-contract", "title": "An error contract", "description": "", "evidence": ["repo", "link"], "rubric": "weekly"}}
        ],
        "projects": [],
        "rubrics": [{"slug": "weekly", "title": "Weekly deliverable", "criteria": [
            {"key": "correctness", "title": "Correctness", "description": "", "weight": 2.0, "min": 0, "max": 4,
             "levels": [{"min": 0, "max": 1, "label": "beginning", "description": ""},
                        {"min": 2, "max": 4, "label": "proficient", "description": ""}]},
            {"key": "clarity", "title": "Clarity", "description": "", "weight": 1.0, "min": 0, "max": 4, "levels": []}
        ]}]
    })
}
