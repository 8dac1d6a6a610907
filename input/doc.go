// Package input turns remote-control events from the professor's console into
// operating-system input on the student's machine.
//
// A Controller owns the control state of one session: it validates events,
// rate-limits them, maps normalized positions onto the streamed screen, tracks
// the keys and buttons it holds and lets go of all of them when the session
// ends (ReleaseAll, Close, context cancel), and counts every event it drops by
// reason. An Injector performs the OS input: on Linux robotgo (cgo, XTest) for
// the pointer and XTest through jezek/xgb for keys, so keys robotgo cannot
// name (Hangul, Hanja, Menu) reach the X server too; robotgo on Windows and
// macOS; other systems and Wayland sessions get a clear error.
//
// Whether the peer may control at all (an established session with the room's
// professor) and showing the student that they are controlled are the session
// owner's job: a Controller exists only while control is granted.
package input
