// Package auth owns who a request is: account registration and login,
// argon2id password hashes, short-lived signed access tokens, rotating
// refresh tokens (reuse revokes the family), the console's HttpOnly cookie
// session with its CSRF token, and one-minute websocket tickets.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/mail"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/didacto/didacto/server/httpx"
	"github.com/didacto/didacto/server/limit"
	"github.com/didacto/didacto/server/plan"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// Cookie and header names of the console session.
const (
	SessionCookie = "didacto_session"
	CSRFCookie    = "didacto_csrf"
	CSRFHeader    = "X-CSRF-Token"
)

// Lifetimes.
const (
	AccessTTL  = 15 * time.Minute
	RefreshTTL = 30 * 24 * time.Hour
	SessionTTL = 7 * 24 * time.Hour
	TicketTTL  = time.Minute
)

// Limits on account fields.
const (
	MaxEmailLen = 254
	MaxNameLen  = 100
)

// Identity is the authenticated caller.
type Identity struct {
	UserID int64
	Role   wire.Role
	Name   string
	// Cookie is true when the request came with the console's cookie session.
	Cookie bool
	// Family is the sign-in the credential belongs to (see Live).
	Family string
}

// Store is what auth needs from persistence.
type Store interface {
	store.Users
	store.Tokens
	store.Resets
}

// Service authenticates people and requests.
type Service struct {
	store  Store
	hash   *hasher
	sign   signer
	csrf   []byte
	now    func() time.Time
	secure bool // cookies marked Secure (served over https)
	logger *slog.Logger
	limits limit.Store
	// dummy is verified for unknown e-mails so that a login's timing does
	// not tell whether an account exists.
	dummy string
}

// Options configure a Service.
type Options struct {
	Now          func() time.Time // clock; time.Now when nil
	SecureCookie bool
	// HashParallel bounds concurrent password hashes (memory); default 4.
	HashParallel int
	Logger       *slog.Logger
	// Limits keeps the login throttles (and other shared marks); in memory
	// when nil. Replicas sharing a database share it through Redis.
	Limits limit.Store
}

// New loads (or creates) the signing keys shared by all replicas.
func New(ctx context.Context, st Store, opt Options) (*Service, error) {
	gen := func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return b, err
	}
	signKey, err := st.Secret(ctx, "token-signing-key", gen)
	if err != nil {
		return nil, fmt.Errorf("loading token key: %w", err)
	}
	csrfKey, err := st.Secret(ctx, "csrf-key", gen)
	if err != nil {
		return nil, fmt.Errorf("loading csrf key: %w", err)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.HashParallel == 0 {
		opt.HashParallel = 4
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Limits == nil {
		opt.Limits = limit.NewMemory(opt.Now)
	}
	s := &Service{store: st, hash: newHasher(opt.HashParallel), sign: signer{signKey}, csrf: csrfKey,
		now: opt.Now, secure: opt.SecureCookie, logger: opt.Logger, limits: opt.Limits}
	if s.dummy, err = s.hash.Hash(ctx, "not a real password"); err != nil {
		return nil, err
	}
	return s, nil
}

// ValidEmail reports whether email (trimmed, lower-cased) is an address an
// account may have.
func ValidEmail(email string) bool {
	addr, err := mail.ParseAddress(email)
	return err == nil && addr.Address == email && len(email) <= MaxEmailLen &&
		strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".")
}

// Register validates and creates an account.
func (s *Service) Register(ctx context.Context, req wire.RegisterRequest) (store.User, error) {
	email := strings.ToLower(strings.TrimSpace(req.Email))
	name := strings.TrimSpace(req.Name)
	var bad []wire.FieldError
	if !ValidEmail(email) {
		bad = append(bad, wire.FieldError{Field: "email", Message: "must be a valid e-mail address"})
	}
	if name == "" || utf8.RuneCountInString(name) > MaxNameLen {
		bad = append(bad, wire.FieldError{Field: "name", Message: fmt.Sprintf("must be 1 to %d characters", MaxNameLen)})
	}
	if msg := CheckPasswordPolicy(req.Password); msg != "" {
		bad = append(bad, wire.FieldError{Field: "password", Message: msg})
	}
	if !req.Role.Valid() {
		bad = append(bad, wire.FieldError{Field: "role", Message: "must be professor or student"})
	}
	if len(bad) > 0 {
		return store.User{}, httpx.Invalid(bad...)
	}
	h, err := s.hash.Hash(ctx, req.Password)
	if err != nil {
		return store.User{}, fmt.Errorf("hashing password: %w", err)
	}
	u, err := s.store.CreateUser(ctx, store.User{Email: email, Name: name, Role: req.Role, PasswordHash: h})
	if errors.Is(err, store.ErrEmailTaken) {
		return store.User{}, httpx.Errorf(http.StatusConflict, wire.CodeEmailTaken, "an account with this e-mail already exists")
	}
	if err != nil {
		return store.User{}, fmt.Errorf("creating user: %w", err)
	}
	return u, nil
}

