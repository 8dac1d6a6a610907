#!/bin/sh
# didacto-server prerm: stop the service on removal; an upgrade restarts it
# from postinst instead, so clients see one short restart.
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
	systemctl stop didacto-server.service || true
	systemctl disable didacto-server.service >/dev/null 2>&1 || true
fi
exit 0
