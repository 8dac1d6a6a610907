-- Audit retention deletes entries older than a cut-off across all lectures
-- (DeleteAuditBefore); audit_lecture_at leads with the lecture, so it needs
-- its own index on the time.

-- +goose Up
CREATE INDEX audit_at ON audit(at);

-- +goose Down
DROP INDEX audit_at;
