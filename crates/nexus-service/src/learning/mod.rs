//! The learning platform: courses as code, versioned (and, to come, cohorts,
//! submissions and reviews, which refer to a course version).
//!
//! Anyone reads a course, anonymous callers included; only admins write one. A course is
//! one document (weeks with Bloom-levelled objectives, labs, readings and a deliverable;
//! capstone projects with deliverables; rubrics), and every write makes a new, immutable
//! version of it.
//!
//! # Layout
//! Callers reach the domain through its facade, [`Learning`] (from
//! [`crate::Services::learning`]):
//! - [`courses`] ([`Learning::courses`]): list, read (any version), versions, create,
//!   update (`If-Match`), import and export.
//!
//! Beside the groups: [`model`] (the document and the views), [`rules`] (every rule of a
//! document, written once, for every entry point) and [`code`] (the course folder: YAML
//! and Markdown files, read from a directory or a zip, written to a zip).

pub mod code;
pub mod courses;
pub mod model;
pub mod rules;

pub use code::CourseFiles;
pub use courses::{Courses, Export};
pub use model::{
    Bloom, CourseDocument, CourseLevel, CourseListItem, CourseVersionInfo, CourseView,
    EvidenceKind, ImportReport, ProgressionNote,
};

use crate::Services;

/// The learning domain's facade: [`Services::learning`] returns it.
#[derive(Clone, Copy)]
pub struct Learning<'a> {
    services: &'a Services,
}

impl<'a> Learning<'a> {
    pub(crate) fn new(services: &'a Services) -> Self {
        Learning { services }
    }

    /// Courses: list, read, versions, create, update, import, export.
    pub fn courses(&self) -> Courses<'a> {
        Courses(self.services)
    }
}
