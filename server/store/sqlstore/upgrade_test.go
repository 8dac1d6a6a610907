package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	"github.com/pressly/goose/v3"

	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/server/store/sqlstore"
	"github.com/didacto/didacto/wire"
)

// oldDB is a database as the replaced per-database stores created it: their
// verbatim migrations (testdata/v4) applied by goose, rows written in their
// encoding (SQLite: INTEGER microseconds and 0/1; PostgreSQL: timestamptz
// and booleans).
type oldDB struct {
	driver, dsn string
	dialect     goose.Dialect
	time        func(time.Time) any
}

func oldFormat(b backend, where string) oldDB {
	if b.name == "sqlite" {
		return oldDB{"sqlite", "file:" + where + "?_pragma=foreign_keys(1)", goose.DialectSQLite3,
			func(v time.Time) any { return v.UnixMicro() }}
	}
	return oldDB{"pgx", where, goose.DialectPostgres, func(v time.Time) any { return v }}
}

// A database created and filled by the old code opens with this store, which
// reads every row back and leaves the schema exactly as a fresh database's.
func TestUpgradeFromSeparateStores(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			where := b.fresh(t)
			old := oldFormat(b, where)
			db, err := sql.Open(old.driver, old.dsn)
			if err != nil {
				t.Fatal(err)
			}
			p, err := goose.NewProvider(old.dialect, db, os.DirFS("testdata/v4/"+b.name))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Up(ctx); err != nil {
				t.Fatalf("old migrations: %v", err)
			}
			fillOld(t, db, old.time)
			db.Close()

			s := b.mustOpen(t, where)
			checkOldRows(t, s)

			fresh := b.mustOpen(t, b.fresh(t))
			if got, want := schema(t, s, b.name), schema(t, fresh, b.name); !reflect.DeepEqual(got, want) {
				t.Errorf("upgraded schema differs from a fresh one:\n got %q\nwant %q", got, want)
			}
		})
	}
}

var (
	t1 = time.Date(2026, 3, 2, 9, 0, 0, 123456000, time.UTC)
	t2 = t1.Add(90 * time.Minute)
)

func fillOld(t *testing.T, db *sql.DB, tm func(time.Time) any) {
	t.Helper()
	bools := map[bool]any{false: 0, true: 1}
	if _, ok := tm(t1).(time.Time); ok {
		bools = map[bool]any{false: false, true: true}
	}
	stmts := []struct {
		q    string
		args []any
	}{
		{`INSERT INTO users (email, name, role, password_hash, premium_until, created_at) VALUES
			('prof@example.org', 'Prof', 'professor', 'h1', $1, $2),
			('stu@example.org', 'Stu', 'student', 'h2', NULL, $2)`, []any{tm(t2), tm(t1)}},
		{`INSERT INTO refresh_tokens (token_hash, family_id, user_id, kind, expires_at, created_at, rotated_at, revoked)
			VALUES ($1, 'fam', 1, 'cookie', $2, $3, NULL, $4)`, []any{[]byte("live"), tm(t2.Add(24 * time.Hour)), tm(t1), bools[false]}},
		{`INSERT INTO secrets (name, value, created_at) VALUES ('jwt', $1, $2)`, []any{[]byte{1, 2, 3}, tm(t1)}},
		{`INSERT INTO lectures (owner_id, title, code, active, created_at, updated_at, deleted_at)
			VALUES (1, 'Networks', 'NET001', $1, $2, $3, NULL)`, []any{bools[true], tm(t1), tm(t2)}},
		{`INSERT INTO enrollments (lecture_id, student_id, status, created_at, updated_at)
			VALUES (1, 2, 'accepted', $1, $2)`, []any{tm(t1), tm(t2)}},
		{`INSERT INTO memberships (lecture_id, student_id, joined_at) VALUES (1, 2, $1)`, []any{tm(t2)}},
		{`INSERT INTO attendance (lecture_id, student_id, day, first_seen, last_seen, connected_us)
			VALUES (1, 2, '2026-03-02', $1, $2, 5400000000)`, []any{tm(t1), tm(t2)}},
		{`INSERT INTO audit (lecture_id, actor_id, subject_id, action, detail, replica, at)
			VALUES (1, 1, 2, 'kick', 'too loud', 'r1', $1)`, []any{tm(t2)}},
		{`INSERT INTO payment_orders (user_id, merchant_uid, plan_id, plan_name, amount, currency, period_us, gateway,
			status, portone_id, paid_amount, created_at, updated_at, paid_at, cancelled_at)
			VALUES (1, 'm-1', 'month', 'Monthly', 9900, 'KRW', 2592000000000, 'v2', 'paid', 'pay-1', 0, $1, $2, $2, NULL)`,
			[]any{tm(t1), tm(t2)}},
		{`INSERT INTO payment_webhooks (webhook_id, received_at) VALUES ('wh-1', $1)`, []any{tm(t2)}},
	}
	for _, st := range stmts {
		if _, err := db.Exec(st.q, st.args...); err != nil {
			t.Fatalf("old insert %.40q: %v", st.q, err)
		}
	}
}

