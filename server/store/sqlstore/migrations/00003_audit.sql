-- Who did what to whom in a lecture's live sessions.

-- +goose Up
CREATE TABLE audit (
    id            {{.ID}},
    lecture_id    {{.Int}} NOT NULL,
    actor_id      {{.Int}} NOT NULL DEFAULT 0,          -- 0: the system (no foreign key on purpose)
    subject_id    {{.Int}} NOT NULL DEFAULT 0,          -- 0: nobody in particular
    action        TEXT NOT NULL,
    detail        TEXT NOT NULL DEFAULT '',
    replica       TEXT NOT NULL DEFAULT '',
    at            {{.Time}} NOT NULL
);
CREATE INDEX audit_lecture_at ON audit(lecture_id, at DESC, id DESC);

-- +goose Down
DROP TABLE audit;
