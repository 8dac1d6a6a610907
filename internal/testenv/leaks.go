package testenv

import (
	"fmt"
	"net/http"
	"os"

	"go.uber.org/goleak"
)

// findLeaks reports goroutines still running after a package's tests.
// DIDACTO_LEAKS=off skips the check (to bisect a leak, not in CI).
func findLeaks() error {
	if os.Getenv("DIDACTO_LEAKS") == "off" {
		return nil
	}
	// Keep-alive connections of the default client are pooled, not leaked.
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
	if err := goleak.Find(leakIgnores...); err != nil {
		return fmt.Errorf("goroutines left running after the tests (every goroutine needs an owner that waits for it):\n%w", err)
	}
	return nil
}

// leakIgnores are goroutines that libraries keep for the process's life by
// design (not ours to stop).
var leakIgnores = []goleak.Option{
	// database/sql's opener lives as long as a *sql.DB that a test left to
	// the process (the pooled connections close with it).
	goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
	// The OS keyring's D-Bus session connection is a process-wide
	// singleton of godbus (go-keyring never closes it).
	goleak.IgnoreTopFunction("github.com/godbus/dbus/v5.newConn.func1"),
	goleak.IgnoreAnyFunction("github.com/godbus/dbus/v5.(*Conn).inWorker"),
}
