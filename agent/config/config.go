// Package config owns the tray agent's layered settings: the system file a
// lab admin installs (which may lock keys), then the user's own file, then
// DIDACTO_* environment variables, then command-line flags. Locked keys keep
// the system value whatever the later layers say, and cannot be saved.
// Only the user's file is ever written.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Keys the tray reads and the settings window may change.
const (
	KeyServer    = "server"
	KeyLanguage  = "language" // "auto", "en" or "ko"
	KeyScreen    = "screen"   // capture screen index; -1 all
	KeyAutostart = "autostart"
	// KeyAllowHTTP lets a plain http:// server on another host through; an
	// admin sets (and locks) it for a lab without certificates.
	KeyAllowHTTP = "allow-http"
	// KeyConsent is the lab's live-session policy: "notify" (the student
	// is shown who views or controls) or "ask" (the student accepts each).
	// Admins lock it like the server.
	KeyConsent = "consent"
	keyLocked  = "locked" // system file only: list of keys students cannot change
)

// ErrLocked: the admin locked that key in the system file.
var ErrLocked = errors.New("config: locked by the administrator")

// Defaults for keys no layer sets.
var defaults = map[string]any{
	KeyServer:    "http://127.0.0.1:8080",
	KeyLanguage:  "auto",
	KeyScreen:    -1,
	KeyAutostart: true,
	KeyAllowHTTP: false,
	KeyConsent:   "notify",
}

// SystemPath is where lab admins put the machine-wide file on goos.
func SystemPath(goos string, getenv func(string) string) string {
	switch goos {
	case "windows":
		pd := getenv("ProgramData")
		if pd == "" {
			pd = `C:\ProgramData`
		}
		return pd + `\Didacto\agent.yaml`
	case "darwin":
		return "/Library/Application Support/Didacto/agent.yaml"
	default:
		return "/etc/didacto/agent.yaml"
	}
}

// notBesideAdminFile refuses path when the admin's file is installed and
// path is another one.
func notBesideAdminFile(path, defaultPath string) error {
	if defaultPath == "" || filepath.Clean(path) == filepath.Clean(defaultPath) {
		return nil
	}
	if _, err := os.Stat(defaultPath); err == nil {
		return fmt.Errorf("the administrator's %s cannot be replaced by %s", defaultPath, path)
	}
	return nil
}

// UserPath is the user's own file (os.UserConfigDir()/didacto/agent.yaml).
func UserPath() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("user config dir: %w", err)
	}
	return filepath.Join(d, "didacto", "agent.yaml"), nil
}

// Options says where the layers come from. Empty paths skip a layer.
type Options struct {
	SystemFile string
	UserFile   string
	Flags      *pflag.FlagSet // only flags the user set override
	EnvPrefix  string         // "DIDACTO" unless set
}

// Config is the merged view plus the user's writable layer.
type Config struct {
	merged   *viper.Viper
	user     *viper.Viper
	system   *viper.Viper
	userFile string
	locked   []string
}

// Load reads every layer. A missing file is an empty layer; an unreadable
// or malformed one is an error (a broken admin file must not be ignored).
func Load(o Options) (*Config, error) {
	c := &Config{userFile: o.UserFile}
	var err error
	if c.system, err = readFile(o.SystemFile); err != nil {
		return nil, fmt.Errorf("system config: %w", err)
	}
	if c.user, err = readFile(o.UserFile); err != nil {
		return nil, fmt.Errorf("user config: %w", err)
	}
	for _, k := range c.system.GetStringSlice(keyLocked) {
		c.locked = append(c.locked, strings.ToLower(strings.TrimSpace(k)))
	}
	prefix := o.EnvPrefix
	if prefix == "" {
		prefix = "DIDACTO"
	}
	m := viper.New()
	for k, v := range defaults {
		m.SetDefault(k, v)
	}
	if err := m.MergeConfigMap(c.system.AllSettings()); err != nil {
		return nil, fmt.Errorf("merging system config: %w", err)
	}
	if err := m.MergeConfigMap(c.user.AllSettings()); err != nil {
		return nil, fmt.Errorf("merging user config: %w", err)
	}
	m.SetEnvPrefix(prefix)
	m.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	m.AutomaticEnv()
	if o.Flags != nil {
		if err := m.BindPFlags(o.Flags); err != nil {
			return nil, fmt.Errorf("binding flags: %w", err)
		}
	}
	c.merged = m
	c.pinLocked()
	return c, nil
}

// pinLocked forces locked keys back to the system value: Set is viper's
// strongest layer, above env and flags.
func (c *Config) pinLocked() {
	for _, k := range c.locked {
		if c.system.IsSet(k) {
			c.merged.Set(k, c.system.Get(k))
		} else if d, ok := defaults[k]; ok {
			c.merged.Set(k, d)
		}
	}
}

func readFile(path string) (*viper.Viper, error) {
	v := viper.New()
	if path == "" {
		return v, nil
	}
	v.SetConfigFile(path)
	v.SetConfigType("yaml")
	if err := v.ReadInConfig(); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return v, nil
		}
		var nf viper.ConfigFileNotFoundError
		if errors.As(err, &nf) {
			return v, nil
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// Locked reports whether the admin locked key.
func (c *Config) Locked(key string) bool { return slices.Contains(c.locked, strings.ToLower(key)) }

// String, Int and Bool read the merged value.
func (c *Config) String(key string) string { return c.merged.GetString(key) }
func (c *Config) Int(key string) int       { return c.merged.GetInt(key) }
func (c *Config) Bool(key string) bool     { return c.merged.GetBool(key) }

// Viper exposes the merged view for keys this package does not name (the
// monitor's interval, width, quality flags).
func (c *Config) Viper() *viper.Viper { return c.merged }

// Set changes key in the user's file and the merged view. Locked keys are
// refused with ErrLocked.
func (c *Config) Set(key string, value any) error {
	if c.Locked(key) {
		return fmt.Errorf("setting %s: %w", key, ErrLocked)
	}
	if c.userFile == "" {
		return fmt.Errorf("setting %s: no user config file", key)
	}
	c.user.Set(key, value)
	if err := os.MkdirAll(filepath.Dir(c.userFile), 0o700); err != nil {
		return fmt.Errorf("user config dir: %w", err)
	}
	if err := c.user.WriteConfigAs(c.userFile); err != nil {
		return fmt.Errorf("writing %s: %w", c.userFile, err)
	}
	c.merged.Set(key, value)
	return nil
}

// DefaultOptions are the standard paths for this OS.
func DefaultOptions(flags *pflag.FlagSet) Options {
	o := Options{SystemFile: SystemPath(runtime.GOOS, systemGetenv), Flags: flags}
	if p, err := UserPath(); err == nil {
		o.UserFile = p
	}
	return o
}
