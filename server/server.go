// Package server assembles the thin DIDACTO server from its parts — storage,
// auth, the REST API, monitoring, signaling, payments and the embedded
// console — and runs it with graceful shutdown. It never imports the agent's
// cgo packages (capture, input, rtc, ui): it builds with CGO_ENABLED=0.
package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/didacto/didacto/server/agentchan"
	"github.com/didacto/didacto/server/api"
	"github.com/didacto/didacto/server/auth"
	"github.com/didacto/didacto/server/classroom"
	"github.com/didacto/didacto/server/config"
	"github.com/didacto/didacto/server/console"
	"github.com/didacto/didacto/server/database"
	"github.com/didacto/didacto/server/feed"
	"github.com/didacto/didacto/server/httpx"
	"github.com/didacto/didacto/server/limit"
	"github.com/didacto/didacto/server/monitor"
	"github.com/didacto/didacto/server/openapi"
	"github.com/didacto/didacto/server/payment"
	"github.com/didacto/didacto/server/signal"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// Server is one running replica.
type Server struct {
	cfg     config.Config
	logger  *slog.Logger
	store   store.Store
	redis   *redis.Client
	auth    *auth.Service
	metrics *httpx.Metrics
	handler http.Handler
	closers []func()
	// workers are the background loops New prepares and Run runs (and
	// waits for): frame sweeping, presence flushing, audit pruning.
	workers []func(ctx context.Context)
	frames  monitor.FrameStore
	mux     *routeRecorder
	hub     *signal.Hub
	agents  *agentchan.Hub
	class   *classroom.Service
	limits  limit.Store
	proxies []netip.Prefix
}

// wsAuth adapts auth to the signaling hub: bearer header (agents), cookie
// session (console) or ?ticket=.
type wsAuth struct{ a *auth.Service }

func (w wsAuth) AuthenticateRequest(r *http.Request) (signal.Identity, error) {
	id, err := w.a.AuthenticateWebsocket(r)
	return signal.Identity{UserID: id.UserID, Role: id.Role, Name: id.Name, Family: id.Family}, err
}

func (w wsAuth) StillSignedIn(ctx context.Context, id signal.Identity) (bool, error) {
	err := w.a.Live(ctx, auth.Identity{UserID: id.UserID, Family: id.Family})
	var he *httpx.Error
	if errors.As(err, &he) {
		return false, nil
	}
	return err == nil, err
}

// handsDown writes the signaling audit and, when a professor joins a
// student's live session, lowers that student's raised hand: the
// professor is answering it.
type handsDown struct {
	signal.Auditor
	s *Server
}

func (h handsDown) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	err := h.Auditor.AppendAudit(ctx, e)
	if e.Action == signal.AuditJoin && e.ActorID != e.SubjectID && h.s.class != nil {
		if lerr := h.s.class.LowerHand(ctx, e.LectureID, e.SubjectID); lerr != nil {
			h.s.logger.Warn("lowering a hand at a live session", "err", lerr)
		}
	}
	return err
}

func (s *Server) signaling(ctx context.Context, mux httpx.Mux) error {
	var lock signal.RoomLock = signal.NewMemoryLock()
	var bus signal.Bus = signal.NewMemoryBus()
	if s.redis != nil {
		lock = signal.NewRedisLock(s.redis, "didacto:")
		bus = signal.NewRedisBus(s.redis, "didacto:", s.logger)
	}
	cfg := signal.Config{Replica: s.cfg.Replica, LockTTL: s.cfg.RoomTTL,
		MaxPerUser: s.cfg.MaxSocketsPerUser, MaxPerAddress: s.cfg.MaxSocketsPerAddress, Limits: s.limits}
	if s.cfg.PublicURL != "" {
		if u, err := url.Parse(s.cfg.PublicURL); err == nil {
			cfg.OriginPatterns = []string{u.Host}
		}
	}
	if len(s.cfg.ICEServers) > 0 {
		ice := ICE{URLs: s.cfg.ICEServers, Username: s.cfg.TURNUsername, Credential: s.cfg.TURNCredential,
			Secret: s.cfg.TURNSecret, TTL: s.cfg.TURNTTL, Now: time.Now}
		cfg.ICEFor = ice.For
	}
	hub, err := signal.NewHub(ctx, cfg, lock, bus, s.store, wsAuth{s.auth}, handsDown{s.store, s}, s.logger)
	if err != nil {
		return err
	}
	s.hub = hub
	mux.Handle("GET /api/v1/signal", hub)
	return nil
}

