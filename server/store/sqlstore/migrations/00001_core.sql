-- Core tables. A template: the dialect fills in the column types (see
-- migrate.go). Times are timestamptz on PostgreSQL and INTEGER microseconds
-- since the Unix epoch (UTC) on SQLite, where they sort and compare as
-- numbers and keep PostgreSQL's precision.

-- +goose Up
CREATE TABLE users (
    id            {{.ID}},
    email         TEXT NOT NULL UNIQUE,          -- lower-cased by the store
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    premium_until {{.Time}},                          -- NULL: never premium
    created_at    {{.Time}} NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash    {{.Blob}} PRIMARY KEY,
    family_id     TEXT NOT NULL,
    user_id       {{.Int}} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    expires_at    {{.Time}} NOT NULL,
    created_at    {{.Time}} NOT NULL,
    rotated_at    {{.Time}},                             -- set when exchanged for the next token
    revoked       {{.Bool}} NOT NULL DEFAULT {{.False}}
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

CREATE TABLE secrets (
    name          TEXT PRIMARY KEY,
    value         {{.Blob}} NOT NULL,
    created_at    {{.Time}} NOT NULL
);

CREATE TABLE lectures (
    id            {{.ID}},
    owner_id      {{.Int}} NOT NULL REFERENCES users(id),
    title         TEXT NOT NULL,
    code          TEXT NOT NULL,
    active        {{.Bool}} NOT NULL DEFAULT {{.False}},
    created_at    {{.Time}} NOT NULL,
    updated_at    {{.Time}} NOT NULL,
    deleted_at    {{.Time}}                        -- soft delete
);
-- A code is reusable once its lecture is deleted.
CREATE UNIQUE INDEX lectures_code_live ON lectures(code) WHERE deleted_at IS NULL;
CREATE INDEX lectures_owner_live ON lectures(owner_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

CREATE TABLE enrollments (
    id            {{.ID}},
    lecture_id    {{.Int}} NOT NULL REFERENCES lectures(id),
    student_id    {{.Int}} NOT NULL REFERENCES users(id),
    status        TEXT NOT NULL CHECK (status IN ('waiting', 'accepted', 'rejected', 'cancelled')),
    created_at    {{.Time}} NOT NULL,
    updated_at    {{.Time}} NOT NULL
);
-- At most one WAITING request per student and lecture, even under races.
CREATE UNIQUE INDEX enrollments_one_waiting ON enrollments(lecture_id, student_id) WHERE status = 'waiting';
CREATE INDEX enrollments_lecture ON enrollments(lecture_id, created_at DESC, id DESC);
CREATE INDEX enrollments_student ON enrollments(student_id, created_at DESC, id DESC);

CREATE TABLE memberships (
    lecture_id    {{.Int}} NOT NULL REFERENCES lectures(id),
    student_id    {{.Int}} NOT NULL REFERENCES users(id),
    joined_at     {{.Time}} NOT NULL,
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
