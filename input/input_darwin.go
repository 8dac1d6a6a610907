package input

// hWheelRight is robotgo's sign for scrolling right: on macOS its x goes to
// CGEventCreateScrollWheelEvent's second wheel, where positive scrolls left
// (not verified on a Mac; these machines cannot build for macOS).
const hWheelRight = -1

// nativeKeys would send keys robotgo cannot name; on macOS there are none
// yet (Korean input sources switch with Caps Lock or Ctrl+Space there).
type nativeKeys struct{}

func newNativeKeys() *nativeKeys { return &nativeKeys{} }

func (n *nativeKeys) key(Key, bool) (bool, error) { return false, nil }
