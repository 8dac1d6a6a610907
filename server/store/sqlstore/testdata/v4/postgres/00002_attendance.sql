-- Presence per student per lecture per civil day.

-- +goose Up
CREATE TABLE attendance (
    lecture_id   BIGINT      NOT NULL REFERENCES lectures(id),
    student_id   BIGINT      NOT NULL REFERENCES users(id),
    day          TEXT        NOT NULL,              -- "2006-01-02" in the school's zone
    first_seen   TIMESTAMPTZ NOT NULL,
    last_seen    TIMESTAMPTZ NOT NULL,
    connected_us BIGINT      NOT NULL DEFAULT 0,    -- microseconds, so short gaps add up exactly
    PRIMARY KEY (lecture_id, student_id, day)
);
CREATE INDEX attendance_lecture_day ON attendance(lecture_id, day);

-- +goose Down
DROP TABLE attendance;
