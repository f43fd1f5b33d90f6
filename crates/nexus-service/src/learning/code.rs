//! Courses as code: a folder with `course.yaml`, one Markdown file per week
//! (`weeks/NN-*.md`, YAML front matter between `---` lines, the body is the week's
//! summary) and `rubrics/*.yaml`, read from a directory (`nexus course import DIR`) or a
//! zip (`POST /courses/import`), and written back as a zip (`GET /courses/{slug}/export`).
//!
//! Reading is bounded before anything is parsed: a number of files, a size per file and a
//! total, counted on the bytes actually inflated (a zip's declared sizes can lie), so a
//! zip bomb stops at the limit. YAML goes through serde-saphyr, whose budgets bound
//! aliases and events, so an alias bomb stops too.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use nexus_core::error::AppResult;
use nexus_core::{AppError, FieldError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::model::{
    CourseDocument, CourseLevel, Deliverable, Lab, Objective, Phase, Project, Rubric, Week,
};

/// At most this many entries in a course folder or zip.
pub const MAX_FILES: usize = 300;
/// At most this many bytes in one file.
pub const MAX_FILE_BYTES: u64 = 512 * 1024;
/// At most this many bytes in all files together, uncompressed.
pub const MAX_TOTAL_BYTES: u64 = 4 * 1024 * 1024;

const COURSE_FILE: &str = "course.yaml";

/// `course.yaml`: the document without its weeks and rubrics, which have files of their own.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CourseFile {
    slug: String,
    title: String,
    #[serde(default)]
    summary: String,
    level: CourseLevel,
    duration_weeks: u32,
    weekly_hours: u32,
    #[serde(default)]
    prerequisites: Vec<String>,
    #[serde(default)]
    outcomes: Vec<String>,
    #[serde(default)]
    phases: Vec<Phase>,
    #[serde(default)]
    projects: Vec<Project>,
}

/// A week file's front matter: the week without its summary, which is the body.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeekFile {
    number: u32,
    title: String,
    #[serde(default)]
    objectives: Vec<Objective>,
    #[serde(default)]
    labs: Vec<Lab>,
    #[serde(default)]
    readings: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deliverable: Option<Deliverable>,
}

/// The text files of a course folder, by path relative to the folder (`/`-separated).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CourseFiles {
    pub files: BTreeMap<String, String>,
    /// Paths that are not part of the layout; listed in the import report, never read.
    pub ignored: Vec<String>,
}

/// What a file is in the layout.
#[derive(PartialEq)]
enum Role {
    Course,
    Week,
    Rubric,
    Other,
}

fn role(path: &str) -> Role {
    let under = |dir: &str, exts: &[&str]| {
        path.strip_prefix(dir).is_some_and(|name| {
            !name.contains('/')
                && exts
                    .iter()
                    .any(|e| name.len() > e.len() && name.ends_with(e))
        })
    };
    if path == COURSE_FILE {
        Role::Course
    } else if under("weeks/", &[".md"]) {
        Role::Week
    } else if under("rubrics/", &[".yaml", ".yml"]) {
        Role::Rubric
    } else {
        Role::Other
    }
}

fn too_big(what: &str) -> AppError {
    AppError::invalid(
        "body",
        format!(
            "{what}: a course folder has at most {MAX_FILES} files of at most {} KiB, {} MiB in all",
            MAX_FILE_BYTES / 1024,
            MAX_TOTAL_BYTES / 1024 / 1024
        ),
    )
}

/// Collects files while counting against the limits.
#[derive(Default)]
struct Collector {
    out: CourseFiles,
    entries: usize,
    total: u64,
}

impl Collector {
    fn entry(&mut self) -> AppResult<()> {
        self.entries += 1;
        if self.entries > MAX_FILES {
            return Err(too_big("too many files"));
        }
        Ok(())
    }

    /// Reads one file of the layout from `reader`, at most the per-file and the remaining
    /// total budget; a file past either is refused without reading further.
    fn read(&mut self, path: String, reader: impl Read) -> AppResult<()> {
        if role(&path) == Role::Other {
            self.out.ignored.push(path);
            return Ok(());
        }
        let budget = MAX_FILE_BYTES.min(MAX_TOTAL_BYTES - self.total);
        let mut bytes = Vec::new();
        reader
            .take(budget + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| AppError::invalid(&path, format!("cannot be read: {e}")))?;
        if bytes.len() as u64 > budget {
            return Err(too_big(&format!("`{path}` is too large")));
        }
        self.total += bytes.len() as u64;
        let text =
            String::from_utf8(bytes).map_err(|_| AppError::invalid(&path, "is not UTF-8 text"))?;
        self.out.files.insert(path, text);
        Ok(())
    }
}