// errInvalidLogin is deliberately the same for unknown e-mail and bad password.
var errInvalidLogin = httpx.Errorf(http.StatusUnauthorized, wire.CodeInvalidLogin, "e-mail or password is wrong")

// Login checks a password from the client address from.
func (s *Service) Login(ctx context.Context, email, password string, from netip.Addr) (store.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" || password == "" || len(password) > 4*MaxPasswordLen {
		return store.User{}, errInvalidLogin
	}
	keys := keysFor(email, httpx.AddrKey(from))
	if wait, why, err := s.loginWait(ctx, keys); err != nil {
		return store.User{}, limitErr(err)
	} else if wait > 0 {
		return store.User{}, throttled(wait, why)
	}
	u, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		_, _ = s.hash.Verify(ctx, s.dummy, password)
		if err := s.loginFailed(ctx, keys); err != nil {
			return store.User{}, limitErr(err)
		}
		return store.User{}, errInvalidLogin
	}
	if err != nil {
		return store.User{}, fmt.Errorf("looking up user: %w", err)
	}
	ok, err := s.hash.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		return store.User{}, fmt.Errorf("verifying password of user %d: %w", u.ID, err)
	}
	if !ok {
		if err := s.loginFailed(ctx, keys); err != nil {
			return store.User{}, limitErr(err)
		}
		s.logger.Info("wrong password", "user_id", u.ID, "from", from.String())
		return store.User{}, errInvalidLogin
	}
	if err := s.loginSucceeded(ctx, keys); err != nil {
		return store.User{}, limitErr(err)
	}
	return u, nil
}

// IssueTokens starts a new bearer refresh-token family for u.
func (s *Service) IssueTokens(ctx context.Context, u store.User) (wire.TokenPair, error) {
	fam, err := newFamilyID()
	if err != nil {
		return wire.TokenPair{}, err
	}
	rt, h, err := randomToken("drt_")
	if err != nil {
		return wire.TokenPair{}, err
	}
	now := s.now()
	if err := s.store.CreateRefreshToken(ctx, store.RefreshToken{TokenHash: h, FamilyID: fam, UserID: u.ID,
		Kind: "bearer", ExpiresAt: now.Add(RefreshTTL), CreatedAt: now}); err != nil {
		return wire.TokenPair{}, fmt.Errorf("storing refresh token: %w", err)
	}
	return s.pair(u, fam, rt, now), nil
}

func (s *Service) pair(u store.User, fam, refresh string, now time.Time) wire.TokenPair {
	exp := now.Add(AccessTTL)
	at := s.sign.sign(claims{Sub: u.ID, Role: u.Role, Name: u.Name, Purp: purposeAccess, Iat: now.Unix(), Exp: exp.Unix(), Fam: fam})
	return wire.TokenPair{AccessToken: at, RefreshToken: refresh, TokenType: "Bearer",
		ExpiresIn: int(AccessTTL.Seconds()), ExpiresAt: exp.UTC(), User: PublicUser(u, now)}
}

var errRefresh = httpx.Errorf(http.StatusUnauthorized, wire.CodeUnauthorized, "refresh token is invalid or expired; sign in again")

// Refresh rotates a refresh token. Reusing a rotated token revokes its family.
func (s *Service) Refresh(ctx context.Context, refresh string) (wire.TokenPair, error) {
	if !strings.HasPrefix(refresh, "drt_") || len(refresh) > 100 {
		return wire.TokenPair{}, errRefresh
	}
	next, h, err := randomToken("drt_")
	if err != nil {
		return wire.TokenPair{}, err
	}
	now := s.now()
	old, err := s.store.RotateRefreshToken(ctx, hashToken(refresh),
		store.RefreshToken{TokenHash: h, Kind: "bearer", ExpiresAt: now.Add(RefreshTTL), CreatedAt: now}, now)
	switch {
	case errors.Is(err, store.ErrTokenReused):
		s.logger.Warn("refresh token reused; family revoked")
		return wire.TokenPair{}, httpx.Errorf(http.StatusUnauthorized, wire.CodeTokenReused,
			"this refresh token was already used; all sessions of this login were signed out")
	case errors.Is(err, store.ErrTokenExpired), errors.Is(err, store.ErrNotFound):
		return wire.TokenPair{}, errRefresh
	case err != nil:
		return wire.TokenPair{}, fmt.Errorf("rotating refresh token: %w", err)
	}
	u, err := s.store.UserByID(ctx, old.UserID)
	if err != nil {
		return wire.TokenPair{}, fmt.Errorf("loading user %d: %w", old.UserID, err)
	}
	return s.pair(u, old.FamilyID, next, now), nil
}

