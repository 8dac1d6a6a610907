-- Core tables. Times are timestamptz (microsecond precision, UTC on the wire).

-- +goose Up
CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         TEXT        NOT NULL UNIQUE,      -- lower-cased by the store
    name          TEXT        NOT NULL,
    role          TEXT        NOT NULL,
    password_hash TEXT        NOT NULL,
    premium_until TIMESTAMPTZ,                      -- NULL: never premium
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash BYTEA       PRIMARY KEY,
    family_id  TEXT        NOT NULL,
    user_id    BIGINT      NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind       TEXT        NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    rotated_at TIMESTAMPTZ,                         -- set when exchanged for the next token
    revoked    BOOLEAN     NOT NULL DEFAULT false
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

CREATE TABLE secrets (
    name       TEXT        PRIMARY KEY,
    value      BYTEA       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE lectures (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id   BIGINT      NOT NULL REFERENCES users(id),
    title      TEXT        NOT NULL,
    code       TEXT        NOT NULL,
    active     BOOLEAN     NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ                          -- soft delete
);
-- A code is reusable once its lecture is deleted.
CREATE UNIQUE INDEX lectures_code_live ON lectures(code) WHERE deleted_at IS NULL;
CREATE INDEX lectures_owner_live ON lectures(owner_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

CREATE TABLE enrollments (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lecture_id BIGINT      NOT NULL REFERENCES lectures(id),
    student_id BIGINT      NOT NULL REFERENCES users(id),
    status     TEXT        NOT NULL CHECK (status IN ('waiting', 'accepted', 'rejected', 'cancelled')),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
-- At most one WAITING request per student and lecture, even under races.
CREATE UNIQUE INDEX enrollments_one_waiting ON enrollments(lecture_id, student_id) WHERE status = 'waiting';
CREATE INDEX enrollments_lecture ON enrollments(lecture_id, created_at DESC, id DESC);
CREATE INDEX enrollments_student ON enrollments(student_id, created_at DESC, id DESC);

CREATE TABLE memberships (
    lecture_id BIGINT      NOT NULL REFERENCES lectures(id),
    student_id BIGINT      NOT NULL REFERENCES users(id),
    joined_at  TIMESTAMPTZ NOT NULL,
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
