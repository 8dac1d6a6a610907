package input

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// hWheelRight is robotgo's sign for scrolling right: on Windows it passes x
// straight to MOUSEEVENTF_HWHEEL, where positive is right.
const hWheelRight = 1

// Virtual-key codes of keys robotgo cannot name.
var nativeVK = map[string]uintptr{
	"Lang1": 0x15, "HangulMode": 0x15, // VK_HANGUL
	"Lang2": 0x19, "HanjaMode": 0x19, // VK_HANJA
	"IntlBackslash": 0xe2, // VK_OEM_102
}

// nativeKeys sends those keys with keybd_event.
type nativeKeys struct {
	keybdEvent *windows.LazyProc
}

func newNativeKeys() *nativeKeys {
	return &nativeKeys{keybdEvent: windows.NewLazySystemDLL("user32.dll").NewProc("keybd_event")}
}

// key reports whether it handled k.
func (n *nativeKeys) key(k Key, down bool) (bool, error) {
	vk, ok := nativeVK[k.Code]
	if !ok {
		return false, nil
	}
	var flags uintptr
	if !down {
		flags = 2 // KEYEVENTF_KEYUP
	}
	if err := n.keybdEvent.Find(); err != nil {
		return true, fmt.Errorf("key %s: %w", k.Code, err)
	}
	_, _, _ = n.keybdEvent.Call(vk, 0, flags, 0) // keybd_event returns nothing
	return true, nil
}
