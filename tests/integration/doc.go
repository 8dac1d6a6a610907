// Package integration runs the real binaries together: the server, the
// student agent under Xvfb, and the checks a person would make from outside.
package integration
