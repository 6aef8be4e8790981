#!/usr/bin/env bash
# Writes a loopback-only Postfix configuration for the end-to-end tests.
#
#   integration/postfix/setup.sh [MILTER]
#
# MILTER is a Postfix milter address such as inet:127.0.0.1:18890 or unix:/run/wasmilter.sock;
# leave it out (or pass "none") for plain Postfix without a milter.
#
# What it sets up:
#   - smtpd on 127.0.0.1:2525 only (nothing on port 25), no chroot anywhere;
#   - every milter setting on smtpd and on local submission (sendmail), protocol 6, and
#     milter_default_action = tempfail, so a milter that is down means 4xx, never a bypass;
#   - mail for example.test and localhost lands in one Maildir, /home/wmtest/Maildir/, whatever
#     the local part; mail from 127.0.0.0/8 may relay;
#   - Postfix's log in /var/log/postfix.log (no syslog daemon needed).
#
# Needs root. A main.cf that this script did not write is moved aside once, to
# main.cf.before-wasmilter. When Postfix is running, it is reloaded. Start and stop it with
# integration/postfix/ctl.sh.
set -euo pipefail

readonly MAIL_USER=wmtest
readonly SMTP_LISTEN=127.0.0.1:2525
readonly CONF_DIR=/etc/postfix
readonly MARKER="# Written by wasmilter integration/postfix/setup.sh; rerun it rather than edit."

die() {
    echo "setup.sh: $*" >&2
    exit 1
}

milter=${1:-none}
if [[ $milter != none && ! $milter =~ ^(inet|unix|local): ]]; then
    die "milter address must look like inet:HOST:PORT or unix:PATH, got \"$milter\""
fi
((EUID == 0)) || die "must run as root: it writes $CONF_DIR and creates the user $MAIL_USER"
command -v postfix >/dev/null || die "postfix is not installed: run integration/postfix/install.sh"

# The one local user whose Maildir receives every test message.
if ! id "$MAIL_USER" >/dev/null 2>&1; then
    useradd --create-home --shell /usr/sbin/nologin "$MAIL_USER"
fi
home=$(getent passwd "$MAIL_USER" | cut -d: -f6)
install -d -o "$MAIL_USER" -g "$MAIL_USER" -m 700 \
    "$home/Maildir" "$home/Maildir/new" "$home/Maildir/cur" "$home/Maildir/tmp"

# Keep an administrator's own configuration rather than overwrite it.
for file in main.cf master.cf; do
    if [[ -f $CONF_DIR/$file ]] && ! grep -qF "$MARKER" "$CONF_DIR/$file" \
        && [[ ! -e $CONF_DIR/$file.before-wasmilter ]]; then
        cp -p "$CONF_DIR/$file" "$CONF_DIR/$file.before-wasmilter"
    fi
done

if [[ $milter == none ]]; then
    milter_settings="# No milter: setup.sh was run without a milter address."
else
    milter_settings="smtpd_milters = $milter
non_smtpd_milters = \$smtpd_milters
milter_protocol = 6
milter_default_action = tempfail
milter_connect_timeout = 10s
milter_command_timeout = 30s
milter_content_timeout = 120s"
fi

# main.cf comes first: newaliases and postconf both read it.
cat >"$CONF_DIR/main.cf.new" <<EOF
$MARKER

compatibility_level = 3.6
myhostname = wasmilter-e2e.localdomain
mydomain = localdomain
myorigin = \$myhostname
mydestination = \$myhostname, localhost, localhost.localdomain, example.test
relayhost =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_banner = \$myhostname ESMTP wasmilter-e2e
biff = no
append_dot_mydomain = no
readme_directory = no
message_size_limit = 52428800
mailbox_size_limit = 0

# Delivery: every local address goes to one Maildir.
alias_maps = hash:/etc/aliases
alias_database = hash:/etc/aliases
local_recipient_maps =
luser_relay = $MAIL_USER
home_mailbox = Maildir/
mailbox_command =

# No syslog daemon on the test machines.
maillog_file = /var/log/postfix.log

# Retry deferred mail quickly while a test waits for it.
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 60s

$milter_settings
EOF

# Only the services a loopback test needs; chroot off, so unix: milter paths work as given.
cat >"$CONF_DIR/master.cf.new" <<EOF
$MARKER
#
# service    type  private unpriv  chroot  wakeup  maxproc command + args
$SMTP_LISTEN inet n    -       n       -       -       smtpd
pickup       unix  n       -       n       60      1       pickup
cleanup      unix  n       -       n       -       0       cleanup
qmgr         unix  n       -       n       300     1       qmgr
tlsmgr       unix  -       -       n       1000?   1       tlsmgr
rewrite      unix  -       -       n       -       -       trivial-rewrite
bounce       unix  -       -       n       -       0       bounce
defer        unix  -       -       n       -       0       bounce
trace        unix  -       -       n       -       0       bounce
verify       unix  -       -       n       -       1       verify
flush        unix  n       -       n       1000?   0       flush
proxymap     unix  -       -       n       -       -       proxymap
proxywrite   unix  -       -       n       -       1       proxymap
smtp         unix  -       -       n       -       -       smtp
relay        unix  -       -       n       -       -       smtp
showq        unix  n       -       n       -       -       showq
error        unix  -       -       n       -       -       error
retry        unix  -       -       n       -       -       error
discard      unix  -       -       n       -       -       discard
local        unix  -       n       n       -       -       local
virtual      unix  -       n       n       -       -       virtual
lmtp         unix  -       -       n       -       -       lmtp
anvil        unix  -       -       n       -       1       anvil
scache       unix  -       -       n       -       1       scache
postlog      unix-dgram n  -       n       -       1       postlogd
EOF

mv "$CONF_DIR/main.cf.new" "$CONF_DIR/main.cf"
mv "$CONF_DIR/master.cf.new" "$CONF_DIR/master.cf"

# Aliases only after main.cf exists, or local delivery defers ("alias database unavailable").
touch /etc/aliases
newaliases

touch /var/log/postfix.log
postfix check

if postfix status >/dev/null 2>&1; then
    postfix reload
fi

echo "setup.sh: Postfix on $SMTP_LISTEN, milter: $milter, Maildir: $home/Maildir"
