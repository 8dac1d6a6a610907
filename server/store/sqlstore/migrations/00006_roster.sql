-- The professor's roster: a member's student number from the class list,
-- and one-time password-reset codes a professor hands to a member student.

-- +goose Up
ALTER TABLE memberships ADD COLUMN student_number TEXT NOT NULL DEFAULT '';

-- One live code per user: issuing a new one replaces the old. The row is
-- deleted when the code is used, and voided after too many wrong tries.
CREATE TABLE password_resets (
    user_id       {{.Int}} PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    code_hash     {{.Blob}} NOT NULL,
    created_by    {{.Int}} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    lecture_id    {{.Int}} NOT NULL,
    attempts      {{.Int}} NOT NULL DEFAULT 0,
    expires_at    {{.Time}} NOT NULL,
    created_at    {{.Time}} NOT NULL
);

-- +goose Down
DROP TABLE password_resets;
ALTER TABLE memberships DROP COLUMN student_number;
