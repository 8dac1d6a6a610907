package input

// hWheelRight is robotgo's sign for scrolling right: on macOS its x goes to
// CGEventCreateScrollWheelEvent's second wheel, where positive scrolls left
// (not verified on a Mac; these machines cannot build for macOS).
const hWheelRight = -1
