package audio

// #include <stdlib.h>
import "C"

import "unsafe"

// freeC frees a device id that malgo's DeviceID.Pointer copied to C.
func freeC(p unsafe.Pointer) {
	if p != nil {
		C.free(p)
	}
}
