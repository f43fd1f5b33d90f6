//! The learning platform: courses as code, versioned; cohorts that run a course version;
//! submissions, peer assignments and rubric reviews; portfolios and collaborator
//! matching.
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
//! - [`cohorts`] ([`Learning::cohorts`]): cohorts of a course version, their calendar in
//!   the cohort's time zone (with deadline overrides) and their members.
//! - [`submissions`] ([`Learning::submissions`]): hand-ins and their revisions, and the
//!   peer review assignments each hand-in sets off.
//! - [`reviews`] ([`Learning::reviews`]): rubric-scored reviews, ratings of peer reviews,
//!   reviewer quality.
//! - [`progress`] ([`Learning::progress`]): a learner's week scores, evidence
//!   completeness, trend, at-risk reasons and ledger by week; a cohort's table of them.
//! - [`retrospectives`] ([`Learning::retrospectives`]): a learner's weekly retain /
//!   improve / scale.
//! - [`ledger`] ([`Learning::ledger`]): a learner's defects, risks and debt.
//! - [`portfolios`] ([`Learning::portfolios`]): a learner's opt-in page of reviewed
//!   evidence (the score, artifacts and skills of each entry), public or private.
//! - [`collaboration`] ([`Learning::collaboration`]): collaboration profiles, ranked
//!   matches ([`matching`] holds the score), requests between two learners, blocks.
//! - [`assignment`]: continuous, balanced peer review assignment (a pure plan, then its
//!   writes).
//! - [`events`]: what the outbox carries (webhooks, emails) and deadline reminders.
//! - [`digests`]: the weekly mentor and learner digests.
//!
//! Beside the groups: [`model`] (the document and the views), [`rules`] (every rule of a
//! document, written once, for every entry point) and [`code`] (the course folder: YAML
//! and Markdown files, read from a directory or a zip, written to a zip).

pub mod assignment;
pub mod code;
pub mod cohorts;
pub mod collaboration;
pub mod courses;
pub mod digests;
pub mod events;
pub mod ledger;
pub mod matching;
pub mod model;
pub mod portfolios;
pub mod progress;
pub mod retrospectives;
pub mod reviews;
pub mod rules;
pub mod submissions;

pub use code::CourseFiles;
pub use cohorts::{
    CohortSchedule, CohortView, Cohorts, Enrolled, EnrolmentView, Membership, NewCohortInput,
    ScheduleItem,
};
pub use collaboration::{
    Collaboration, CollaborationDirection, CollaborationInput, CollaborationView, MatchView,
    ProfileInput, ProfileView,
};
pub use courses::{Courses, Export};
pub use ledger::{Ledger, LedgerInput, LedgerItem, LedgerPatch, LedgerQuery};
pub use matching::{MatchReason, ReasonKind};
pub use model::{
    Bloom, CourseDocument, CourseLevel, CourseListItem, CourseVersionInfo, CourseView,
    EvidenceKind, ImportReport, ProgressionNote,
};
pub use portfolios::{
    Artifacts, EntryInput, PortfolioCollaboration, PortfolioEntry, PortfolioInput, PortfolioNote,
    PortfolioView, Portfolios, Skill,
};
pub use progress::{
    CohortProgress, LearnerProgress, LedgerTrend, LedgerWeek, Progress, ProgressRow, ProgressSort,
    RiskItem, WeekProgress,
};
pub use retrospectives::{Reflected, RetrospectiveInput, RetrospectiveView, Retrospectives};
pub use reviews::{RatingInput, ReviewInput, ReviewView, ReviewerQuality, Reviews, Score};
pub use submissions::{
    AssignmentView, CitedFile, RevisionView, SubmissionInput, SubmissionLink, SubmissionSummary,
    SubmissionView, Submissions,
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

    /// Cohorts: list, read, create, schedule and deadlines, members.
    pub fn cohorts(&self) -> Cohorts<'a> {
        Cohorts(self.services)
    }

    /// Submissions, their revisions and peer review assignments.
    pub fn submissions(&self) -> Submissions<'a> {
        Submissions(self.services)
    }

    /// Reviews, ratings of peer reviews and reviewer quality.
    pub fn reviews(&self) -> Reviews<'a> {
        Reviews(self.services)
    }

    /// Progress of a learner and of a cohort.
    pub fn progress(&self) -> Progress<'a> {
        Progress(self.services)
    }

    /// Weekly retrospectives.
    pub fn retrospectives(&self) -> Retrospectives<'a> {
        Retrospectives(self.services)
    }

    /// The caller's risk ledger.
    pub fn ledger(&self) -> Ledger<'a> {
        Ledger(self.services)
    }

    /// Portfolios: the caller's, and public ones by handle.
    pub fn portfolios(&self) -> Portfolios<'a> {
        Portfolios(self.services)
    }

    /// Collaboration profiles, matches, requests and blocks.
    pub fn collaboration(&self) -> Collaboration<'a> {
        Collaboration(self.services)
    }
}
