DROP TABLE course_deliverables;
DROP TABLE course_versions;
DROP TABLE courses;
