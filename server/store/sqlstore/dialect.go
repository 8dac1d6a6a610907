package sqlstore

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is everything the queries and migrations need to know about the
// database under them. Both accept $n placeholders (modernc binds $n by
// ordinal), RETURNING, ON CONFLICT upserts and true/false literals, so
// those need nothing here.
type dialect struct {
	name  string
	goose goose.Dialect
	// types fill the migrations' templates (see migrate.go).
	types columnTypes
	// forUpdate and forNoKeyUpdate lock the selected rows until the
	// transaction ends. Empty on SQLite, whose single IMMEDIATE writer
	// already serialises every write transaction.
	forUpdate, forNoKeyUpdate string
	// greatest and least are the two-argument max and min.
	greatest, least string
	// micros turns a parameter holding microseconds into something a
	// timestamp column can be added to or subtracted from.
	micros func(param string) string
	// microsBetween is later - earlier of two timestamp expressions, in
	// microseconds.
	microsBetween func(later, earlier string) string
	// isUnique and isForeignKey classify constraint violations.
	isUnique, isForeignKey func(error) bool
}

// columnTypes are the column types the migrations are written with.
type columnTypes struct {
	Postgres bool   // for the rare statement that differs
	ID       string // auto-assigned primary key
	Int      string // 64-bit integer
	Time     string // a point in time, microsecond precision
	Bool     string
	False    string // the boolean default
	Blob     string
}

var sqliteDialect = &dialect{
	name:  "sqlite",
	goose: goose.DialectSQLite3,
	types: columnTypes{
		ID: "INTEGER PRIMARY KEY", Int: "INTEGER", Time: "INTEGER", Bool: "INTEGER", False: "0", Blob: "BLOB",
	},
	greatest:      "max",
	least:         "min",
	micros:        func(p string) string { return p },
	microsBetween: func(later, earlier string) string { return "(" + later + " - " + earlier + ")" },
	isUnique: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) &&
			(e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
	},
	isForeignKey: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	},
}

var postgresDialect = &dialect{
	name:  "postgres",
	goose: goose.DialectPostgres,
	types: columnTypes{
		Postgres: true, ID: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", Int: "BIGINT", Time: "TIMESTAMPTZ",
		Bool: "BOOLEAN", False: "false", Blob: "BYTEA",
	},
	forUpdate:      " FOR UPDATE",
	forNoKeyUpdate: " FOR NO KEY UPDATE",
	greatest:       "greatest",
	least:          "least",
	micros:         func(p string) string { return "(" + p + "::bigint * interval '1 microsecond')" },
	microsBetween: func(later, earlier string) string {
		return "(extract(epoch FROM " + later + " - " + earlier + ") * 1000000)::bigint"
	},
	isUnique:     func(err error) bool { return pgCode(err) == "23505" },
	isForeignKey: func(err error) bool { return pgCode(err) == "23503" },
}

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
