#!/usr/bin/env bash
# Runs the test Postfix that integration/postfix/setup.sh configured.
#
#   integration/postfix/ctl.sh start     start Postfix (no systemd needed)
#   integration/postfix/ctl.sh stop      stop it; no error when it is not running
#   integration/postfix/ctl.sh restart   stop, then start
#   integration/postfix/ctl.sh status    exit 0 when running
#   integration/postfix/ctl.sh queue     every queued message, one JSON object a line
#                                        (postqueue -j; the hold queue shows "queue_name":"hold")
#   integration/postfix/ctl.sh flush     retry deferred mail now
#   integration/postfix/ctl.sh clean     delete every queued message, held ones too, and
#                                        empty the test Maildir (Postfix must be running)
#   integration/postfix/ctl.sh log [N]   the last N lines (default 40) of /var/log/postfix.log
#   integration/postfix/ctl.sh maildir   the files delivered to the test Maildir
#
# Needs root except for status, queue and log.
set -euo pipefail

readonly MAIL_USER=wmtest
readonly LOG=/var/log/postfix.log

maildir() {
    echo "$(getent passwd "$MAIL_USER" | cut -d: -f6)/Maildir"
}

is_running() {
    postfix status >/dev/null 2>&1
}

case ${1:-} in
start)
    if is_running; then
        echo "ctl.sh: Postfix is already running"
    else
        postfix check
        postfix start
    fi
    ;;
stop)
    if is_running; then
        postfix stop
    fi
    ;;
restart)
    if is_running; then
        postfix stop
    fi
    postfix start
    ;;
status)
    postfix status
    ;;
queue)
    postqueue -j
    ;;
flush)
    postqueue -f
    ;;
clean)
    # postsuper logs through Postfix's postlogd: with Postfix down it cannot open the log.
    is_running || { echo "ctl.sh: start Postfix before clean" >&2; exit 1; }
    postsuper -d ALL
    dir=$(maildir)
    find "$dir/new" "$dir/cur" "$dir/tmp" -type f -delete
    ;;
log)
    tail -n "${2:-40}" "$LOG"
    ;;
maildir)
    dir=$(maildir)
    find "$dir/new" "$dir/cur" -type f -printf '%TY-%Tm-%Td %TT %s %p\n' | sort
    ;;
*)
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 2
    ;;
esac