// agentChannel mounts the agents' push channel; its presence reports go to
// the monitor (a closed channel greys the tile at once).
func (s *Server) agentChannel(ctx context.Context, mux httpx.Mux, mon *monitor.Service, class *classroom.Service) (*agentchan.Hub, error) {
	var bus agentchan.Bus = agentchan.NewMemoryBus()
	if s.redis != nil {
		bus = agentchan.NewRedisBus(s.redis, "didacto:", s.logger)
	}
	cfg := agentchan.Config{MaxPerUser: 4, Locks: class, Replies: class}
	if s.cfg.PublicURL != "" {
		if u, err := url.Parse(s.cfg.PublicURL); err == nil {
			cfg.OriginPatterns = []string{u.Host}
		}
	}
	hub, stop, err := agentchan.New(context.WithoutCancel(ctx), cfg, s.auth, bus, mon, s.logger.With("component", "agentchan"))
	if err != nil {
		return nil, fmt.Errorf("agent channel: %w", err)
	}
	s.closers = append(s.closers, stop)
	s.agents = hub
	class.SetPusher(hub)
	mux.Handle("GET /api/v1/agent/channel", hub)
	return hub, nil
}

func (s *Server) paymentService() (*payment.Service, error) {
	pc := s.cfg.PortOne
	cfg := payment.Config{V1Key: pc.V1Key, V1Secret: pc.V1Secret, V1StoreCode: pc.V1StoreCode, V1PG: pc.V1PG,
		V1BaseURL: pc.V1BaseURL, V2Secret: pc.V2Secret, V2StoreID: pc.V2StoreID, V2ChannelKey: pc.V2Channel,
		V2BaseURL: pc.V2BaseURL, WebhookSecrets: pc.WebhookSecrets, V1SDKURL: pc.V1SDKURL, V2SDKURL: pc.V2SDKURL}
	for _, p := range pc.Plans {
		cfg.Plans = append(cfg.Plans, payment.Plan{ID: p.ID, Name: p.Name, PriceKRW: p.PriceKRW, Period: p.Period})
	}
	svc, err := payment.New(cfg, s.store, s.logger, nil)
	if err != nil {
		return nil, fmt.Errorf("payments: %w", err)
	}
	return svc, nil
}

// Replica is this replica's name (in logs and the audit log).
func (s *Server) Replica() string { return s.cfg.Replica }

// Operations is the API as documented in /api/openapi.json.
func (s *Server) Operations() []openapi.Op { return openapi.Operations() }

// Routes lists the registered "METHOD /path" patterns.
func (s *Server) Routes() []string { return append([]string(nil), s.mux.patterns...) }

// New opens storage and builds the handler tree.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger) (*Server, error) {
	if cfg.Replica == "" {
		// Unique among replicas sharing Redis, even several on one host.
		host, _ := os.Hostname()
		b := make([]byte, 3)
		_, _ = rand.Read(b)
		cfg.Replica = host + "-" + hex.EncodeToString(b)
	}
	s := &Server{cfg: cfg, logger: logger, metrics: httpx.NewMetrics()}
	proxies, err := cfg.ProxyPrefixes()
	if err != nil {
		return nil, err
	}
	s.proxies = proxies
	st, err := database.Open(ctx, cfg.DatabaseURL, cfg.DataDir, logger)
	if err != nil {
		return nil, fmt.Errorf("opening database: %w", err)
	}
	s.store = st
	s.closers = append(s.closers, func() { _ = st.Close() })
	if cfg.RedisURL != "" {
		opt, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("parsing --redis-url: %w", err)
		}
		// Fail fast while Redis is down: joins and uploads answer
		// service_unavailable instead of stalling on retries.
		if opt.DialTimeout == 0 {
			opt.DialTimeout = time.Second
		}
		if opt.MaxRetries == 0 {
			opt.MaxRetries = 1
		}
		s.redis = redis.NewClient(opt)
		s.closers = append(s.closers, func() { _ = s.redis.Close() })
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = s.redis.Ping(pctx).Err()
		cancel()
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("connecting to Redis at %s: %w", opt.Addr, err)
		}
	}
	// Throttles and marks are shared the way frames and rooms are: in Redis
	// when replicas share one, else in this process.
	s.limits = limit.NewMemory(nil)
	if s.redis != nil {
		s.limits = limit.NewRedis(s.redis, "didacto:")
	}
	s.auth, err = auth.New(ctx, st, auth.Options{SecureCookie: cfg.SecureCookies(), Logger: logger, Limits: s.limits})
	if err != nil {
		s.Close()
		return nil, err
	}
	if s.handler, err = s.routes(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if cfg.AuditRetention > 0 {
		s.workers = append(s.workers, func(ctx context.Context) { s.pruneAudit(ctx, cfg.AuditRetention, time.Hour) })
	}
	return s, nil
}

