package wire

import "time"

// The agent channel: one websocket per running agent, GET
// /api/v1/agent/channel with the student's bearer token. The server pushes
// AgentEvent messages (JSON text frames); the agent answers commands with
// AgentReply messages (classroom.go). While it is open the student is online; when it closes (the agent
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
	// AgentLocks: the student's screen locks changed; Locks is the whole
	// list (empty: unlocked), CommandID the command to acknowledge. Hello
	// carries the list too, so an agent that reconnects or restarts while
	// locked comes back locked.
	AgentLocks = "locks"
	// AgentCommand: a command to carry out once (message, open_url).
	AgentCommand = "command"
	// AgentHandLowered: the student's hand in LectureID was lowered (by the
	// professor, or a live session with them opened).
	AgentHandLowered = "hand_lowered"
)

// AgentEvent is one message from the server on the agent channel.
type AgentEvent struct {
	Type      string `json:"type"`
	Version   int    `json:"version,omitempty"`    // hello
	LeaseMS   int    `json:"lease_ms,omitempty"`   // hello: how long a silent agent stays online
	LectureID int64  `json:"lecture_id,omitempty"` // the lecture concerned, when one is
	// Locks: hello and locks; CommandID: locks (0 when no command caused
	// the change, e.g. a lock expired or its lecture was switched off).
	Locks     []ScreenLock `json:"locks,omitempty"`
	CommandID int64        `json:"command_id,omitempty"`
	// Command: a command event.
	Command *AgentCommandBody `json:"command,omitempty"`
}

// AgentCommandBody is a one-time command for the agent.
type AgentCommandBody struct {
	ID           int64     `json:"id"`
	LectureID    int64     `json:"lecture_id"`
	LectureTitle string    `json:"lecture_title,omitempty"`
	Kind         string    `json:"kind"` // CommandMessage, CommandOpenURL
	Text         string    `json:"text,omitempty"`
	URL          string    `json:"url,omitempty"`
	Professor    string    `json:"professor,omitempty"`
	At           time.Time `json:"at"`
}

// MaxAgentEventBytes bounds one message on the agent channel.
const MaxAgentEventBytes = 64 << 10
