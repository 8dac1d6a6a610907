/* winreader: a test fixture, never shipped. A Windows program (built with
 * MinGW, run under Wine) whose full-screen window writes every button,
 * wheel, key and character it receives to the file named by its argument,
 * one line each, so a test can check what the agent's SendInput delivered. */
#include <windows.h>
#include <windowsx.h>
#include <stdio.h>

static FILE *out;

static void logline(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	fflush(out);
}

static int down(int vk) { return (GetKeyState(vk) & 0x8000) != 0; }

static LRESULT CALLBACK proc(HWND h, UINT m, WPARAM w, LPARAM l) {
	switch (m) {
	case WM_LBUTTONDOWN: logline("down left %d %d", GET_X_LPARAM(l), GET_Y_LPARAM(l)); return 0;
	case WM_LBUTTONUP: logline("up left %d %d", GET_X_LPARAM(l), GET_Y_LPARAM(l)); return 0;
	case WM_RBUTTONDOWN: logline("down right %d %d", GET_X_LPARAM(l), GET_Y_LPARAM(l)); return 0;
	case WM_RBUTTONUP: logline("up right %d %d", GET_X_LPARAM(l), GET_Y_LPARAM(l)); return 0;
	case WM_MOUSEWHEEL: logline("wheel %d", GET_WHEEL_DELTA_WPARAM(w)); return 0;
	case WM_MOUSEHWHEEL: logline("hwheel %d", GET_WHEEL_DELTA_WPARAM(w)); return 0;
	case WM_KEYDOWN:
	case WM_SYSKEYDOWN:
		logline("keydown 0x%02x shift=%d ctrl=%d alt=%d", (unsigned)w, down(VK_SHIFT), down(VK_CONTROL), down(VK_MENU));
		return 0;
	case WM_KEYUP:
	case WM_SYSKEYUP:
		logline("keyup 0x%02x", (unsigned)w);
		return 0;
	case WM_CHAR:
	case WM_SYSCHAR:
		logline("char 0x%04x", (unsigned)w);
		return 0;
	case WM_ERASEBKGND: {
		RECT r;
		GetClientRect(h, &r);
		HBRUSH b = CreateSolidBrush(RGB(0x30, 0x90, 0x30));
		FillRect((HDC)w, &r, b);
		DeleteObject(b);
		return 1;
	}
	case WM_DESTROY: PostQuitMessage(0); return 0;
	}
	return DefWindowProcW(h, m, w, l);
}

int WINAPI wWinMain(HINSTANCE inst, HINSTANCE prev, PWSTR cmd, int show) {
	(void)prev; (void)show;
	out = _wfopen(cmd, L"w");
	if (!out) return 1;
	WNDCLASSW wc = {0};
	wc.lpfnWndProc = proc;
	wc.hInstance = inst;
	wc.hCursor = LoadCursor(NULL, IDC_ARROW);
	wc.lpszClassName = L"winreader";
	RegisterClassW(&wc);
	HWND h = CreateWindowExW(WS_EX_TOPMOST, L"winreader", L"winreader", WS_POPUP | WS_VISIBLE, 0, 0,
		GetSystemMetrics(SM_CXSCREEN), GetSystemMetrics(SM_CYSCREEN), NULL, NULL, inst, NULL);
	SetForegroundWindow(h);
	SetFocus(h);
	logline("ready %d %d", GetSystemMetrics(SM_CXSCREEN), GetSystemMetrics(SM_CYSCREEN));
	MSG msg;
	while (GetMessageW(&msg, NULL, 0, 0) > 0) {
		TranslateMessage(&msg);
		DispatchMessageW(&msg);
	}
	return 0;
}
