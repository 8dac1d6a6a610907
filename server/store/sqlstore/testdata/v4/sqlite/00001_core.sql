-- Core tables. Times are INTEGER microseconds since the Unix epoch (UTC), so
-- they sort and compare as numbers and keep microsecond precision.

-- +goose Up
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,          -- lower-cased by the store
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    premium_until INTEGER,                          -- NULL: never premium
    created_at    INTEGER NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash BLOB    PRIMARY KEY,
    family_id  TEXT    NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    rotated_at INTEGER,                             -- set when exchanged for the next token
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

CREATE TABLE secrets (
    name       TEXT    PRIMARY KEY,
    value      BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE lectures (
    id         INTEGER PRIMARY KEY,
    owner_id   INTEGER NOT NULL REFERENCES users(id),
    title      TEXT    NOT NULL,
    code       TEXT    NOT NULL,
    active     INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER                              -- soft delete
);
-- A code is reusable once its lecture is deleted.
CREATE UNIQUE INDEX lectures_code_live ON lectures(code) WHERE deleted_at IS NULL;
CREATE INDEX lectures_owner_live ON lectures(owner_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

CREATE TABLE enrollments (
    id         INTEGER PRIMARY KEY,
    lecture_id INTEGER NOT NULL REFERENCES lectures(id),
    student_id INTEGER NOT NULL REFERENCES users(id),
    status     TEXT    NOT NULL CHECK (status IN ('waiting', 'accepted', 'rejected', 'cancelled')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- At most one WAITING request per student and lecture, even under races.
CREATE UNIQUE INDEX enrollments_one_waiting ON enrollments(lecture_id, student_id) WHERE status = 'waiting';
CREATE INDEX enrollments_lecture ON enrollments(lecture_id, created_at DESC, id DESC);
CREATE INDEX enrollments_student ON enrollments(student_id, created_at DESC, id DESC);

CREATE TABLE memberships (
    lecture_id INTEGER NOT NULL REFERENCES lectures(id),
    student_id INTEGER NOT NULL REFERENCES users(id),
    joined_at  INTEGER NOT NULL,
    PRIMARY KEY (lecture_id, student_id)
);
CREATE INDEX memberships_student ON memberships(student_id);

-- +goose Down
DROP TABLE memberships;
DROP TABLE enrollments;
DROP TABLE lectures;
DROP TABLE secrets;
DROP TABLE refresh_tokens;
DROP TABLE users;