// Logout revokes the family of a refresh or session token. Unknown tokens
// are not an error: logging out twice is fine.
func (s *Service) Logout(ctx context.Context, token string) error {
	t, err := s.store.LookupRefreshToken(ctx, hashToken(token), s.now())
	if err != nil {
		return nil
	}
	if err := s.store.RevokeFamily(ctx, t.FamilyID); err != nil {
		return err
	}
	return s.endFamilies(ctx, t.FamilyID)
}

// endFamilies marks sign-ins ended so that their access tokens and tickets,
// which are otherwise good until they expire, are refused at once, and their
// sockets and streams close (see Live). A mark outlives every token.
func (s *Service) endFamilies(ctx context.Context, fams ...string) error {
	for _, f := range fams {
		if err := s.limits.Set(ctx, "ended:"+f, "1", AccessTTL+2*clockSkew); err != nil {
			return fmt.Errorf("ending sign-in: %w", err)
		}
	}
	return nil
}

var errSignedOut = httpx.Errorf(http.StatusUnauthorized, wire.CodeUnauthorized, "this sign-in has ended; sign in again")

// Live reports whether id's sign-in still stands: nil, errSignedOut after a
// logout or a password change elsewhere, or the lookup's failure. Sockets
// and event streams ask it now and then.
func (s *Service) Live(ctx context.Context, id Identity) error {
	if id.Family == "" {
		return errSignedOut
	}
	_, ended, err := s.limits.Get(ctx, "ended:"+id.Family)
	if err != nil {
		return fmt.Errorf("checking sign-in: %w", err)
	}
	if ended {
		return errSignedOut
	}
	return nil
}

// ChangePassword sets a new password after checking the current one, and
// ends every other sign-in of the account (the caller's stays). The current
// password is throttled like a login: a stolen access token must not become
// a password oracle.
func (s *Service) ChangePassword(ctx context.Context, id Identity, current, next string, from netip.Addr) error {
	u, err := s.store.UserByID(ctx, id.UserID)
	if err != nil {
		return fmt.Errorf("loading user %d: %w", id.UserID, err)
	}
	keys := keysFor(u.Email, httpx.AddrKey(from))
	if wait, why, err := s.loginWait(ctx, keys); err != nil {
		return limitErr(err)
	} else if wait > 0 {
		return throttled(wait, why)
	}
	if msg := CheckPasswordPolicy(next); msg != "" {
		return httpx.Invalid(wire.FieldError{Field: "new_password", Message: msg})
	}
	ok, err := s.hash.Verify(ctx, u.PasswordHash, current)
	if err != nil {
		return fmt.Errorf("verifying password of user %d: %w", u.ID, err)
	}
	if !ok {
		if err := s.loginFailed(ctx, keys); err != nil {
			return limitErr(err)
		}
		return httpx.Invalid(wire.FieldError{Field: "current_password", Message: "is wrong"})
	}
	h, err := s.hash.Hash(ctx, next)
	if err != nil {
		return fmt.Errorf("hashing password: %w", err)
	}
	if err := s.store.SetPasswordHash(ctx, u.ID, h); err != nil {
		return fmt.Errorf("storing password: %w", err)
	}
	fams, err := s.store.RevokeUserTokens(ctx, u.ID, id.Family)
	if err != nil {
		return err
	}
	if err := s.endFamilies(ctx, fams...); err != nil {
		return err
	}
	s.logger.Info("password changed; other sign-ins ended", "user_id", u.ID, "ended", len(fams))
	return nil
}

// StartSession creates a console cookie session and sets its cookies.
func (s *Service) StartSession(ctx context.Context, w http.ResponseWriter, u store.User) error {
	fam, err := newFamilyID()
	if err != nil {
		return err
	}
	tok, h, err := randomToken("dss_")
	if err != nil {
		return err
	}
	now := s.now()
	if err := s.store.CreateRefreshToken(ctx, store.RefreshToken{TokenHash: h, FamilyID: fam, UserID: u.ID,
		Kind: "cookie", ExpiresAt: now.Add(SessionTTL), CreatedAt: now}); err != nil {
		return fmt.Errorf("storing session: %w", err)
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: tok, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(SessionTTL.Seconds())})
	// The CSRF token is derived from the session, so a cookie an attacker
	// planted cannot be paired with a header they chose.
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: s.csrfFor(tok), Path: "/", Secure: s.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(SessionTTL.Seconds())})
	return nil
}

