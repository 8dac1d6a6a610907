package packaging

import (
	"bytes"
	"debug/pe"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/didacto/didacto/agent/config"
)

// windowsSystemDLLs are the DLLs every Windows 10/11 machine has: the .exe
// must import nothing else (no libwinpthread, libgcc or libvpx DLL to ship).
var windowsSystemDLLs = []string{"kernel32.dll", "msvcrt.dll", "user32.dll", "gdi32.dll", "advapi32.dll",
	"shell32.dll", "ole32.dll", "oleaut32.dll", "ws2_32.dll", "winmm.dll", "opengl32.dll", "dwmapi.dll",
	"imm32.dll", "shcore.dll", "comdlg32.dll", "setupapi.dll", "version.dll", "bcrypt.dll", "ntdll.dll",
	"crypt32.dll", "secur32.dll", "iphlpapi.dll", "userenv.dll", "powrprof.dll", "winspool.drv", "uxtheme.dll"}

// TestWindowsPackages: the cross-compiled agent is an amd64 GUI PE that needs
// only Windows' own DLLs and carries the git version; the MSI installs it
// per machine with a Start-menu shortcut, an HKLM Run key, and SERVER_URL /
// LOCK_SERVER_URL properties whose custom actions write a system config the
// agent's config loader reads as intended; both files are signed exactly
// when a certificate is given.
func TestWindowsPackages(t *testing.T) {
	needTools(t, "x86_64-w64-mingw32-gcc", "wixl", "msiinfo", "msiextract", "osslsigncode", "openssl")
	const version = "v3.2.1-7-gtest"
	tmp := t.TempDir()

	unsigned := buildPackages(t, filepath.Join(tmp, "unsigned"), "windows", "VERSION="+version)
	exe := glob(t, unsigned, "didacto-agent_"+version+"_windows_amd64.exe")
	msi := glob(t, unsigned, "didacto-agent_"+version+"_windows_amd64.msi")

	t.Run("exe", func(t *testing.T) {
		checkPE(t, exe, version)
		if signed(t, exe) {
			t.Error("the .exe has a signature although no certificate was given")
		}
	})
	t.Run("msi", func(t *testing.T) { checkMSI(t, msi, exe, version) })

	t.Run("signed", func(t *testing.T) {
		cert, key := filepath.Join(tmp, "cert.pem"), filepath.Join(tmp, "key.pem")
		run(t, nil, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
			"-days", "2", "-subj", "/CN=DIDACTO packaging test", "-addext", "extendedKeyUsage=codeSigning",
			"-addext", "keyUsage=digitalSignature")
		out := buildPackages(t, filepath.Join(tmp, "signed"), "windows", "VERSION="+version,
			"SIGN_CERT="+cert, "SIGN_KEY="+key)
		sexe := glob(t, out, "*.exe")
		smsi := glob(t, out, "*.msi")
		checkPE(t, sexe, version)
		for _, f := range []string{sexe, smsi} {
			if !signed(t, f) {
				t.Errorf("%s has no Authenticode signature", filepath.Base(f))
			}
			if b, err := exec.Command("osslsigncode", "verify", "-CAfile", cert, "-in", f).CombinedOutput(); err != nil {
				t.Errorf("osslsigncode verify %s: %v\n%s", filepath.Base(f), err, b)
			}
		}
		if b, err := exec.Command("osslsigncode", "verify", "-CAfile", cert, "-in", msi).CombinedOutput(); err == nil {
			t.Errorf("the unsigned .msi verifies:\n%s", b)
		}
		// The MSI ships the signed .exe.
		checkMSI(t, smsi, sexe, version)
	})
}

