package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// MemoryStore keeps tokens for the life of the process (headless runs that
// log in with a password at every start).
type MemoryStore struct {
	mu sync.Mutex
	t  Tokens
}

// Load returns the tokens or ErrNoTokens.
func (m *MemoryStore) Load(context.Context) (Tokens, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.t == (Tokens{}) {
		return Tokens{}, ErrNoTokens
	}
	return m.t, nil
}

// Save replaces the tokens.
func (m *MemoryStore) Save(_ context.Context, t Tokens) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.t = t
	return nil
}

// FileStore keeps tokens in a JSON file readable only by the user (for
// headless agents that must survive restarts without a password).
type FileStore struct {
	Path string
}

// Load reads the file; a missing file is ErrNoTokens.
func (f FileStore) Load(context.Context) (Tokens, error) {
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return Tokens{}, ErrNoTokens
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("reading token file: %w", err)
	}
	var t Tokens
	if err := json.Unmarshal(b, &t); err != nil {
		return Tokens{}, fmt.Errorf("token file %s: %w", f.Path, err)
	}
	if t == (Tokens{}) {
		return Tokens{}, ErrNoTokens
	}
	return t, nil
}

// Save writes the file atomically (temp file + rename) with mode 0600.
func (f FileStore) Save(_ context.Context, t Tokens) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	dir := filepath.Dir(f.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("token dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tokens-*")
	if err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("token file: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("token file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.Path); err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	return nil
}
