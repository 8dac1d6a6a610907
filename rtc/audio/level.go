package audio

import "math"

// Level is the loudness of a stretch of PCM as a fraction of full scale:
// RMS and peak, each 0..1.
type Level struct{ RMS, Peak float64 }

// Measure returns pcm's level.
func Measure(pcm []int16) Level {
	if len(pcm) == 0 {
		return Level{}
	}
	var sum float64
	peak := 0
	for _, s := range pcm {
		v := int(s)
		sum += float64(v * v)
		if v < 0 {
			v = -v
		}
		peak = max(peak, v)
	}
	return Level{RMS: math.Sqrt(sum/float64(len(pcm))) / 32768, Peak: float64(peak) / 32768}
}

// DBFS is the RMS level in decibels relative to full scale (-inf for
// digital silence).
func (l Level) DBFS() float64 { return 20 * math.Log10(l.RMS) }
