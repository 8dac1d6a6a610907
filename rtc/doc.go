// Package rtc owns the agent's WebRTC side of a live session: a pion answerer
// (Peer) with VP8 and Opus registered, NACK, RTCP reports, send-side
// bandwidth estimation (GCC over transport-wide congestion control feedback)
// and the playout-delay header extension set to 0/0 so Chrome renders frames
// without a jitter buffer; and the screen video loop (Streamer): capture →
// I420 → VP8 (rtc/vp8) at a paced frame rate, dropping frames rather than
// queueing them, with keyframes on connect and on PLI/FIR, and frame rate then
// resolution lowered when the estimated bandwidth falls.
//
// Signaling, sessions and remote control are the caller's (agent/live).
package rtc
