package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// wineDirs is where Debian's wine64 package puts its loader and server
// (/usr/bin/wine comes with the separate wine package).
var wineDirs = []string{"/usr/lib/wine"}

// Wine is a throwaway Wine prefix (its own C: drive and registry) shared by
// the tests of one test binary: `wineboot --init` takes seconds. Each test
// that calls StartWine has every Windows process of the prefix ended when it
// finishes (`wineserver -k`, for this prefix only), so the next test starts
// Wine's desktop afresh on its own X display.
type Wine struct {
	Prefix string // the WINEPREFIX directory
	dir    string // holds the prefix and the shim's sources
	loader string // wine64
	server string // wineserver
}

var wineShared struct {
	once sync.Once
	w    *Wine
	err  error
}

// prngShim is a test fixture, never shipped, standing in for two things
// Wine 8 (Debian 12) lacks that real Windows 10/11 has:
//   - Go 1.26 binaries import ProcessPrng from bcryptprimitives.dll, which
//     Wine 8 does not ship: this DLL exports it, filling the buffer with
//     RtlGenRandom (advapi32!SystemFunction036), which Wine has.
//   - Go's net package sets SIO_UDP_NETRESET on every UDP socket (Go issue
//     68614), which Wine 8's WSAIoctl refuses (WSAEOPNOTSUPP), so no UDP
//     socket — no WebRTC — would open. On the first ProcessPrng call (Go's
//     runtime makes it at start) the DLL points ws2_32's WSAIoctl export at
//     a wrapper that accepts SIO_UDP_NETRESET and SIO_UDP_CONNRESET when
//     Wine refuses them (they only turn ICMP error reports off) and passes
//     every other call to Wine's own.
const prngShim = `#include <winsock2.h>
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buf, ULONG len);

typedef int (WINAPI *wsaioctl_fn)(SOCKET, DWORD, LPVOID, DWORD, LPVOID, DWORD, LPDWORD, LPWSAOVERLAPPED,
	LPWSAOVERLAPPED_COMPLETION_ROUTINE);
static wsaioctl_fn wine_wsaioctl;

#define UDP_CONNRESET (IOC_IN | IOC_VENDOR | 12)
#define UDP_NETRESET (IOC_IN | IOC_VENDOR | 15)

static int WINAPI wsaioctl(SOCKET s, DWORD code, LPVOID in, DWORD inlen, LPVOID out, DWORD outlen, LPDWORD ret,
	LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr) {
	int r = wine_wsaioctl(s, code, in, inlen, out, outlen, ret, ov, cr);
	if (r != 0 && (code == UDP_NETRESET || code == UDP_CONNRESET) && WSAGetLastError() == WSAEOPNOTSUPP) {
		WSASetLastError(0);
		if (ret) *ret = 0;
		return 0;
	}
	return r;
}

/* Export-table patch: GetProcAddress(ws2_32, "WSAIoctl") (how Go finds it)
 * then returns a thunk, placed above the image within reach of a 32-bit RVA,
 * that jumps to wsaioctl. */
static void patch_wsaioctl(void) {
	BYTE *base = (BYTE *)LoadLibraryA("ws2_32.dll");
	if (!base) return;
	IMAGE_NT_HEADERS *nt = (IMAGE_NT_HEADERS *)(base + ((IMAGE_DOS_HEADER *)base)->e_lfanew);
	IMAGE_EXPORT_DIRECTORY *ed = (IMAGE_EXPORT_DIRECTORY *)(base +
		nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT].VirtualAddress);
	DWORD *names = (DWORD *)(base + ed->AddressOfNames);
	WORD *ords = (WORD *)(base + ed->AddressOfNameOrdinals);
	DWORD *funcs = (DWORD *)(base + ed->AddressOfFunctions);
	for (DWORD i = 0; i < ed->NumberOfNames; i++) {
		if (lstrcmpA((char *)(base + names[i]), "WSAIoctl") != 0) continue;
		DWORD *slot = &funcs[ords[i]];
		BYTE *thunk = NULL;
		for (SIZE_T off = (nt->OptionalHeader.SizeOfImage + 0x1ffff) & ~(SIZE_T)0xffff; off < 0x7fff0000 && !thunk; off += 0x10000)
			thunk = VirtualAlloc(base + off, 4096, MEM_RESERVE | MEM_COMMIT, PAGE_EXECUTE_READWRITE);
		if (!thunk) return;
		wine_wsaioctl = (wsaioctl_fn)(base + *slot);
		thunk[0] = 0xff; thunk[1] = 0x25; *(DWORD *)(thunk + 2) = 0; /* jmp [rip+0] */
		*(void **)(thunk + 6) = (void *)wsaioctl;
		DWORD old;
		VirtualProtect(slot, sizeof *slot, PAGE_READWRITE, &old);
		*slot = (DWORD)(thunk - base);
		VirtualProtect(slot, sizeof *slot, old, &old);
		return;
	}
}

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
	static LONG patched;
	if (InterlockedExchange(&patched, 1) == 0) patch_wsaioctl();
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n)) return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
`

