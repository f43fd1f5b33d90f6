DROP TABLE email_tokens;
DROP TABLE personal_access_tokens;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
