#!/bin/sh
# didacto-agent postrm: dpkg removes the conffile on purge; drop the shared
# /etc/didacto directory only when nothing else (the server) still uses it.
set -e
case "$1" in
purge)
	rm -f /etc/didacto/agent.yaml.dpkg-tmp
	rmdir --ignore-fail-on-non-empty /etc/didacto 2>/dev/null || true
	;;
remove)
	if command -v update-desktop-database >/dev/null 2>&1; then
		update-desktop-database -q /usr/share/applications || true
	fi
	;;
esac
exit 0
