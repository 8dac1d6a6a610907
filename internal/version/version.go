// Package version holds the build's version, stamped from git by the Makefile.
package version

// Version is set with -ldflags "-X github.com/didacto/didacto/internal/version.Version=…".
var Version = "dev"
