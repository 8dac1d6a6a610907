-- Classroom controls: the commands a professor sends, each student's
-- result, the screen locks a lecture holds and the raised hands.

-- +goose Up
CREATE TABLE class_commands (
    id          {{.ID}},
    lecture_id  {{.Int}} NOT NULL REFERENCES lectures(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    text        TEXT NOT NULL DEFAULT '',
    url         TEXT NOT NULL DEFAULT '',
    actor_id    {{.Int}} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  {{.Time}} NOT NULL
);
CREATE INDEX class_commands_lecture ON class_commands (lecture_id, id);

CREATE TABLE class_command_results (
    command_id  {{.Int}} NOT NULL REFERENCES class_commands(id) ON DELETE CASCADE,
    student_id  {{.Int}} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    lecture_id  {{.Int}} NOT NULL,
    state       TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    reply       TEXT NOT NULL DEFAULT '',
    at          {{.Time}} NOT NULL,
    PRIMARY KEY (command_id, student_id)
);
CREATE INDEX class_command_results_latest ON class_command_results (lecture_id, student_id, command_id);

-- One lock per (lecture, student): a newer lock replaces the older.
CREATE TABLE class_locks (
    lecture_id    {{.Int}} NOT NULL REFERENCES lectures(id) ON DELETE CASCADE,
    student_id    {{.Int}} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    mode          TEXT NOT NULL,
    message       TEXT NOT NULL DEFAULT '',
    actor_id      {{.Int}} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    actor_family  TEXT NOT NULL DEFAULT '',
    command_id    {{.Int}} NOT NULL,
    since         {{.Time}} NOT NULL,
    until         {{.Time}} NOT NULL,
    PRIMARY KEY (lecture_id, student_id)
);
CREATE INDEX class_locks_student ON class_locks (student_id);

CREATE TABLE class_hands (
    lecture_id  {{.Int}} NOT NULL REFERENCES lectures(id) ON DELETE CASCADE,
    student_id  {{.Int}} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    raised_at   {{.Time}} NOT NULL,
    PRIMARY KEY (lecture_id, student_id)
);

-- +goose Down
DROP TABLE class_hands;
DROP TABLE class_locks;
DROP TABLE class_command_results;
DROP TABLE class_commands;