// pruneAudit deletes audit rows older than keep, at once and then every
// period, until ctx ends: the log would otherwise grow for ever.
func (s *Server) pruneAudit(ctx context.Context, keep, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		n, err := s.store.DeleteAuditBefore(ctx, time.Now().Add(-keep))
		switch {
		case err != nil && ctx.Err() == nil:
			s.logger.Warn("pruning the audit log", "err", err)
		case n > 0:
			s.logger.Info("audit log pruned", "rows", n, "older_than", keep.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// routeRecorder remembers every registered pattern (for the OpenAPI test).
type routeRecorder struct {
	*http.ServeMux
	patterns []string
}

func (r *routeRecorder) Handle(pattern string, h http.Handler) {
	r.patterns = append(r.patterns, pattern)
	r.ServeMux.Handle(pattern, h)
}

func (s *Server) routes(ctx context.Context) (http.Handler, error) {
	mux := &routeRecorder{ServeMux: http.NewServeMux()}
	s.mux = mux
	core := api.New(s.store, s.auth, s.limits, nil, s.logger)
	core.RejectCooldown = s.cfg.JoinCooldown
	core.Replica = s.cfg.Replica
	if s.redis != nil {
		core.Feed = feed.NewRedis(s.redis, "didacto:", s.logger)
	}
	core.Register(mux)

	loc, err := time.LoadLocation(s.cfg.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("time zone: %w", err)
	}
	mcfg := monitor.DefaultConfig()
	mcfg.FrameTTL, mcfg.Location = s.cfg.FrameTTL, loc
	mcfg.MaxStreamsPerUser, mcfg.MaxStreamsPerAddress = s.cfg.MaxStreamsPerUser, s.cfg.MaxStreamsPerAddress
	var notify monitor.Notifier
	if s.redis != nil {
		s.frames = monitor.NewRedisFrames(s.redis, "didacto:", mcfg.FrameTTL)
		mcfg.Focus = monitor.NewRedisFocus(s.redis, "didacto:")
		notify = monitor.NewRedisNotifier(s.redis, "didacto:", s.logger)
	} else {
		mem := monitor.NewMemoryFrames(mcfg.FrameTTL, nil)
		s.frames = mem
		notify = monitor.NewLocalNotifier()
		s.workers = append(s.workers, func(ctx context.Context) {
			t := time.NewTicker(mcfg.FrameTTL)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					mem.Sweep()
				}
			}
		})
	}
	mon := monitor.NewService(mcfg, s.store, s.frames, notify, s.auth, s.metrics, nil, s.logger)
	mon.Register(mux)
	s.workers = append(s.workers, mon.Run) // flushes presence when it ends, before Close closes the store

	if err := s.signaling(ctx, mux); err != nil {
		return nil, err
	}
	class := classroom.New(classroom.Config{Replica: s.cfg.Replica}, s.store, s.auth, core.Feed, nil, s.logger.With("component", "classroom"))
	class.Register(mux)
	s.workers = append(s.workers, class.Run)
	s.class = class
	if core.Agents, err = s.agentChannel(ctx, mux, mon, class); err != nil {
		return nil, err
	}

	pay, err := s.paymentService()
	if err != nil {
		return nil, err
	}
	api.NewPayments(pay, s.auth).Register(mux)

	mux.Handle("GET /healthz", http.HandlerFunc(s.healthz))
	mux.Handle("GET /metrics", s.metricsGate(s.metrics))
	doc, err := openapi.Handler(s.Operations(), "")
	if err != nil {
		return nil, err
	}
	mux.Handle("GET /api/openapi.json", doc)
	mux.ServeMux.Handle("/", console.Handler(console.Options{PaymentOrigins: pay.BrowserOrigins()}))
	// Unknown API paths answer problem+json, not the console's HTML.
	mux.ServeMux.Handle("/api/", httpx.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return httpx.Errorf(http.StatusNotFound, wire.CodeNotFound, "no API endpoint %s %s", r.Method, r.URL.Path)
	}))
	return securityHeaders(httpx.ClientAddress(httpx.Observe(mux, s.logger, s.metrics), s.proxies),
		strings.HasPrefix(s.cfg.PublicURL, "https://")), nil
}

