package api_test

import (
	"fmt"
	"testing"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// benchDatabases runs fn on SQLite and PostgreSQL servers.
func benchDatabases(b *testing.B, fn func(b *testing.B, in *servertest.Instance)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, servertest.Start(b)) })
	b.Run("postgres", func(b *testing.B) {
		fn(b, servertest.Start(b, servertest.WithDatabase(testenv.PostgresURL(b))))
	})
}

// BenchmarkLogin measures POST /auth/login over loopback HTTP (argon2id
// dominates: 19 MiB, 2 passes per login).
func BenchmarkLogin(b *testing.B) {
	benchDatabases(b, func(b *testing.B, in *servertest.Instance) {
		u := in.Register(b, wire.RoleStudent, "Bench Student")
		body := wire.LoginRequest{Email: u.User.Email, Password: servertest.Password}
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			c := in.NewClient(b)
			for pb.Next() {
				if r := c.Do("POST", "/api/v1/auth/login", body, nil); r.Status != 200 {
					b.Errorf("login: %d", r.Status)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
}

// BenchmarkListLectures measures GET /lectures (a page of 20 of 50) with a
// bearer token over loopback HTTP.
func BenchmarkListLectures(b *testing.B) {
	benchDatabases(b, func(b *testing.B, in *servertest.Instance) {
		p := in.Register(b, wire.RoleProfessor, "Bench Prof")
		for i := 0; i < 50; i++ {
			p.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: fmt.Sprintf("L%d", i)}, nil)
		}
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			c := in.NewClient(b)
			c.Token = p.Token
			for pb.Next() {
				if r := c.Do("GET", "/api/v1/lectures?page=2", nil, nil); r.Status != 200 {
					b.Errorf("list: %d", r.Status)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
}