// EndSession revokes the cookie session of r and clears the cookies.
func (s *Service) EndSession(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := s.Logout(ctx, c.Value); err != nil {
			return err
		}
	}
	for _, name := range []string{SessionCookie, CSRFCookie} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, Secure: s.secure, HttpOnly: name == SessionCookie})
	}
	return nil
}

func (s *Service) csrfFor(session string) string {
	mac := hmac.New(sha256.New, s.csrf)
	mac.Write([]byte(session))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// Ticket issues a one-minute token that only opens a websocket (for clients
// that cannot set headers on a websocket handshake).
func (s *Service) Ticket(id Identity) (string, time.Time, error) {
	now := s.now()
	exp := now.Add(TicketTTL)
	jti, err := newFamilyID()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("ticket id: %w", err)
	}
	return s.sign.sign(claims{Sub: id.UserID, Role: id.Role, Name: id.Name, Purp: purposeTicket, Iat: now.Unix(), Exp: exp.Unix(), Jti: jti, Fam: id.Family}), exp, nil
}

var errUnauthenticated = httpx.Errorf(http.StatusUnauthorized, wire.CodeUnauthorized, "sign in first")

// Authenticate identifies the caller from a bearer token, or from the cookie
// session (checking the CSRF header on unsafe methods).
func (s *Service) Authenticate(r *http.Request) (Identity, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return Identity{}, httpx.Errorf(http.StatusUnauthorized, wire.CodeUnauthorized, "Authorization must be a Bearer token")
		}
		c, err := s.sign.verify(strings.TrimSpace(tok), purposeAccess, s.now())
		if err != nil {
			return Identity{}, httpx.Errorf(http.StatusUnauthorized, wire.CodeUnauthorized, "access token rejected: %v", err)
		}
		id := Identity{UserID: c.Sub, Role: c.Role, Name: c.Name, Family: c.Fam}
		if err := s.Live(r.Context(), id); err != nil {
			return Identity{}, err
		}
		return id, nil
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return Identity{}, errUnauthenticated
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if got := r.Header.Get(CSRFHeader); !hmac.Equal([]byte(got), []byte(s.csrfFor(c.Value))) {
			return Identity{}, httpx.Errorf(http.StatusForbidden, wire.CodeCSRF, "missing or wrong %s header", CSRFHeader)
		}
	}
	t, err := s.store.LookupRefreshToken(r.Context(), hashToken(c.Value), s.now())
	if err != nil || t.Kind != "cookie" {
		return Identity{}, httpx.Errorf(http.StatusUnauthorized, wire.CodeUnauthorized, "session expired; sign in again")
	}
	u, err := s.store.UserByID(r.Context(), t.UserID)
	if err != nil {
		return Identity{}, fmt.Errorf("loading session user %d: %w", t.UserID, err)
	}
	return Identity{UserID: u.ID, Role: u.Role, Name: u.Name, Cookie: true, Family: t.FamilyID}, nil
}

// AuthenticateWebsocket also accepts ?ticket= (a websocket handshake from a
// browser cannot carry an Authorization header; its cookies still work).
func (s *Service) AuthenticateWebsocket(r *http.Request) (Identity, error) {
	if t := r.URL.Query().Get("ticket"); t != "" {
		c, err := s.sign.verify(t, purposeTicket, s.now())
		if err != nil {
			return Identity{}, httpx.Errorf(http.StatusUnauthorized, wire.CodeUnauthorized, "ticket rejected: %v", err)
		}
		// A ticket travels in a URL (proxy logs, history): it opens one
		// websocket, on any replica, and is spent.
		if c.Jti == "" {
			return Identity{}, httpx.Errorf(http.StatusUnauthorized, wire.CodeUnauthorized, "ticket rejected: no ticket id")
		}
		first, err := s.limits.SetNX(r.Context(), "ticket:"+c.Jti, "1", TicketTTL+clockSkew)
		if err != nil {
			return Identity{}, fmt.Errorf("spending ticket: %w", err)
		}
		if !first {
			return Identity{}, httpx.Errorf(http.StatusUnauthorized, wire.CodeUnauthorized, "ticket rejected: already used; ask for a new one")
		}
		id := Identity{UserID: c.Sub, Role: c.Role, Name: c.Name, Family: c.Fam}
		if err := s.Live(r.Context(), id); err != nil {
			return Identity{}, err
		}
		return id, nil
	}
	return s.Authenticate(r)
}

// PublicUser is the wire view of an account.
func PublicUser(u store.User, now time.Time) wire.User {
	out := wire.User{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Plan: plan.Name(u.PremiumUntil, now),
		CreatedAt: u.CreatedAt.UTC()}
	if !u.PremiumUntil.IsZero() {
		t := u.PremiumUntil.UTC()
		out.PremiumUntil = &t
	}
	return out
}

func newFamilyID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("family id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
