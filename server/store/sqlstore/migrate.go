package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"testing/fstest"
	"text/template"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// The migrations are written once, as text/template files filled with the
// dialect's columnTypes ({{.Time}}, {{.ID}}, ...). They render to the very
// schemas the earlier per-database migrations created, under the same goose
// version numbers, so existing databases carry on from where they are.
//
//go:embed migrations/*.sql
var migrationTemplates embed.FS

// migrations renders the migration templates for d.
func migrations(d *dialect) (fs.FS, error) {
	names, err := fs.Glob(migrationTemplates, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	out := fstest.MapFS{}
	for _, name := range names {
		tmpl, err := template.New("").Option("missingkey=error").ParseFS(migrationTemplates, name)
		if err != nil {
			return nil, fmt.Errorf("parsing migration %s: %w", name, err)
		}
		var b bytes.Buffer
		if err := tmpl.ExecuteTemplate(&b, name[len("migrations/"):], d.types); err != nil {
			return nil, fmt.Errorf("rendering migration %s for %s: %w", name, d.name, err)
		}
		out[name[len("migrations/"):]] = &fstest.MapFile{Data: b.Bytes(), Mode: 0o444}
	}
	return out, nil
}

// migrate applies the migrations db is missing. On PostgreSQL it holds a
// session advisory lock meanwhile, so concurrent replicas apply each
// migration once. SQLite has no such lock: two processes opening one new
// file at the same instant can collide (as before sqlstore); one server per
// file is the supported setup.
func migrate(ctx context.Context, db *sql.DB, d *dialect) error {
	fsys, err := migrations(d)
	if err != nil {
		return err
	}
	var opts []goose.ProviderOption
	if d == postgresDialect {
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300)) // up to 5 min behind another replica
		if err != nil {
			return fmt.Errorf("goose locker: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(d.goose, db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("goose: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("goose up: %w", err)
	}
	return nil
}
