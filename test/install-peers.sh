#!/bin/sh
# Installs the Debian peers the interop tests run against (Taylor UUCP, socat,
# Exim, swaks; GNU time for the memory tests; systemd-analyze for the unit
# files uugate install writes; Prometheus and Chromium for the operator's
# view tests; Dovecot, openssl and Python's smtplib, imaplib and poplib for the
# submission and mailbox tests) when they are missing. Needs root
# and Debian's package lists.
need=""
command -v uucico >/dev/null 2>&1 || [ -x /usr/sbin/uucico ] || need="$need uucp"
command -v socat >/dev/null 2>&1 || need="$need socat"
[ -x /usr/sbin/exim4 ] || need="$need exim4-daemon-light"
command -v swaks >/dev/null 2>&1 || need="$need swaks"
[ -x /usr/bin/time ] || need="$need time"
command -v systemd-analyze >/dev/null 2>&1 || need="$need systemd"
command -v promtool >/dev/null 2>&1 || need="$need prometheus"
[ -x /usr/bin/chromium ] || need="$need chromium"
[ -x /usr/sbin/dovecot ] || need="$need dovecot-core"
[ -x /usr/lib/dovecot/imap ] || need="$need dovecot-imapd"
[ -x /usr/lib/dovecot/pop3 ] || need="$need dovecot-pop3d"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
command -v python3 >/dev/null 2>&1 || need="$need python3"
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install-peers: missing$need and not root; install them: apt-get install -y$need" >&2
  exit 1
fi
echo "install-peers: installing$need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq $need >/dev/null || {
  echo "install-peers: apt-get install$need failed" >&2
  exit 1
}
