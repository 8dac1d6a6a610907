package wire

import "time"

// Frame upload: PUT /api/v1/lectures/{id}/frame with Content-Type image/jpeg.
const (
	// HeaderCapturedAt carries the capture time, RFC 3339 with nanoseconds.
	HeaderCapturedAt = "X-Didacto-Captured-At"
	// HeaderFrameUnchanged marks a keep-alive: the picture did not change
	// since the last upload, the body is empty, presence is refreshed.
	HeaderFrameUnchanged = "X-Didacto-Unchanged"
	// MaxFrameBytes bounds an uploaded JPEG.
	MaxFrameBytes = 512 << 10
)

// FrameHints answers a frame upload: how the server wants the agent to
// capture next (slower and smaller while nobody watches).
type FrameHints struct {
	IntervalMS int  `json:"interval_ms"`
	Width      int  `json:"width"`
	Quality    int  `json:"quality"`
	Watched    bool `json:"watched"`
	// NeedFrame asks for a full picture at once: a keep-alive arrived but
	// the server holds no frame (it restarted, or the frame expired).
	NeedFrame bool `json:"need_frame,omitempty"`
}

// MonitorTile is one member's state on the monitoring grid.
type MonitorTile struct {
	StudentID  int64      `json:"student_id"`
	Name       string     `json:"name"`
	Email      string     `json:"email"`
	Online     bool       `json:"online"`
	CapturedAt *time.Time `json:"captured_at,omitempty"`
	ReceivedAt *time.Time `json:"received_at,omitempty"`
	LastSeen   *time.Time `json:"last_seen,omitempty"`
	Version    int64      `json:"version"`
	FrameURL   string     `json:"frame_url,omitempty"`
	Width      int        `json:"width,omitempty"`
	Height     int        `json:"height,omitempty"`
}

// MonitorSnapshot answers GET /api/v1/lectures/{id}/monitor.
type MonitorSnapshot struct {
	LectureID int64         `json:"lecture_id"`
	Tiles     []MonitorTile `json:"tiles"`
	ServerNow time.Time     `json:"server_now"`
}

// MonitorEvent is one Server-Sent Event of GET …/monitor/stream
// (event name "tile"): the tile changed (new frame, online or offline).
type MonitorEvent struct {
	Tile MonitorTile `json:"tile"`
}

// AttendanceRecord is one row of GET /api/v1/lectures/{id}/attendance.
type AttendanceRecord struct {
	StudentID        int64     `json:"student_id"`
	Name             string    `json:"name"`
	Email            string    `json:"email"`
	Day              string    `json:"day"`
	FirstSeen        time.Time `json:"first_seen"`
	LastSeen         time.Time `json:"last_seen"`
	ConnectedSeconds int64     `json:"connected_seconds"`
}

// AuditRecord is one row of GET /api/v1/lectures/{id}/audit.
type AuditRecord struct {
	ID        int64     `json:"id"`
	ActorID   int64     `json:"actor_id"`
	SubjectID int64     `json:"subject_id"`
	Action    string    `json:"action"`
	Detail    string    `json:"detail,omitempty"`
	Replica   string    `json:"replica,omitempty"`
	At        time.Time `json:"at"`
}

// MonitorFocus asks, for FocusLease (answered in lease_ms), for frames
// larger than thumbnails: POST /api/v1/lectures/{id}/monitor/focus. The
// console renews it while it shows the tiles larger (an enlarged tile: its
// student, every second; a larger tile size: the whole lecture, with an
// empty student_ids). Width 0 ends it at once.
type MonitorFocus struct {
	StudentIDs []int64 `json:"student_ids"`
	Width      int     `json:"width"`
}

// MonitorFocusAnswer says how long a focus holds.
type MonitorFocusAnswer struct {
	LeaseMS int `json:"lease_ms"`
}

// Focus bounds.
const (
	MinFocusWidth    = 160
	MaxFocusWidth    = 1280
	MaxFocusStudents = 100
)
