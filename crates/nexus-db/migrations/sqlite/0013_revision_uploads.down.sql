DROP TABLE revision_uploads;
