package ui

import (
	"encoding/json"
	"regexp"
	"slices"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/didacto/didacto/agent/app"
	"github.com/didacto/didacto/wire"
)

func TestTranslationsMatch(t *testing.T) {
	files := map[string]map[string]string{}
	for _, l := range Languages {
		b, err := translations.ReadFile("translations/" + l + ".json")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		files[l] = m
	}
	ph := regexp.MustCompile(`\{[a-z]+\}`)
	for k, en := range files["en"] {
		ko, ok := files["ko"][k]
		if !ok {
			t.Errorf("ko lacks %s", k)
			continue
		}
		a, b := ph.FindAllString(en, -1), ph.FindAllString(ko, -1)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Errorf("%s: placeholders differ: en %v, ko %v", k, a, b)
		}
	}
	for k := range files["ko"] {
		if _, ok := files["en"][k]; !ok {
			t.Errorf("en lacks %s", k)
		}
	}
}

func TestCatalog(t *testing.T) {
	c, err := NewCatalog("ko")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.T("live.controlling", "name", "김 교수"); got != "김 교수 님이 화면을 제어하고 있습니다" {
		t.Errorf("ko: %q", got)
	}
	c.Set("en")
	if got := c.T("live.viewing", "name", "Prof Kim"); got != "Prof Kim is viewing your screen" {
		t.Errorf("en: %q", got)
	}
	if got := c.T("no.such.key"); got != "no.such.key" {
		t.Errorf("missing key: %q", got)
	}
	for in, want := range map[string]string{"ko-KR": "ko", "ko_KR": "ko", "en-GB": "en", "fr": "en", "KO": "ko"} {
		if got := Resolve(in); got != want {
			t.Errorf("Resolve(%q) = %q", in, got)
		}
	}
}

func TestTrayMenuFollowsState(t *testing.T) {
	fa := test.NewTempApp(t)
	tr, err := NewCatalog("en")
	if err != nil {
		t.Fatal(err)
	}
	u := &UI{fa: fa, tr: tr, trayMenu: fyne.NewMenu("DIDACTO")}
	labels := func() []string {
		u.fillTrayMenu()
		var out []string
		for _, it := range u.trayMenu.Items {
			out = append(out, it.Label)
		}
		return out
	}
	got := labels()
	if got[0] != "Signed out" || !slices.Contains(got, "Sign in") || slices.Contains(got, "Sign out") || !slices.Contains(got, "Quit") {
		t.Fatalf("signed out menu: %q", got)
	}
	u.st = app.Status{Phase: app.Monitored, Lecture: wire.Lecture{Title: "Go 101"}}
	got = labels()
	if got[0] != "Sharing with: Go 101" || !slices.Contains(got, "My lectures") || !slices.Contains(got, "Sign out") {
		t.Fatalf("monitored menu: %q", got)
	}
	u.st.Live = app.Live{Mode: app.LiveControlled, Professor: "Prof Kim"}
	if got = labels(); got[0] != "Prof Kim is controlling your screen" {
		t.Fatalf("controlled menu: %q", got)
	}
	if !u.trayMenu.Items[0].Disabled {
		t.Error("the status line is clickable")
	}
	u.st = app.Status{Phase: app.Offline}
	if got = labels(); got[0] != "Offline — retrying" || iconFor(u.st) != "offline.png" {
		t.Fatalf("offline: %q", got)
	}
}
