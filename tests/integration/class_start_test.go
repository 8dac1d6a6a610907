package integration

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// TestClassStartWithRealAgent is the start of a class end to end: the real
// console in Chromium, a real headless agent under Xvfb started with
// --join CODE. The request shows up without a reload, Accept all, the
// student's tile shows a frame, and when the agent is killed the tile goes
// offline at once (the agent channel's connection drops). The script
// prints the waits.
func TestClassStartWithRealAgent(t *testing.T) {
	bin := agentBinary(t)
	node := testenv.LookPath(t, "node")
	chromium := testenv.LookPath(t, "chromium")
	e2eDir, _ := filepath.Abs("../e2e")
	if _, err := os.Stat(filepath.Join(e2eDir, "node_modules", "playwright-core")); err != nil {
		testenv.Missing(t, "playwright-core not installed in tests/e2e (run scripts/setup.sh)")
	}
	disp := testenv.StartXvfb(t, "1280x720x24")
	in := servertest.Start(t)
	prof := in.Register(t, wire.RoleProfessor, "Prof Class Start")
	stud := in.Register(t, wire.RoleStudent, "Student Class Start")
	var l wire.Lecture
	prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Class start"}, &l)
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", l.ID), nil, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	var mu sync.Mutex
	var ap *testenv.Proc
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if ap != nil {
			ap.Stop(5 * time.Second)
		}
	})
	hooks := http.NewServeMux()
	hooks.HandleFunc("/start", func(w http.ResponseWriter, _ *http.Request) {
		agent := exec.Command(bin, "--headless", "--server", in.URL, "--join", l.Code, "--interval", "1s", "--live=false")
		agent.Env = append(disp.Env(), "DIDACTO_EMAIL="+stud.User.Email, "DIDACTO_PASSWORD="+servertest.Password)
		p, err := testenv.StartProc(agent)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		mu.Lock()
		ap = p
		mu.Unlock()
	})
	hooks.HandleFunc("/kill", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if ap == nil {
			http.Error(w, "no agent", http.StatusConflict)
			return
		}
		ap.Kill() // a crash, not a clean quit: the kernel closes its connections
	})
	hs := httptest.NewServer(hooks)
	defer hs.Close()

	runConsoleScript(ctx, t, node, chromium, e2eDir, "class-start.mjs", in.URL, prof.User.Email, l.ID, stud.User.ID,
		"STUDENT_NAME="+stud.User.Name, "START_URL="+hs.URL+"/start", "KILL_URL="+hs.URL+"/kill")
	mu.Lock()
	defer mu.Unlock()
	if ap != nil {
		t.Log("agent log:\n" + ap.Output())
	}
}
