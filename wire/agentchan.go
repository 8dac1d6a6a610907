package wire

// The agent channel: one websocket per running agent, GET
// /api/v1/agent/channel with the student's bearer token. The server pushes
// AgentEvent messages (JSON text frames); the agent sends nothing but the
// close. While it is open the student is online; when it closes (the agent
// quit, or missed the server's pings for LeaseMS) they are offline at once.
// See docs/protocol.md.

// AgentChannelVersion is the channel's message version; an agent ignores
// events of a newer major version it does not know.
const AgentChannelVersion = 1

// Agent event types. An agent ignores types it does not know.
const (
	// AgentHello opens the channel: the version and the lease.
	AgentHello = "hello"
	// AgentLecturesChanged: the student's lectures or requests changed
	// (a request accepted or rejected, a membership ended, a lecture
	// switched on or off or renamed); the agent re-reads its lists now.
	AgentLecturesChanged = "lectures_changed"
)

// AgentEvent is one message from the server on the agent channel.
type AgentEvent struct {
	Type      string `json:"type"`
	Version   int    `json:"version,omitempty"`    // hello
	LeaseMS   int    `json:"lease_ms,omitempty"`   // hello: how long a silent agent stays online
	LectureID int64  `json:"lecture_id,omitempty"` // the lecture concerned, when one is
}

// MaxAgentEventBytes bounds one message on the agent channel.
const MaxAgentEventBytes = 64 << 10
