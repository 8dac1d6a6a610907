package wire

import "time"

// Classroom controls: a professor locks or blanks screens, sends a message
// or opens a web page on all or some students' PCs of a lecture
// (POST /api/v1/lectures/{id}/commands). Each command is delivered over the
// agent channel and every agent acknowledges it, so the console shows per
// student: pending, delivered, applied, failed (with the reason), answered.
// See docs/protocol.md, "Classroom controls".

// Command kinds.
const (
	CommandLock    = "lock"     // cover every monitor and hold keyboard and mouse; the message shown
	CommandBlank   = "blank"    // the same, a black screen
	CommandUnlock  = "unlock"   // end a lock or blank
	CommandMessage = "message"  // a short text, shown until dismissed; the student may answer
	CommandOpenURL = "open_url" // open an http(s) page in the default browser
)

// Command result states, in the order they happen.
const (
	ResultPending   = "pending"   // sent; the agent has not answered (offline agents get locks when they come back)
	ResultDelivered = "delivered" // the agent received it
	ResultApplied   = "applied"   // the screen is locked, the message shown, the page opened
	ResultFailed    = "failed"    // the agent could not; Reason says why
)

// Bounds of a command.
const (
	MaxCommandText  = 500  // characters of a message (or a lock's message)
	MaxCommandURL   = 2048 // bytes of an open_url URL
	MaxReplyText    = 200  // characters of a student's answer
	MaxCommandStuds = 1000 // student_ids of one command
)

// CommandRequest is the body of POST /api/v1/lectures/{id}/commands.
// StudentIDs empty means every member of the lecture.
type CommandRequest struct {
	Kind       string  `json:"kind"`
	StudentIDs []int64 `json:"student_ids,omitempty"`
	Text       string  `json:"text,omitempty"` // message, and the lock's message
	URL        string  `json:"url,omitempty"`  // open_url
}

// Command is a sent command with each student's result (the answer of
// POST …/commands, and of GET …/commands/{commandId}).
type Command struct {
	ID        int64           `json:"id"`
	LectureID int64           `json:"lecture_id"`
	Kind      string          `json:"kind"`
	Text      string          `json:"text,omitempty"`
	URL       string          `json:"url,omitempty"`
	ActorID   int64           `json:"actor_id"`
	CreatedAt time.Time       `json:"created_at"`
	Results   []CommandResult `json:"results"`
}

// CommandResult is one student's outcome of a command.
type CommandResult struct {
	CommandID int64     `json:"command_id"`
	StudentID int64     `json:"student_id"`
	Kind      string    `json:"kind,omitempty"`
	State     string    `json:"state"`
	Reason    string    `json:"reason,omitempty"` // failed: why
	Reply     string    `json:"reply,omitempty"`  // message: the student's answer
	At        time.Time `json:"at"`
}

// ScreenLock is a student's screen held by a lecture (lock or blank).
type ScreenLock struct {
	LectureID    int64     `json:"lecture_id"`
	LectureTitle string    `json:"lecture_title"`
	StudentID    int64     `json:"student_id,omitempty"`
	Mode         string    `json:"mode"` // CommandLock or CommandBlank
	Message      string    `json:"message,omitempty"`
	Professor    string    `json:"professor,omitempty"`
	CommandID    int64     `json:"command_id"`
	Since        time.Time `json:"since"`
	// Until is when the lock ends by itself (the agent enforces it even
	// when it cannot reach the server): no PC stays locked forever.
	Until time.Time `json:"until"`
}

// Hand is a raised hand on a lecture's grid.
type Hand struct {
	StudentID int64     `json:"student_id"`
	RaisedAt  time.Time `json:"raised_at"`
}

// ClassroomState answers GET /api/v1/lectures/{id}/classroom: what holds
// now — the locks, the raised hands, and each student's result of the
// latest command sent to them.
type ClassroomState struct {
	LectureID int64           `json:"lecture_id"`
	Locks     []ScreenLock    `json:"locks"`
	Hands     []Hand          `json:"hands"`
	Latest    []CommandResult `json:"latest"`
	ServerNow time.Time       `json:"server_now"`
}

// ClassroomEvent is one Server-Sent Event of GET …/classroom/stream, named
// "classroom" (the stream opens with "hello", {"lecture_id",
// "server_now"}: re-read the state). One field is set: Result (a student's
// result of a command changed, or their answer arrived), Hand with Raised
// (a hand went up or down), or Locks with LocksChanged (the lecture's
// whole lock list after a change; empty: nobody is locked).
type ClassroomEvent struct {
	Result *CommandResult `json:"result,omitempty"`
	Hand   *Hand          `json:"hand,omitempty"`
	Raised bool           `json:"raised,omitempty"`
	Locks  []ScreenLock   `json:"locks,omitempty"`
	// LocksChanged tells an empty Locks (everyone released) from no news.
	LocksChanged bool `json:"locks_changed,omitempty"`
}

// ReplyRequest is a student's one-line answer to a message:
// POST /api/v1/lectures/{id}/commands/{commandId}/reply.
type ReplyRequest struct {
	Text string `json:"text"`
}

// AgentReply is what an agent sends on the agent channel (JSON text
// frames, at most MaxAgentReplyBytes): the acknowledgement of a command.
type AgentReply struct {
	Type      string `json:"type"` // AgentAck
	CommandID int64  `json:"command_id"`
	LectureID int64  `json:"lecture_id"`
	State     string `json:"state"`            // ResultDelivered, ResultApplied, ResultFailed
	Reason    string `json:"reason,omitempty"` // failed: why, for the professor
}

// AgentAck is the AgentReply type.
const AgentAck = "ack"

// MaxAgentReplyBytes bounds one message from the agent on its channel.
const MaxAgentReplyBytes = 1024
