package signal

import (
	"time"

	"github.com/didacto/didacto/server/limit"
	"github.com/didacto/didacto/wire"
)

// Config tunes a Hub. Zero fields take the defaults of withDefaults.
type Config struct {
	// Replica names this server in leases, envelopes and the audit log; it
	// must be unique among replicas sharing a lock.
	Replica string
	// LockTTL is a room lease; a crashed client or replica frees its slots
	// within it. Default 15 s.
	LockTTL time.Duration
	// Heartbeat renews leases and pings sockets. Default LockTTL/3.
	Heartbeat time.Duration
	// MaxMessageBytes bounds one websocket message. Default wire.MaxSignalBytes.
	MaxMessageBytes int64
	// RatePerSecond and RateBurst are each session's token bucket.
	// Defaults 50/s and 200 (ICE candidates come in bursts).
	RatePerSecond float64
	RateBurst     int
	// OriginPatterns are the browser origins allowed besides the request's
	// own host (coder/websocket OriginPatterns). Agents send no Origin.
	OriginPatterns []string
	// ICEServers is handed to both sides in joined. ICEFor, when set,
	// builds the list per joining user instead (ephemeral TURN credentials).
	ICEServers []wire.ICEServer
	ICEFor     func(userID int64) []wire.ICEServer
	// MaxPerUser and MaxPerAddress cap the sockets open at once on this
	// replica per account and per client address (<= 0: no cap); one more
	// is closed with CloseTooManySockets.
	MaxPerUser, MaxPerAddress int
	// AuditPerMinute bounds the audit rows one actor writes into one
	// lecture's log per minute; beyond it one audit_suppressed row says so
	// and the rest are dropped. Default 60.
	AuditPerMinute int
	// Limits counts audit rows; shared through Redis when replicas share
	// one. Default: in memory.
	Limits limit.Store
	// WriteTimeout bounds one write to a socket. Default 10 s.
	WriteTimeout time.Duration
	// Now is the clock of audit timestamps. Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Replica == "" {
		c.Replica = "local"
	}
	if c.LockTTL <= 0 {
		c.LockTTL = 15 * time.Second
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = c.LockTTL / 3
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = wire.MaxSignalBytes
	}
	if c.RatePerSecond <= 0 {
		c.RatePerSecond = 50
	}
	if c.RateBurst <= 0 {
		c.RateBurst = 200
	}
	if c.AuditPerMinute <= 0 {
		c.AuditPerMinute = 60
	}
	if c.Limits == nil {
		c.Limits = limit.NewMemory(c.Now)
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
