package ui

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"fyne.io/fyne/v2/lang"
)

//go:embed translations/*.json
var translations embed.FS

// Languages the UI ships, in the order the settings list them.
var Languages = []string{"en", "ko"}

// Catalog translates the UI's strings. The JSON files are fyne's format
// (they are also registered with fyne's lang package so its own widgets
// agree), but the choice of language is ours: the student can switch it at
// run time, which fyne's OS-locale-only lookup cannot.
type Catalog struct {
	mu   sync.RWMutex
	all  map[string]map[string]string
	lang string
}

// NewCatalog loads the embedded translations and picks language ("auto":
// from the OS locale).
func NewCatalog(language string) (*Catalog, error) {
	c := &Catalog{all: map[string]map[string]string{}}
	for _, l := range Languages {
		b, err := translations.ReadFile("translations/" + l + ".json")
		if err != nil {
			return nil, fmt.Errorf("translations %s: %w", l, err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("translations %s: %w", l, err)
		}
		c.all[l] = m
	}
	if err := lang.AddTranslationsFS(translations, "translations"); err != nil {
		return nil, fmt.Errorf("registering translations: %w", err)
	}
	c.Set(language)
	return c, nil
}

// Resolve maps a setting ("auto", "en", "ko", "ko-KR") to a shipped language.
func Resolve(setting string) string {
	s := strings.ToLower(strings.TrimSpace(setting))
	if s == "" || s == "auto" {
		s = strings.ToLower(lang.SystemLocale().LanguageString())
	}
	for _, l := range Languages {
		if s == l || strings.HasPrefix(s, l+"-") || strings.HasPrefix(s, l+"_") {
			return l
		}
	}
	return "en"
}

// Set switches the language.
func (c *Catalog) Set(setting string) {
	c.mu.Lock()
	c.lang = Resolve(setting)
	c.mu.Unlock()
}

// Lang is the language in use.
func (c *Catalog) Lang() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.lang
}

// T translates key, replacing {name} placeholders from pairs (name, value, …).
// A key missing in the language falls back to English, then to the key.
func (c *Catalog) T(key string, pairs ...string) string {
	c.mu.RLock()
	s, ok := c.all[c.lang][key]
	if !ok {
		s, ok = c.all["en"][key]
	}
	c.mu.RUnlock()
	if !ok {
		s = key
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		s = strings.ReplaceAll(s, "{"+pairs[i]+"}", pairs[i+1])
	}
	return s
}
