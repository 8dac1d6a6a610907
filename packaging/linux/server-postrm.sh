#!/bin/sh
# didacto-server postrm: purge removes what postinst created: the data
# directory (the SQLite database: back it up first), the didacto user and
# group, and /etc/didacto when no other package uses it. dpkg itself removes
# the conffile server.env.
set -e
case "$1" in
remove)
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload || true
	fi
	;;
purge)
	rm -rf /var/lib/didacto
	if getent passwd didacto >/dev/null; then
		userdel didacto || true
	fi
	if getent group didacto >/dev/null; then
		groupdel didacto || true
	fi
	rmdir --ignore-fail-on-non-empty /etc/didacto 2>/dev/null || true
	;;
esac
exit 0
