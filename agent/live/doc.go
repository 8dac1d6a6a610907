// Package live owns the student agent's side of a live session: it keeps a
// signaling websocket joined to the student's room (reconnecting with
// backoff), answers the professor's offer with an rtc.Peer streaming the
// chosen screen, relays ICE candidates, and runs remote control: events from
// the DataChannels (or the signaling relay) reach an input.Controller only
// between control_start and control_end of the room's current professor
// session, and everything held is released when control ends, a channel
// closes, the professor leaves or the connection drops. State changes
// (idle, viewed, controlled, and by whom) are reported to the caller, which
// shows the student that they are being watched or controlled. The lab's
// consent policy decides whether the student is asked first (Config.Ask),
// and the student can end control or the session (EndControl, EndSession);
// the professor is told why (consent.go).
package live