/// A zip entry's name as a relative `/` path, or `None` for one that climbs out of the
/// folder, is absolute, or is not plain text.
fn clean_path(name: &str) -> Option<String> {
    if name.starts_with('/') || name.contains('\\') || name.contains('\0') {
        return None;
    }
    let parts: Vec<&str> = name
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() || parts.contains(&"..") {
        return None;
    }
    Some(parts.join("/"))
}

impl CourseFiles {
    /// The files of a zip, within the limits. A zip of the folder itself (everything under
    /// one top directory holding `course.yaml`) is read as the folder.
    pub fn from_zip(bytes: &[u8]) -> AppResult<CourseFiles> {
        let bad = |e: zip::result::ZipError| {
            AppError::invalid("body", format!("is not a readable zip archive: {e}"))
        };
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(bad)?;
        if archive.len() > MAX_FILES {
            return Err(too_big("too many files"));
        }
        let prefix = top_folder(archive.file_names());
        let mut c = Collector::default();
        for i in 0..archive.len() {
            c.entry()?;
            let entry = archive.by_index(i).map_err(bad)?;
            if entry.is_dir() {
                continue;
            }
            let name = entry.name().to_owned();
            let Some(path) = clean_path(&name) else {
                return Err(AppError::invalid(
                    "body",
                    format!(
                        "the archive holds a path outside its folder: `{}`",
                        clip(&name)
                    ),
                ));
            };
            let path = match &prefix {
                Some(p) => match path.strip_prefix(p.as_str()) {
                    Some(rest) => rest.to_owned(),
                    None => path,
                },
                None => path,
            };
            if entry.size() > MAX_FILE_BYTES && role(&path) != Role::Other {
                return Err(too_big(&format!("`{path}` is too large")));
            }
            c.read(path, entry)?;
        }
        Ok(c.out)
    }

    /// The files of a course folder on disk, within the limits (`nexus course import`).
    pub fn from_dir(dir: &Path) -> AppResult<CourseFiles> {
        let io = |p: &Path, e: std::io::Error| {
            AppError::invalid(p.display().to_string(), format!("cannot be read: {e}"))
        };
        let mut c = Collector::default();
        let mut stack = vec![(dir.to_path_buf(), String::new())];
        while let Some((path, rel)) = stack.pop() {
            let mut entries: Vec<_> = std::fs::read_dir(&path)
                .map_err(|e| io(&path, e))?
                .collect::<Result<_, _>>()
                .map_err(|e| io(&path, e))?;
            entries.sort_by_key(|e| e.file_name());
            for entry in entries {
                c.entry()?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let child = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                let kind = entry.file_type().map_err(|e| io(&entry.path(), e))?;
                if kind.is_dir() {
                    // Only the layout's own folders are looked into.
                    if rel.is_empty() && (child == "weeks" || child == "rubrics") {
                        stack.push((entry.path(), child));
                    } else {
                        c.out.ignored.push(format!("{child}/"));
                    }
                } else if kind.is_file() {
                    let file =
                        std::fs::File::open(entry.path()).map_err(|e| io(&entry.path(), e))?;
                    c.read(child, file)?;
                } else {
                    c.out.ignored.push(child);
                }
            }
        }
        c.out.ignored.sort();
        Ok(c.out)
    }

    /// The course these files describe. Syntax and shape errors name the file; the
    /// document's own rules are checked afterwards, by the caller, as for any document.
    pub fn parse(&self) -> AppResult<CourseDocument> {
        let mut errors = Vec::new();
        let course: Option<CourseFile> = match self.files.get(COURSE_FILE) {
            Some(text) => yaml(COURSE_FILE, text, &mut errors),
            None => {
                errors.push(FieldError::new(COURSE_FILE, "is missing"));
                None
            }
        };
        let mut weeks = Vec::new();
        let mut rubrics = Vec::new();
        for (path, text) in &self.files {
            match role(path) {
                Role::Week => {
                    if let Some(week) = week_file(path, text, &mut errors) {
                        weeks.push(week);
                    }
                }
                Role::Rubric => {
                    if let Some(r) = yaml::<Rubric>(path, text, &mut errors) {
                        rubrics.push(r);
                    }
                }
                Role::Course | Role::Other => {}
            }
        }
        let Some(course) = course.filter(|_| errors.is_empty()) else {
            return Err(AppError::Validation(errors));
        };
        // Files sort by name; weeks go by the number they declare, so `weeks/2-x.md`
        // comes before `weeks/10-y.md`. A gap or a repeat is the rules' to report.
        weeks.sort_by_key(|w| w.number);
        Ok(CourseDocument {
            slug: course.slug,
            title: course.title,
            summary: course.summary,
            level: course.level,
            duration_weeks: course.duration_weeks,
            weekly_hours: course.weekly_hours,
            prerequisites: course.prerequisites,
            outcomes: course.outcomes,
            phases: course.phases,
            weeks,
            projects: course.projects,
            rubrics,
        })
    }

