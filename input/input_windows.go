package input

// hWheelRight is robotgo's sign for scrolling right: on Windows it passes x
// straight to MOUSEEVENTF_HWHEEL, where positive is right.
const hWheelRight = 1