// healthz answers only ok or degraded: the causes (database and Redis
// errors, with their addresses) and the version go to the log, not to
// anyone who asks.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status, code := "ok", http.StatusOK
	if err := s.store.Ping(ctx); err != nil {
		s.logger.Warn("healthz: database unreachable", "err", err)
		status, code = "degraded", http.StatusServiceUnavailable
	}
	if s.redis != nil {
		if err := s.redis.Ping(ctx).Err(); err != nil {
			s.logger.Warn("healthz: Redis unreachable", "err", err)
			status, code = "degraded", http.StatusServiceUnavailable
		}
	}
	httpx.WriteJSON(w, code, map[string]string{"status": status})
}

// metricsGate serves /metrics with the --metrics-token as a bearer token,
// or without one only to a loopback peer that no proxy forwarded (a local
// Prometheus): the series name every route and its traffic.
func (s *Server) metricsGate(h http.Handler) http.Handler {
	return httpx.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		if tok := s.cfg.MetricsToken; tok != "" {
			got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if subtle.ConstantTimeCompare([]byte(got), []byte(tok)) != 1 {
				return httpx.Errorf(http.StatusUnauthorized, wire.CodeUnauthorized, "/metrics needs the --metrics-token as a bearer token")
			}
		} else if !httpx.LoopbackPeer(r) || r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" {
			return httpx.Errorf(http.StatusForbidden, wire.CodeForbidden, "/metrics is served to loopback clients, or to any with --metrics-token")
		}
		h.ServeHTTP(w, r)
		return nil
	})
}

// securityHeaders applies headers every response should carry; HSTS when
// the server is reached over TLS (directly, or behind an https public URL).
func securityHeaders(h http.Handler, httpsPublic bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		if r.TLS != nil || httpsPublic {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}

// Handler is the server's whole HTTP handler (for tests).
func (s *Server) Handler() http.Handler { return s.handler }

// Metrics is the server's metrics registry.
func (s *Server) Metrics() *httpx.Metrics { return s.metrics }

// Store is the server's storage (for demo setup and tests).
func (s *Server) Store() store.Store { return s.store }

// Auth is the server's authentication service.
func (s *Server) Auth() *auth.Service { return s.auth }

// Run starts the background work and answers on l until ctx ends, then
// shuts down gracefully and waits for the background work to finish (call
// Close after it). New starts nothing: a server that is never run holds no
// goroutines.
func (s *Server) Run(ctx context.Context, l net.Listener) error {
	wctx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	for _, w := range s.workers {
		wg.Add(1)
		go func() { defer wg.Done(); w(wctx) }()
	}
	defer func() { stopWorkers(); wg.Wait() }()
	return s.serve(ctx, l)
}

// serve answers on l until ctx ends, then shuts down gracefully.
func (s *Server) serve(ctx context.Context, l net.Listener) error {
	// Without read and write timeouts one client that trickles a body or
	// stops reading holds a connection (and whatever it waits on) forever.
	// The event stream and the websocket clear or extend their deadlines
	// with http.ResponseController.
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: min(10*time.Second, s.cfg.ReadTimeout),
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCert != "" {
			srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			errc <- srv.ServeTLS(l, s.cfg.TLSCert, s.cfg.TLSKey)
		} else {
			errc <- srv.Serve(l)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Websockets are hijacked: Shutdown does not wait for them, the hub
	// tells its sessions and frees their rooms.
	if err := s.hub.Close(sctx); err != nil {
		s.logger.Warn("closing signaling", "err", err)
	}
	if err := s.agents.Close(sctx); err != nil {
		s.logger.Warn("closing agent channels", "err", err)
	}
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	return err
}

// Close releases storage and connections.
func (s *Server) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}
