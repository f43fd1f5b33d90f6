DROP TABLE deadline_reminders;
DROP TABLE reviews;
DROP TABLE review_assignments;
DROP TABLE submission_revisions;
DROP TABLE submissions;
DROP TABLE enrolments;
DROP TABLE cohort_deadlines;
DROP TABLE cohorts;
