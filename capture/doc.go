// Package capture owns grabbing the screen and turning the picture into what
// the agent uploads: a downscaled copy (Scale), a JPEG (Encoder) and a cheap
// change check (Fingerprint).
//
// Capturer is implemented per OS: on Linux/X11 it keeps one X connection
// (jezek/xgb, MIT-SHM when the server offers it, GetImage otherwise) because
// opening a connection per frame costs several times more and fails under
// load; on Windows and macOS it uses kbinani/screenshot; elsewhere it returns
// ErrUnsupported. Wayland sessions are refused with ErrWayland instead of
// sending black frames. Nothing here panics: errors are returned and the
// caller retries at its next tick.
package capture
