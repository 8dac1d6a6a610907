package console_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// BenchmarkConsoleGrid100 opens the monitoring grid in headless Chromium
// while 100 simulated students upload a frame every 2 s, and reports the
// frame-to-screen time (upload start → <img> load event) and the CPU the
// browser spends, at the default tile size and at the smallest one.
// Run once: go test -run '^$' -bench ConsoleGrid100 -benchtime=1x ./server/console
func BenchmarkConsoleGrid100(b *testing.B) {
	e := needE2E(b)
	in := servertest.Start(b)
	prof := in.Register(b, wire.RoleProfessor, "Prof Bench")
	var l wire.Lecture
	prof.Must(http.StatusCreated, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Bench"}, &l)
	type student struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	var students []student
	for i := range 100 {
		s := in.Register(b, wire.RoleStudent, fmt.Sprintf("Student %03d", i))
		var en wire.Enrollment
		s.Must(http.StatusCreated, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: l.Code}, &en)
		prof.Must(http.StatusOK, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", en.ID), nil, nil)
		students = append(students, student{ID: s.User.ID, Token: s.Token})
	}
	prof.Must(http.StatusOK, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", l.ID), nil, nil)
	cfg, _ := json.Marshal(map[string]any{
		"email": prof.User.Email, "password": servertest.Password, "lecture_id": l.ID,
		"students": students, "frames_dir": writeFrames(b, 3), "interval_ms": 2000,
	})
	cfgFile := filepath.Join(b.TempDir(), "bench.json")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, e.node, filepath.Join(e.dir, "bench.mjs"))
		cmd.Dir = e.dir
		cmd.Env = append(os.Environ(), "CHROMIUM="+e.chromium, "BASE_URL="+in.URL, "BENCH_FILE="+cfgFile)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		cancel()
		sc := bufio.NewScanner(&out)
		for sc.Scan() {
			line := sc.Text()
			b.Log(line)
			if rest, ok := strings.CutPrefix(line, "METRIC "); ok {
				var name string
				var v float64
				if _, err := fmt.Sscanf(rest, "%s %g", &name, &v); err == nil {
					b.ReportMetric(v, name)
				}
			}
		}
		if err != nil {
			b.Fatalf("bench.mjs: %v", err)
		}
	}
}