    /// The folder of a course: what [`CourseFiles::parse`] reads back as the same document.
    pub fn render(doc: &CourseDocument) -> AppResult<CourseFiles> {
        let mut files = BTreeMap::new();
        let course = CourseFile {
            slug: doc.slug.clone(),
            title: doc.title.clone(),
            summary: doc.summary.clone(),
            level: doc.level,
            duration_weeks: doc.duration_weeks,
            weekly_hours: doc.weekly_hours,
            prerequisites: doc.prerequisites.clone(),
            outcomes: doc.outcomes.clone(),
            phases: doc.phases.clone(),
            projects: doc.projects.clone(),
        };
        files.insert(COURSE_FILE.to_owned(), to_yaml(&course)?);
        for week in &doc.weeks {
            let front = WeekFile {
                number: week.number,
                title: week.title.clone(),
                objectives: week.objectives.clone(),
                labs: week.labs.clone(),
                readings: week.readings.clone(),
                deliverable: week.deliverable.clone(),
            };
            let mut text = format!("---\n{}---\n", to_yaml(&front)?);
            if !week.summary.is_empty() {
                text.push('\n');
                text.push_str(&week.summary);
                text.push('\n');
            }
            let name = nexus_core::hub::slugify(&week.title);
            files.insert(format!("weeks/{:02}-{name}.md", week.number), text);
        }
        // Numbered, so that the folder's order is the document's order.
        for (i, rubric) in doc.rubrics.iter().enumerate() {
            files.insert(
                format!("rubrics/{:02}-{}.yaml", i + 1, rubric.slug),
                to_yaml(rubric)?,
            );
        }
        Ok(CourseFiles {
            files,
            ignored: Vec::new(),
        })
    }

    /// The files as a zip archive (deflated).
    pub fn to_zip(&self) -> AppResult<Vec<u8>> {
        let fail = |e: &dyn std::fmt::Display| {
            AppError::Internal(anyhow::anyhow!("writing a course archive: {e}"))
        };
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (path, text) in &self.files {
            zip.start_file(path.as_str(), options)
                .map_err(|e| fail(&e))?;
            zip.write_all(text.as_bytes()).map_err(|e| fail(&e))?;
        }
        Ok(zip.finish().map_err(|e| fail(&e))?.into_inner())
    }
}

/// The one folder every entry of a zip sits in, when it holds `course.yaml` and the zip
/// has none at its root.
fn top_folder<'a>(names: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut top: Option<&str> = None;
    let mut has_course = false;
    for name in names {
        if name == COURSE_FILE {
            return None;
        }
        let (first, rest) = name.split_once('/')?;
        match top {
            None => top = Some(first),
            Some(t) if t != first => return None,
            Some(_) => {}
        }
        has_course |= rest == COURSE_FILE;
    }
    top.filter(|_| has_course).map(|t| format!("{t}/"))
}

fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    // A week file is a few hundred events; these leave room and stop alias bombs early.
    budget.max_events = 200_000;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

fn yaml<T: DeserializeOwned>(path: &str, text: &str, errors: &mut Vec<FieldError>) -> Option<T> {
    match serde_saphyr::from_str_with_options(text, yaml_options()) {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(FieldError::new(path, one_line(&e.to_string())));
            None
        }
    }
}

fn week_file(path: &str, text: &str, errors: &mut Vec<FieldError>) -> Option<Week> {
    let text = text
        .strip_prefix('\u{feff}')
        .unwrap_or(text)
        .replace("\r\n", "\n");
    let Some((front, body)) =
        text.strip_prefix("---\n")
            .and_then(|rest| match rest.strip_prefix("---\n") {
                Some(body) => Some(("", body)),
                None => rest
                    .split_once("\n---\n")
                    .or_else(|| rest.strip_suffix("\n---").map(|f| (f, ""))),
            })
    else {
        errors.push(FieldError::new(
            path,
            "must start with YAML front matter between two `---` lines",
        ));
        return None;
    };
    let front: WeekFile = yaml(path, front, errors)?;
    Some(Week {
        number: front.number,
        title: front.title,
        summary: body.trim().to_owned(),
        objectives: front.objectives,
        labs: front.labs,
        readings: front.readings,
        deliverable: front.deliverable,
    })
}

