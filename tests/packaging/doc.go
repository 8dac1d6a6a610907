// Package packaging tests the deployable packages scripts/package.sh builds:
// the agent and server .deb files installed for real with dpkg (and purged),
// and the Windows .exe and .msi inspected with debug/pe, msiinfo, msiextract
// and osslsigncode. It has no product code; the packaging itself lives in
// packaging/ and scripts/package.sh.
package packaging