const prngShimDef = "LIBRARY bcryptprimitives.dll\nEXPORTS\nProcessPrng\n"

// StartWine returns the test binary's Wine prefix, made on first use, and
// ends the prefix's Windows processes when tb finishes. Call Main from
// TestMain so the prefix is removed when the tests end. Without wine64,
// wineserver or x86_64-w64-mingw32-gcc the test is skipped (failed under
// DIDACTO_TEST_REQUIRE=1).
func StartWine(tb testing.TB) *Wine {
	tb.Helper()
	loader := LookPath(tb, "wine64", wineDirs...)
	server := LookPath(tb, "wineserver", wineDirs...)
	gcc := LookPath(tb, "x86_64-w64-mingw32-gcc")
	wineShared.once.Do(func() {
		start := time.Now()
		wineShared.w, wineShared.err = newWine(loader, server, gcc)
		if wineShared.err == nil {
			w := wineShared.w
			shared.mu.Lock()
			shared.stop = append(shared.stop, func() { w.kill(); os.RemoveAll(w.dir) })
			shared.mu.Unlock()
			tb.Logf("wine prefix %s made in %v", w.Prefix, time.Since(start).Round(10*time.Millisecond))
		}
	})
	if wineShared.err != nil {
		tb.Fatalf("wine: %v", wineShared.err)
	}
	w := wineShared.w
	tb.Cleanup(w.kill)
	return w
}

