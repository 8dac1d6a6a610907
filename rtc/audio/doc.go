// Package audio owns the sound of a live session on the student's machine:
// the microphone the student speaks into, the speakers the professor's voice
// plays on (miniaudio through malgo: PulseAudio or ALSA on Linux, WASAPI on
// Windows, Core Audio on macOS), and the playout buffer between the network
// and the speakers.
//
// All PCM here is 48 kHz mono int16, the rate Opus runs at in WebRTC.
// A machine without a microphone or a sound card is normal in a lab: Open,
// OpenMicrophone and OpenSpeaker return ErrNoDevice (wrapped) so that the
// session goes on without that part and the UI can say what is missing.
package audio