func checkPE(t *testing.T, path, version string) {
	t.Helper()
	f, err := pe.Open(path)
	if err != nil {
		t.Fatalf("%s is not a PE file: %v", path, err)
	}
	defer f.Close()
	if f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 {
		t.Errorf("machine %#x, want amd64", f.Machine)
	}
	oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if !ok {
		t.Fatalf("not a PE32+ image: %T", f.OptionalHeader)
	}
	if oh.Subsystem != pe.IMAGE_SUBSYSTEM_WINDOWS_GUI {
		t.Errorf("subsystem %d, want Windows GUI (no console window at login)", oh.Subsystem)
	}
	// debug/pe's ImportedLibraries is unimplemented (it returns nil);
	// ImportedSymbols names each symbol's DLL as "symbol:dll".
	syms, err := f.ImportedSymbols()
	if err != nil {
		t.Fatal(err)
	}
	var libs []string
	for _, s := range syms {
		if _, dll, ok := strings.Cut(s, ":"); ok && !slices.Contains(libs, dll) {
			libs = append(libs, dll)
		}
	}
	if len(libs) == 0 {
		t.Error("no imported DLLs: not a cgo build?")
	}
	for _, l := range libs {
		if !slices.Contains(windowsSystemDLLs, strings.ToLower(l)) {
			t.Errorf("imports %s, which Windows does not ship", l)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(version)) {
		t.Errorf("the version %q is not stamped into the .exe", version)
	}
}

// signed reports whether a PE or MSI file carries an Authenticode signature.
func signed(t *testing.T, path string) bool {
	t.Helper()
	if strings.HasSuffix(path, ".exe") {
		f, err := pe.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		dd := f.OptionalHeader.(*pe.OptionalHeader64).DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_SECURITY]
		return dd.Size > 0
	}
	// An MSI keeps the signature in the \x05DigitalSignature stream.
	return strings.Contains(run(t, nil, "msiinfo", "streams", path), "DigitalSignature")
}

// msiTable exports one table as rows of columns (the three header lines off).
func msiTable(t *testing.T, msi, table string) [][]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(run(t, nil, "msiinfo", "export", msi, table), "\r\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("table %s: %q", table, lines)
	}
	var rows [][]string
	for _, l := range lines[3:] {
		rows = append(rows, strings.Split(strings.TrimRight(l, "\r"), "\t"))
	}
	return rows
}

func row(rows [][]string, key string) []string {
	for _, r := range rows {
		if r[0] == key {
			return r
		}
	}
	return nil
}

