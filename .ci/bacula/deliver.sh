#!/usr/bin/env bash
# Bacula mailcommand for the CI capture: takes the place of Debian's
#   /usr/sbin/bsmtp -h localhost -f "(Bacula) <%r>" -s "Bacula: %t %e of %c %l" %r
# Bacula pipes the job report on stdin. Arguments are key=value words (see the
# Messages resource in bacula-dir.conf.in): out= from= subject= type= status=
# client= level= jobid= job= unique= to=.
#
# Writes (type=operator, the operatorcommand: <jobid>-<job>.operator.txt)
#   $out/reports/<jobid>-<job>.txt   the report body, as Bacula piped it
#   $out/Maildir/new/<unique>        an RFC 5322 message with the headers bsmtp
#                                    writes (same order, same Date/Message-Id form)
# and, if BMCTL_REPORT_PIPE is set (a shell command), pipes the body into it;
# its exit status and output are appended to $out/report-pipe.log, a failure
# also to $out/report-pipe.failed (run.sh fails on that file).
set -uo pipefail

declare -A a=()
for arg in "$@"; do
  case "$arg" in
    *=*) a["${arg%%=*}"]="${arg#*=}" ;;
    *) a[extra]="${a[extra]:-}${a[extra]:+ }$arg" ;;
  esac
done
out="${a[out]:?deliver.sh: out= missing}"
to="${a[to]:-root}"
from="${a[from]:-(Bacula) <$to>}"
subject="${a[subject]:-Bacula: ${a[type]:-} ${a[status]:-} of ${a[client]:-} ${a[level]:-}}"
jobid="${a[jobid]:-0}"
job="${a[job]:-unknown}"
# file names: keep them to [A-Za-z0-9._-]
safe_job="$(printf '%s' "$job" | tr -c 'A-Za-z0-9._-' '_')"

mkdir -p "$out/reports" "$out/Maildir/tmp" "$out/Maildir/new" "$out/Maildir/cur"
log="$out/deliver.log"

body="$(mktemp "${TMPDIR:-/tmp}/bacula-deliver.XXXXXX")"
trap 'rm -f "$body"' EXIT
cat >"$body"

# (i) the plain report; a second report for the same job gets a suffix
kind=""
[ "${a[type]:-}" = operator ] && kind=".operator"
report="$out/reports/$jobid-$safe_job$kind.txt"
n=1
while [ -e "$report" ]; do
  n=$((n + 1))
  report="$out/reports/$jobid-$safe_job$kind.$n.txt"
done
cp "$body" "$report"

# (ii) the mail, headers as bsmtp 9.6.7 writes them (LF line ends on disk)
host="$(hostname -f 2>/dev/null || hostname)"
now="$(date +%s)"
date_hdr="$(LC_ALL=C date -d "@$now" '+%a, %d %b %Y %H:%M:%S %z (%Z)')"
uniq="$now.P$$Q$jobid.$host"
tmpmail="$out/Maildir/tmp/$uniq"
{
  printf 'From: %s\n' "$from"
  printf 'Subject: %s\n' "$subject"
  printf 'Sender: %s@%s\n' "$(id -un)" "$host"
  printf 'To: %s\n' "$to"
  printf 'MIME-Version: 1.0\n'
  printf 'Content-Type: text/plain\n'
  printf 'Message-Id: <%s-%s@%s>\n' "$$" "$now" "$host"
  printf 'Date: %s\n' "$date_hdr"
  printf '\n'
  cat "$body"
} >"$tmpmail"
mv "$tmpmail" "$out/Maildir/new/$uniq"
printf '%s jobid=%s job=%s subject=%q report=%s mail=%s\n' \
  "$(date '+%F %T %z')" "$jobid" "$job" "$subject" "${report##*/}" "$uniq" >>"$log"

# (iii) optional: hand the job report to a consumer (e.g. `bmctl ... events
# ingest bacula -`); an operator request ("Intervention needed") is no report
if [ -n "${BMCTL_REPORT_PIPE:-}" ] && [ "${a[type]:-}" != operator ]; then
  plog="$out/report-pipe.log"
  pout="$(mktemp "${TMPDIR:-/tmp}/bacula-pipe.XXXXXX")"
  BACULA_SUBJECT="$subject" BACULA_JOBID="$jobid" BACULA_JOB="$job" \
    BACULA_STATUS="${a[status]:-}" BACULA_MAIL="$out/Maildir/new/$uniq" \
    sh -c "$BMCTL_REPORT_PIPE" <"$body" >"$pout" 2>&1
  rc=$?
  {
    printf '%s jobid=%s job=%s rc=%s cmd=%q\n' "$(date '+%F %T %z')" "$jobid" "$job" "$rc" "$BMCTL_REPORT_PIPE"
    sed 's/^/  | /' "$pout"
  } >>"$plog"
  if [ "$rc" -ne 0 ]; then
    printf '%s jobid=%s job=%s rc=%s\n' "$(date '+%F %T %z')" "$jobid" "$job" "$rc" >>"$out/report-pipe.failed"
  fi
  rm -f "$pout"
fi
exit 0
