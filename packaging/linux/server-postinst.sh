#!/bin/sh
# didacto-server postinst: the didacto system user, its data directory, and
# the unit (enabled and started on first install, restarted on upgrade, only
# when systemd is running).
set -e
case "$1" in
configure)
	if ! getent group didacto >/dev/null; then
		groupadd --system didacto
	fi
	if ! getent passwd didacto >/dev/null; then
		useradd --system --gid didacto --home-dir /var/lib/didacto --no-create-home \
			--shell /usr/sbin/nologin --comment "DIDACTO server" didacto
	fi
	install -d -o didacto -g didacto -m 0750 /var/lib/didacto
	# server.env may hold secrets (database password, PortOne keys).
	if [ -f /etc/didacto/server.env ]; then
		chown root:didacto /etc/didacto/server.env
		chmod 0640 /etc/didacto/server.env
	fi
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload
		if [ -z "$2" ]; then
			systemctl enable didacto-server.service >/dev/null
			systemctl start didacto-server.service || true
		else
			systemctl try-restart didacto-server.service || true
		fi
	fi
	;;
esac
exit 0
