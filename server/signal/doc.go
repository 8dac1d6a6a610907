// Package signal owns the websocket signaling server: authenticated sockets,
// the strict 1:1 rooms keyed by (lecture, student) — at most one professor and
// one student session each, newest session takes over — and the relay of
// WebRTC offers, answers, candidates and remote-control fallback events
// between the two sides, on one replica or across several.
//
// Room slots are leases in a RoomLock (in memory, or Redis with SET NX PX,
// compare-and-extend/delete scripts and an INCR epoch per slot as fencing
// token); messages for a session held by another replica travel on a Bus (in
// memory, or Redis pub/sub). Every join, takeover, kick, leave and start/end
// of remote control is written to the audit log. docs/protocol.md is the
// protocol reference.
package signal