func newWine(loader, server, gcc string) (*Wine, error) {
	dir, err := os.MkdirTemp("", "didacto-wine-")
	if err != nil {
		return nil, err
	}
	w := &Wine{Prefix: filepath.Join(dir, "prefix"), dir: dir, loader: loader, server: server}
	fail := func(err error) (*Wine, error) {
		w.kill()
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command(loader, "wineboot", "--init")
	cmd.Env = w.env(os.Environ())
	if out, err := runTimeout(cmd, 3*time.Minute); err != nil {
		return fail(fmt.Errorf("wineboot --init: %w\n%s", err, out))
	}
	// wineboot returns before the registry is flushed: wait for the
	// prefix's server to finish so the next start sees a complete prefix.
	wait := exec.Command(server, "-w")
	wait.Env = w.env(os.Environ())
	if out, err := runTimeout(wait, time.Minute); err != nil {
		return fail(fmt.Errorf("wineserver -w: %w\n%s", err, out))
	}
	sys32 := filepath.Join(w.Prefix, "drive_c", "windows", "system32")
	if _, err := os.Stat(filepath.Join(sys32, "bcryptprimitives.dll")); err == nil {
		return w, nil // this Wine has its own
	}
	src := filepath.Join(dir, "prng.c")
	def := filepath.Join(dir, "prng.def")
	if err := os.WriteFile(src, []byte(prngShim), 0o644); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(def, []byte(prngShimDef), 0o644); err != nil {
		return fail(err)
	}
	build := exec.Command(gcc, "-shared", "-O2", "-o", filepath.Join(sys32, "bcryptprimitives.dll"), src, def, "-ladvapi32", "-lws2_32")
	if out, err := runTimeout(build, time.Minute); err != nil {
		return fail(fmt.Errorf("building the Wine shim DLL: %w\n%s", err, out))
	}
	return w, nil
}

// runTimeout runs cmd, killing it (by its PID) after d.
func runTimeout(cmd *exec.Cmd, d time.Duration) ([]byte, error) {
	p, err := StartProc(cmd)
	if err != nil {
		return nil, err
	}
	select {
	case <-p.done:
	case <-time.After(d):
		p.Kill()
		return []byte(p.Output()), fmt.Errorf("still running after %v", d)
	}
	if !cmd.ProcessState.Success() {
		return []byte(p.Output()), fmt.Errorf("%s", cmd.ProcessState)
	}
	return []byte(p.Output()), nil
}

// env is base with this prefix's Wine settings: quiet, and no Mono or Gecko
// install prompt (nothing here needs .NET or an HTML engine).
func (w *Wine) env(base []string) []string {
	env := []string{"WINEPREFIX=" + w.Prefix, "WINEARCH=win64", "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml="}
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "WINEPREFIX", "WINEARCH", "WINEDEBUG", "WINEDLLOVERRIDES", "WINESERVER", "WINELOADER":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// Command is a command that runs a Windows program (an .exe path on this
// machine, or a program Wine knows such as "msiexec") on display d (nil: a
// program that opens no window).
func (w *Wine) Command(d *Display, exe string, args ...string) *exec.Cmd {
	cmd := exec.Command(w.loader, append([]string{exe}, args...)...)
	base := os.Environ()
	if d != nil {
		base = d.Env()
	}
	cmd.Env = w.env(base)
	return cmd
}

// Path is where the Windows path (e.g. `C:\ProgramData\Didacto\agent.yaml`)
// lies on this machine.
func (w *Wine) Path(winPath string) string {
	p := strings.ReplaceAll(winPath, `\`, "/")
	if len(p) >= 2 && p[1] == ':' {
		p = "drive_" + strings.ToLower(p[:1]) + p[2:]
	}
	return filepath.Join(w.Prefix, filepath.FromSlash(p))
}

// kill ends every process of this prefix (and nothing else): wineserver -k
// signals the clients of this prefix's server only.
func (w *Wine) kill() {
	cmd := exec.Command(w.server, "-k")
	cmd.Env = w.env(os.Environ())
	_, _ = runTimeout(cmd, 30*time.Second)
	wait := exec.Command(w.server, "-w")
	wait.Env = w.env(os.Environ())
	_, _ = runTimeout(wait, 30*time.Second)
}

// WindowsBuild is the Windows agent as lab admins get it.
type WindowsBuild struct {
	Exe string // didacto-agent.exe
	MSI string // its installer
}

var winBuild struct {
	once sync.Once
	b    WindowsBuild
	err  error
}

// WindowsAgent cross-builds the Windows agent (.exe and .msi) once per test
// binary with scripts/package.sh windows, which knows the cgo environment
// and the cross-built C libraries (kept in dist/cache); Go's build cache
// makes a rebuild take seconds. Without MinGW or wixl the test is skipped
// (failed under DIDACTO_TEST_REQUIRE=1).
func WindowsAgent(tb testing.TB) WindowsBuild {
	tb.Helper()
	LookPath(tb, "x86_64-w64-mingw32-gcc")
	LookPath(tb, "wixl")
	winBuild.once.Do(func() {
		start := time.Now()
		winBuild.b, winBuild.err = buildWindowsAgent()
		if winBuild.err == nil {
			tb.Logf("windows agent built in %v", time.Since(start).Round(100*time.Millisecond))
		}
	})
	if winBuild.err != nil {
		tb.Fatalf("building the Windows agent: %v", winBuild.err)
	}
	return winBuild.b
}

func buildWindowsAgent() (WindowsBuild, error) {
	root, err := moduleRoot()
	if err != nil {
		return WindowsBuild{}, err
	}
	out, err := os.MkdirTemp("", "didacto-winbuild-")
	if err != nil {
		return WindowsBuild{}, err
	}
	shared.mu.Lock()
	shared.stop = append(shared.stop, func() { os.RemoveAll(out) })
	shared.mu.Unlock()
	cmd := exec.Command(filepath.Join(root, "scripts", "package.sh"), "windows")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "OUT="+out)
	if b, err := runTimeout(cmd, 20*time.Minute); err != nil {
		return WindowsBuild{}, fmt.Errorf("scripts/package.sh windows: %w\n%s", err, b)
	}
	b := WindowsBuild{Exe: filepath.Join(out, "build", "windows", "didacto-agent.exe"),
		MSI: filepath.Join(out, "build", "windows", "didacto-agent.msi")}
	for _, f := range []string{b.Exe, b.MSI} {
		if _, err := os.Stat(f); err != nil {
			return WindowsBuild{}, fmt.Errorf("scripts/package.sh windows left no %s: %w", filepath.Base(f), err)
		}
	}
	return b, nil
}

// moduleRoot is the directory of the go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// BuildC compiles a small Windows test program (one C file, GUI subsystem,
// wWinMain) with MinGW into tb's temp dir and returns the .exe.
func (w *Wine) BuildC(tb testing.TB, src string) string {
	tb.Helper()
	gcc := LookPath(tb, "x86_64-w64-mingw32-gcc")
	exe := filepath.Join(tb.TempDir(), strings.TrimSuffix(filepath.Base(src), ".c")+".exe")
	if out, err := runTimeout(exec.Command(gcc, "-municode", "-mwindows", "-O2", "-o", exe, src), time.Minute); err != nil {
		tb.Fatalf("building %s: %v\n%s", src, err, out)
	}
	return exe
}

// WindowsPath is the path a Windows program under Wine uses for a file on
// this machine (Wine's Z: drive is /).
func WindowsPath(unixPath string) string {
	return `Z:` + strings.ReplaceAll(unixPath, "/", `\`)
}

// Stop ends every Windows process of the prefix now (wineserver -k), as the
// end of the test would.
func (w *Wine) Stop() { w.kill() }

// Run runs a Windows program on display d to its end (killed after
// timeout) and returns its output, failing tb if it fails.
func (w *Wine) Run(tb testing.TB, d *Display, timeout time.Duration, exe string, args ...string) string {
	tb.Helper()
	out, err := runTimeout(w.Command(d, exe, args...), timeout)
	if err != nil {
		tb.Fatalf("wine %s %s: %v\n%s", exe, strings.Join(args, " "), err, out)
	}
	return string(out)
}
