package procstat

import (
	"os"
	"testing"
)

func TestReadsThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	s, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSSMiB <= 0 || s.At.IsZero() {
		t.Fatalf("sample %+v", s)
	}
	if _, err := Read(-1); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
}
