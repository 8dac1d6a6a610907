// Package vp8 owns video coding for the live screen stream: a small direct
// cgo binding to libvpx's VP8 encoder and decoder, tuned for low-latency
// screen content (realtime deadline, CBR, no lag, error resilient, screen
// content mode), and the RGBA/BGRA → I420 conversion and scaling that feeds it.
//
// Encoded frames are raw VP8 frames, one per media.Sample in pion. Encoders
// and decoders hold C memory: call Close when done.
package vp8