fn to_yaml<T: Serialize>(value: &T) -> AppResult<String> {
    serde_saphyr::to_string(value)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing YAML: {e}")))
}

/// A parser's message on one line, cut to a length a client can be shown.
fn one_line(msg: &str) -> String {
    let joined = msg.split_whitespace().collect::<Vec<_>>().join(" ");
    clip_to(&joined, 400)
}

fn clip(s: &str) -> String {
    clip_to(s, 200)
}

fn clip_to(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        s.chars().take(max).chain("…".chars()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learning::model::example_course;

    fn doc() -> CourseDocument {
        serde_json::from_value(example_course()).unwrap()
    }

    #[test]
    fn a_rendered_folder_parses_back_to_the_same_document() {
        let mut d = doc();
        d.weeks[0].summary =
            "Line one: with *Markdown*.\n\n- a list\n- \"quoted\" # not a comment".into();
        d.title = "Intro: yes, no, null, 1.0 & more".into();
        let files = CourseFiles::render(&d).unwrap();
        assert_eq!(files.parse().unwrap(), d);
        let zipped = CourseFiles::from_zip(&files.to_zip().unwrap()).unwrap();
        assert_eq!(zipped.parse().unwrap(), d);
    }

    #[test]
    fn strings_that_look_like_other_yaml_values_stay_strings() {
        let mut d = doc();
        let tricky = [
            "null",
            "~",
            "1.0",
            "true",
            "no",
            "0x10",
            "- dash",
            "#hash",
            ": colon",
            "'quote",
            "\"double\"",
            "a: b",
            "[list]",
            "{map}",
            "*alias",
            "&anchor",
            "!tag",
            "%",
            "@at",
            "`tick`",
            "multi\nline",
            "tab\there",
            "ünïcödé 🚀",
        ];
        d.prerequisites = tricky.iter().map(|s| s.to_string()).collect();
        d.weeks[1].labs = vec![d.weeks[0].labs[0].clone()];
        d.weeks[1].labs[0].description = tricky.join(" ");
        let files = CourseFiles::render(&d).unwrap();
        assert_eq!(files.parse().unwrap(), d);
    }

    #[test]
    fn a_zip_of_the_folder_itself_is_read_as_the_folder() {
        let files = CourseFiles::render(&doc()).unwrap();
        let mut nested = CourseFiles::default();
        for (p, t) in &files.files {
            nested.files.insert(format!("intro/{p}"), t.clone());
        }
        nested
            .files
            .insert("intro/README.md".into(), "hello".into());
        let read = CourseFiles::from_zip(&nested.to_zip().unwrap()).unwrap();
        assert_eq!(read.files, files.files);
        assert_eq!(read.ignored, ["README.md"]);
    }

    #[test]
    fn paths_that_climb_out_are_refused() {
        for bad in ["../x", "/etc/passwd", "a/../../b", "a\\b"] {
            assert!(clean_path(bad).is_none(), "{bad}");
        }
        assert_eq!(clean_path("./weeks//01.md").as_deref(), Some("weeks/01.md"));
    }

    #[test]
    fn a_zip_bomb_stops_at_the_limit() {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("course.yaml", options).unwrap();
        let zeros = vec![b' '; 1024 * 1024];
        for _ in 0..8 {
            zip.write_all(&zeros).unwrap();
        }
        let bytes = zip.finish().unwrap().into_inner();
        assert!(bytes.len() < 64 * 1024, "{}", bytes.len());
        let err = CourseFiles::from_zip(&bytes).unwrap_err();
        assert!(matches!(err, AppError::Validation(_)), "{err:?}");
    }

    #[test]
    fn yaml_errors_name_the_file() {
        let mut files = CourseFiles::render(&doc()).unwrap();
        files
            .files
            .insert("rubrics/01-weekly.yaml".into(), "slug: [unclosed".into());
        files
            .files
            .insert("weeks/03-x.md".into(), "no front matter".into());
        let AppError::Validation(errors) = files.parse().unwrap_err() else {
            panic!("expected 422")
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["rubrics/01-weekly.yaml", "weeks/03-x.md"]);
    }

    #[test]
    fn an_alias_bomb_is_refused() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..12 {
            let prev = if i == 0 {
                "a".to_owned()
            } else {
                format!("l{}", i - 1)
            };
            bomb.push_str(&format!(
                "l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let mut errors = Vec::new();
        assert!(yaml::<serde_json::Value>("course.yaml", &bomb, &mut errors).is_none());
        assert_eq!(errors.len(), 1);
    }
}