func checkOldRows(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	u, err := s.UserByEmail(ctx, "PROF@example.org")
	if want := (store.User{ID: 1, Email: "prof@example.org", Name: "Prof", Role: wire.RoleProfessor, PasswordHash: "h1",
		PremiumUntil: t2, CreatedAt: t1}); err != nil || u != want {
		t.Errorf("user = %+v, %v; want %+v", u, err, want)
	}
	if tok, err := s.LookupRefreshToken(ctx, []byte("live"), t2); err != nil || tok.FamilyID != "fam" || !tok.CreatedAt.Equal(t1) {
		t.Errorf("refresh token = %+v, %v", tok, err)
	}
	if v, err := s.Secret(ctx, "jwt", func() ([]byte, error) { return []byte("new"), nil }); err != nil || string(v) != "\x01\x02\x03" {
		t.Errorf("secret = %q, %v", v, err)
	}
	l, err := s.LectureByCode(ctx, "NET001")
	if want := (store.Lecture{ID: 1, OwnerID: 1, OwnerName: "Prof", Title: "Networks", Code: "NET001", Active: true,
		CreatedAt: t1, UpdatedAt: t2}); err != nil || l != want {
		t.Errorf("lecture = %+v, %v; want %+v", l, err, want)
	}
	if es, n, err := s.EnrollmentsByStudent(ctx, 2, "", store.PageRequest{}); err != nil || n != 1 ||
		es[0].Status != wire.EnrollmentAccepted || !es[0].UpdatedAt.Equal(t2) {
		t.Errorf("enrollments = %+v, %d, %v", es, n, err)
	}
	if ms, n, err := s.Members(ctx, 1, store.PageRequest{}); err != nil || n != 1 || ms[0].Email != "stu@example.org" || !ms[0].JoinedAt.Equal(t2) {
		t.Errorf("members = %+v, %d, %v", ms, n, err)
	}
	if rows, err := s.AttendanceByLecture(ctx, 1, "", ""); err != nil || len(rows) != 1 ||
		rows[0].ConnectedSeconds != 5400 || !rows[0].FirstSeen.Equal(t1) || !rows[0].LastSeen.Equal(t2) {
		t.Errorf("attendance = %+v, %v", rows, err)
	}
	if es, n, err := s.AuditByLecture(ctx, 1, store.PageRequest{}); err != nil || n != 1 || es[0].Detail != "too loud" || !es[0].At.Equal(t2) {
		t.Errorf("audit = %+v, %d, %v", es, n, err)
	}
	o, err := s.OrderByMerchantUID(ctx, "m-1")
	if err != nil || o.Status != wire.OrderPaid || o.Period != 30*24*time.Hour || !o.PaidAt.Equal(t2) || !o.CancelledAt.IsZero() {
		t.Errorf("order = %+v, %v", o, err)
	}
	if seen, err := s.WebhookSeen(ctx, "wh-1", t1); err != nil || !seen {
		t.Errorf("webhook seen = %v, %v", seen, err)
	}
	// The identity columns carry on after the old rows.
	nu, err := s.CreateUser(ctx, store.User{Email: "new@example.org", Name: "New", Role: wire.RoleStudent, PasswordHash: "h"})
	if err != nil || nu.ID != 3 {
		t.Errorf("new user = %+v, %v; want id 3", nu, err)
	}
}

// schema lists every column (with type, nullability, default) and index of
// the database, and the goose versions applied.
func schema(t *testing.T, s store.Store, kind string) []string {
	t.Helper()
	q := map[string]string{
		"sqlite": `SELECT m.name || '.' || c.name || ' ' || c.type || ' ' || c."notnull" || ' ' || coalesce(c.dflt_value, '') || ' ' || c.pk
			FROM sqlite_master m, pragma_table_info(m.name) c WHERE m.type = 'table'
			UNION ALL SELECT 'index ' || name || ' ' || sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
			UNION ALL SELECT 'goose ' || version_id FROM goose_db_version WHERE is_applied
			ORDER BY 1`,
		"postgres": `SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' ||
				coalesce(column_default, '') || ' ' || is_identity
			FROM information_schema.columns WHERE table_schema = 'public'
			UNION ALL SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
			UNION ALL SELECT 'goose ' || version_id FROM goose_db_version WHERE is_applied
			ORDER BY 1`,
	}[kind]
	rows, err := sqlstore.DB(s.(*sqlstore.Store)).Query(q)
	if err != nil {
		t.Fatalf("schema: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		// goose's own table differs only by its serial's sequence name.
		if !strings.HasPrefix(line, "goose_db_version.") {
			out = append(out, line)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 50 {
		t.Fatalf("schema has %d lines, expected the whole schema: %q", len(out), out)
	}
	return out
}