func checkMSI(t *testing.T, msi, exe, version string) {
	t.Helper()
	if !strings.Contains(run(t, nil, "msiinfo", "suminfo", msi), "x64;1033") {
		t.Error("summary template is not x64;1033 (a 32-bit MSI would install into Program Files (x86))")
	}
	props := msiTable(t, msi, "Property")
	for k, want := range map[string]string{"ALLUSERS": "1", "DIDACTO_VERSION": version,
		"LOCK_SERVER_URL": "0", "ProductVersion": "3.2.1", "ProductName": "DIDACTO Agent"} {
		if r := row(props, k); r == nil || r[1] != want {
			t.Errorf("Property %s = %v, want %q", k, r, want)
		}
	}
	if row(props, "SERVER_URL") != nil {
		t.Error("SERVER_URL has a default: an upgrade without it would overwrite the admin's config")
	}
	if r := row(msiTable(t, msi, "Directory"), "INSTALLDIR"); r == nil || r[1] != "ProgramFiles64Folder" || !strings.Contains(r[2], "Didacto") {
		t.Errorf("INSTALLDIR = %v, want Didacto under ProgramFiles64Folder", r)
	}
	if r := row(msiTable(t, msi, "File"), "AgentExeFile"); r == nil || !strings.Contains(r[2], "didacto-agent.exe") {
		t.Errorf("File AgentExeFile = %v", r)
	}
	sc := row(msiTable(t, msi, "Shortcut"), "AgentShortcut")
	if sc == nil || sc[1] != "ProgramMenuFolder" || sc[4] != "[INSTALLDIR]didacto-agent.exe" {
		t.Errorf("Start-menu shortcut = %v", sc)
	}
	var run_ []string
	for _, r := range msiTable(t, msi, "Registry") {
		if r[2] == `Software\Microsoft\Windows\CurrentVersion\Run` {
			run_ = r
		}
	}
	// Root 2 is HKEY_LOCAL_MACHINE: every user's login starts the agent.
	if run_ == nil || run_[1] != "2" || run_[4] != `"[INSTALLDIR]didacto-agent.exe"` {
		t.Errorf("autostart Run key = %v", run_)
	}

	// The custom actions, their conditions and their place in the sequence.
	seq := msiTable(t, msi, "InstallExecuteSequence")
	at := func(action string) (string, int) {
		r := row(seq, action)
		if r == nil {
			t.Fatalf("%s is not in InstallExecuteSequence", action)
		}
		n, _ := strconv.Atoi(r[2])
		return r[1], n
	}
	_, files := at("InstallFiles")
	_, final := at("InstallFinalize")
	wcond, write := at("WriteSystemConfig")
	lcond, lock := at("LockSystemConfig")
	if !(files < write && write < lock && lock < final) {
		t.Errorf("sequence InstallFiles %d, WriteSystemConfig %d, LockSystemConfig %d, InstallFinalize %d", files, write, lock, final)
	}
	if !strings.Contains(wcond, "SERVER_URL") || !strings.Contains(lcond, `LOCK_SERVER_URL="1"`) {
		t.Errorf("conditions: write %q, lock %q", wcond, lcond)
	}
	cas := msiTable(t, msi, "CustomAction")
	setCmd := row(cas, "SetCmdExe")
	if setCmd == nil || setCmd[3] != `[System64Folder]cmd.exe` {
		t.Errorf("SetCmdExe = %v", setCmd)
	}

	// What the two commands would write for
	//   msiexec /i … /qn SERVER_URL=https://lab.example.edu:8443 LOCK_SERVER_URL=1
	// read back through the agent's own config loader.
	const url = "https://lab.example.edu:8443"
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.yaml")
	var yaml strings.Builder
	for i, name := range []string{"WriteSystemConfig", "LockSystemConfig"} {
		r := row(cas, name)
		if r == nil {
			t.Fatalf("custom action %s missing", name)
		}
		typ, _ := strconv.Atoi(r[1])
		// 50: run the program in a property; +1024 deferred; +2048 as SYSTEM.
		if typ&0x3f != 50 || typ&1024 == 0 || typ&2048 == 0 || r[2] != "CMDEXE" {
			t.Errorf("%s: type %d source %s, want a deferred, elevated cmd.exe", name, typ, r[2])
		}
		cmd := msiFormat(r[3], map[string]string{"SERVER_URL": url, "DidactoDataDir": `C:\ProgramData\Didacto\`})
		line, appends := cmdEcho(t, cmd, `C:\ProgramData\Didacto\agent.yaml`)
		if appends != (i > 0) { // the first writes the file anew, the second adds to it
			t.Errorf("%s: appends %v", name, appends)
		}
		yaml.WriteString(line)
	}
	if err := os.WriteFile(path, []byte(yaml.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(config.Options{SystemFile: path})
	if err != nil {
		t.Fatalf("the config the MSI writes does not load: %v\n%s", err, yaml.String())
	}
	if c.String(config.KeyServer) != url || !c.Locked(config.KeyServer) {
		t.Errorf("MSI config gives server %q locked %v, want %q locked:\n%s", c.String(config.KeyServer),
			c.Locked(config.KeyServer), url, yaml.String())
	}
	if config.SystemPath("windows", func(string) string { return `C:\ProgramData` }) != `C:\ProgramData\Didacto\agent.yaml` {
		t.Error("the MSI writes a different path from the one the agent reads")
	}

	// The .exe inside is the one built.
	x := t.TempDir()
	run(t, nil, "msiextract", "-C", x, msi)
	var inside string
	filepath.Walk(x, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Name() == "didacto-agent.exe" {
			inside = p
		}
		return nil
	})
	a, _ := os.ReadFile(exe)
	b, err := os.ReadFile(inside)
	if err != nil || !bytes.Equal(a, b) {
		t.Errorf("the .exe in the MSI (%s) differs from the built one: %v", inside, err)
	}
}

// msiFormat expands an MSI formatted string: [\[] and [\]] are brackets,
// [NAME] a property (empty when unset).
func msiFormat(s string, props map[string]string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		if strings.HasPrefix(s, `[\[]`) || strings.HasPrefix(s, `[\]]`) {
			b.WriteByte(s[2])
			s = s[4:]
			continue
		}
		j := strings.IndexByte(s, ']')
		if j < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(props[s[1:j]])
		s = s[j+1:]
	}
	return b.String()
}

// cmdEcho interprets `/d /c >"file" echo text` or `>>"file"` the way cmd.exe
// does, checking the file, and returns the line written and whether it is
// appended (>>) rather than replacing the file (>).
func cmdEcho(t *testing.T, cmd, wantFile string) (string, bool) {
	t.Helper()
	rest, ok := strings.CutPrefix(cmd, "/d /c ")
	if !ok {
		t.Fatalf("command %q does not start with /d /c", cmd)
	}
	appends := strings.HasPrefix(rest, ">>")
	if !appends && !strings.HasPrefix(rest, ">") {
		t.Fatalf("command %q does not redirect to a file", cmd)
	}
	rest = strings.TrimPrefix(strings.TrimPrefix(rest, ">"), ">")
	file, text, ok := strings.Cut(strings.TrimPrefix(rest, `"`), `" echo `)
	if !ok || file != wantFile {
		t.Fatalf("command %q writes %q, want %q", cmd, file, wantFile)
	}
	return text + "\r\n", appends
}
