package store_test

import (
	"testing"

	"github.com/didacto/didacto/internal/testenv"
)

// TestMain fails a passing run that leaves goroutines behind.
func TestMain(m *testing.M) { testenv.Main(m) }
