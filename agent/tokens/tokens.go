// Package tokens keeps the tray agent's session tokens in the OS keyring
// (Secret Service, Windows Credential Manager, macOS Keychain through
// go-keyring). When no keyring answers, or it is locked, it falls back to a
// file readable only by the user and says so in the log. It implements
// client.TokenStore and also hands out the current access token to the
// agent's other connections (signaling, calls the client does not wrap).
package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"

	"github.com/zalando/go-keyring"

	"github.com/didacto/didacto/agent/client"
)

// Store is a client.TokenStore backed by the keyring with a file fallback.
type Store struct {
	service, user string
	file          client.FileStore
	log           *slog.Logger

	mu       sync.Mutex
	cur      client.Tokens
	fallback bool // the last keyring operation failed; the file holds the tokens
}

// New returns a store for the keyring entry service/user, falling back to
// file (which should live in the user's config dir).
func New(service, user, file string, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{service: service, user: user, file: client.FileStore{Path: file}, log: log}
}

// UsingFile reports whether the tokens went to the fallback file last time.
func (s *Store) UsingFile() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fallback
}

// Load reads the keyring, then the fallback file (a previous run may have
// had no keyring).
func (s *Store) Load(ctx context.Context) (client.Tokens, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	raw, err := keyring.Get(s.service, s.user)
	switch {
	case err == nil:
		var t client.Tokens
		if err := json.Unmarshal([]byte(raw), &t); err != nil {
			return client.Tokens{}, fmt.Errorf("keyring entry %s: %w", s.service, err)
		}
		if t == (client.Tokens{}) {
			return client.Tokens{}, client.ErrNoTokens
		}
		s.cur, s.fallback = t, false
		return t, nil
	case errors.Is(err, keyring.ErrNotFound):
		s.fallback = false
	default:
		s.log.Warn("OS keyring unavailable; reading the session from a private file instead", "err", err, "file", s.file.Path)
		s.fallback = true
	}
	t, ferr := s.file.Load(ctx)
	if ferr != nil {
		return client.Tokens{}, ferr
	}
	s.cur = t
	return t, nil
}

// Save writes t to the keyring, or to the file when the keyring fails. An
// empty t clears both (sign out).
func (s *Store) Save(ctx context.Context, t client.Tokens) error {
	if t == (client.Tokens{}) {
		return s.Clear(ctx)
	}
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encoding tokens: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur = t
	if kerr := keyring.Set(s.service, s.user, string(b)); kerr != nil {
		if !s.fallback {
			s.log.Warn("OS keyring unavailable or locked; keeping the session in a file only you can read", "err", kerr, "file", s.file.Path)
		}
		s.fallback = true
		if err := s.file.Save(ctx, t); err != nil {
			return fmt.Errorf("saving tokens (keyring failed: %v): %w", kerr, err)
		}
		return nil
	}
	s.fallback = false
	// The keyring has them now: no copy may linger on disk.
	if err := os.Remove(s.file.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing old token file: %w", err)
	}
	return nil
}

// Clear removes the tokens from the keyring and the file.
func (s *Store) Clear(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur = client.Tokens{}
	var errs []error
	if err := keyring.Delete(s.service, s.user); err != nil && !errors.Is(err, keyring.ErrNotFound) {
		// An unreachable keyring held nothing we could have written.
		s.log.Warn("could not remove the session from the OS keyring", "err", err)
	}
	if err := os.Remove(s.file.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fmt.Errorf("token file: %w", err))
	}
	if len(errs) > 0 {
		return fmt.Errorf("clearing tokens: %w", errors.Join(errs...))
	}
	return nil
}

// Current returns the tokens last loaded or saved (the client saves after
// every login and rotation, so this is the live access token).
func (s *Store) Current() client.Tokens {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}
