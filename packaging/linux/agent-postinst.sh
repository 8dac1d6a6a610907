#!/bin/sh
# didacto-agent postinst: preset the server when the admin asks for it, refresh
# the desktop menus. Runs on first install and on every upgrade.
set -e
conf=/etc/didacto/agent.yaml

case "$1" in
configure)
	# Silent lab install: DIDACTO_SERVER_URL=… [DIDACTO_LOCK_SERVER_URL=1] dpkg -i …
	# Without them an existing file (the admin's edits) is left alone.
	if [ -n "${DIDACTO_SERVER_URL:-}" ]; then
		case "$DIDACTO_SERVER_URL" in
		http://* | https://*) ;;
		*)
			echo "didacto-agent: DIDACTO_SERVER_URL must start with http:// or https://" >&2
			exit 1
			;;
		esac
		mkdir -p /etc/didacto
		tmp="$conf.dpkg-tmp"
		{
			echo "# Written by the didacto-agent package from DIDACTO_SERVER_URL."
			printf 'server: "%s"\n' "$DIDACTO_SERVER_URL"
			if [ "${DIDACTO_LOCK_SERVER_URL:-0}" = 1 ]; then
				echo "locked: [server]"
			fi
		} >"$tmp"
		chmod 0644 "$tmp"
		mv "$tmp" "$conf"
	fi
	if command -v update-desktop-database >/dev/null 2>&1; then
		update-desktop-database -q /usr/share/applications || true
	fi
	if command -v gtk-update-icon-cache >/dev/null 2>&1; then
		gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true
	fi
	;;
esac
exit 0
