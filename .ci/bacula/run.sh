#!/usr/bin/env bash
# Run a real Bacula (Director + Storage + File daemon, 9.6.x as on Debian 12)
# on 127.0.0.1, run a fixed set of jobs, and capture what Bacula emits into
# OUTDIR: the job reports as mail (Maildir) and as plain text, `llist jobs`,
# `list jobs`, `.api 2` + `llist jobs`, and the Director's log.
#
#   TZ=Europe/Berlin .ci/bacula/run.sh tests/fixtures/bacula
#
# Needs: bacula-director (sqlite3 catalog), bacula-sd, bacula-fd,
# bacula-console, sqlite3. Runs as any user that can bind the ports (root is
# fine; no -u/-g). Touches neither /etc/bacula nor the system's daemons.
#
# Environment:
#   TZ                  honoured: the daemons run in it (times are local)
#   BACULA_PORTBASE     ports BASE+1 dir, +2 fd, +3 sd, +9 (must be closed)
#                       default 19100
#   BMCTL_REPORT_PIPE   a shell command each job report is also piped into
#                       (see deliver.sh); a failure makes this script fail
#   KEEP_WORK=1         keep the work dir (it is kept anyway on failure)
set -euo pipefail

usage() { echo "usage: $0 OUTDIR" >&2; exit 2; }
[ $# -eq 1 ] || usage

ci="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$1"
out="$(cd "$1" && pwd)"

t0=$(date +%s)
log() { printf '[bacula-ci %s +%3ss] %s\n' "$(date +%T)" "$(($(date +%s) - t0))" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

for b in bacula-dir bacula-sd bacula-fd bconsole sqlite3; do
  command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || die "$b not installed"
done
export PATH="/usr/sbin:/sbin:$PATH"
maketables=/usr/share/bacula-director/make_sqlite3_tables
[ -r "$maketables" ] || die "$maketables missing (bacula-director-sqlite3)"

portbase="${BACULA_PORTBASE:-19100}"
dirport=$((portbase + 1))
fdport=$((portbase + 2))
sdport=$((portbase + 3))
deadport=$((portbase + 9))
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$dirport" "$fdport" "$sdport" "$deadport"; do
  port_open "$p" && die "port $p is in use (set BACULA_PORTBASE)"
done

work="$(mktemp -d /tmp/bacula-ci.XXXXXX)"
mkdir -p "$work"/{etc,dir,sd,fd,run,log,volumes,src,restore}
pids=()
ok=0
watchdog=""

stop_daemons() {
  local pid i
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid did not stop on TERM; killing"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}
cleanup() {
  local rc=$?
  if [ -n "$watchdog" ]; then kill "$watchdog" 2>/dev/null || true; wait "$watchdog" 2>/dev/null || true; fi
  stop_daemons
  if [ "$ok" = 1 ] && [ "${KEEP_WORK:-0}" != 1 ]; then
    rm -rf "$work"
  else
    log "work dir kept: $work"
    if [ "$ok" != 1 ]; then
      for f in "$work"/log/*; do
        [ -s "$f" ] || continue
        echo "---- ${f##*/} (tail)" >&2
        tail -n 30 "$f" >&2
      done
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
# The whole run must stay well inside CI's budget: give up after
# BACULA_CI_DEADLINE seconds (default 170).
(
  trap 'kill "$sp" 2>/dev/null; exit 0' TERM
  sleep "${BACULA_CI_DEADLINE:-170}" & sp=$!
  wait "$sp"
  echo "[bacula-ci] deadline of ${BACULA_CI_DEADLINE:-170} s reached" >&2
  kill -TERM $$
) &
watchdog=$!
trap 'exit 130' INT TERM

# ---- configuration ---------------------------------------------------------
pw() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
dirpass="$(pw)"; sdpass="$(pw)"; fdpass="$(pw)"; monpass="$(pw)"
for f in bacula-dir bacula-sd bacula-fd bconsole; do
  sed -e "s|@WORK@|$work|g" -e "s|@OUT@|$out|g" -e "s|@CI@|$ci|g" \
      -e "s|@PORTBASE@|$portbase|g" -e "s|@DIRPORT@|$dirport|g" \
      -e "s|@FDPORT@|$fdport|g" -e "s|@SDPORT@|$sdport|g" \
      -e "s|@DEADPORT@|$deadport|g" -e "s|@DIRPASS@|$dirpass|g" \
      -e "s|@SDPASS@|$sdpass|g" -e "s|@FDPASS@|$fdpass|g" \
      -e "s|@MONPASS@|$monpass|g" \
      "$ci/$f.conf.in" >"$work/etc/$f.conf"
  if grep -n '@[A-Z]*@' "$work/etc/$f.conf" >&2; then die "unsubstituted placeholder in $f.conf"; fi
done

# ---- catalog: Debian's own script, pointed at the work dir ------------------
sed -e "s|^cd /var/lib/bacula|cd \"$work/dir\"|" -e 's|^db_name=.*|db_name=bacula|' \
  "$maketables" >"$work/make_sqlite3_tables"
sh "$work/make_sqlite3_tables" >"$work/log/make_tables.log" 2>&1 || die "make_sqlite3_tables failed"
[ -s "$work/dir/bacula.db" ] || die "catalog not created"
# -t also opens the catalog, so it comes after it
bacula-dir -t -c "$work/etc/bacula-dir.conf" || die "bacula-dir.conf does not parse"
bacula-sd -t -c "$work/etc/bacula-sd.conf" || die "bacula-sd.conf does not parse"
bacula-fd -t -c "$work/etc/bacula-fd.conf" || die "bacula-fd.conf does not parse"

# ---- sources (deterministic content: same JobFiles/JobBytes every run) ------
src="$work/src/fs01"
mkdir -p "$src/etc" "$src/data" "$src/home/alice"
printf 'host=fs01\nrole=fileserver\n' >"$src/etc/app.conf"
seq 1 20000 >"$src/data/numbers.txt"
for i in 1 2 3; do printf 'invoice %s\n' "$i" >"$src/home/alice/invoice-$i.txt"; done
touch -d '2024-01-15 10:00:00' "$src"/etc/* "$src"/data/* "$src"/home/alice/*

# ---- old output (only the files this script writes; README.md stays) -------
rm -rf "$out/reports" "$out/Maildir"
rm -f "$out"/{llist-jobs.txt,api2-llist-jobs.txt,list-jobs.txt,director.txt,bacula.log,deliver.log,report-pipe.log,report-pipe.failed}

# ---- daemons (foreground processes, in the background) ----------------------
bacula-sd -f -c "$work/etc/bacula-sd.conf" >"$work/log/sd.out" 2>&1 &
pids+=($!)
bacula-fd -f -c "$work/etc/bacula-fd.conf" >"$work/log/fd.out" 2>&1 &
pids+=($!)
bacula-dir -f -c "$work/etc/bacula-dir.conf" >"$work/log/dir.out" 2>&1 &
pids+=($!)

bc() { timeout "${BC_TIMEOUT:-60}" bconsole -n -c "$work/etc/bconsole.conf"; }
bcmd() { printf '%s\n' "$@" | bc; }

up=0
for i in $(seq 1 100); do
  if bcmd version 2>/dev/null | grep -q 'bacula-dir-ci Version'; then up=1; break; fi
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || die "a daemon exited (pid $pid)"; done
  sleep 0.2
done
[ "$up" = 1 ] || die "Director does not answer"
log "daemons up (dir :$dirport, fd :$fdport, sd :$sdport)"

# ---- jobs ---------------------------------------------------------------

declare -a job_ids=() job_labels=() job_expect=()
queued() { sed -n 's/.*Job queued\. JobId=\([0-9][0-9]*\).*/\1/p' | tail -n 1; }
# submit LABEL EXPECTED-JOBSTATUS COMMAND...: run a console command that
# queues one job
submit() {
  local label="$1" expect="$2"; shift 2
  local o id
  o="$(bcmd "$@")"
  id="$(printf '%s\n' "$o" | queued)"
  [ -n "$id" ] || { printf '%s\n' "$o" >&2; die "$label: no JobId from: $*"; }
  job_ids+=("$id"); job_labels+=("$label"); job_expect+=("$expect")
  JOBID="$id"
}
jobfield() { # jobfield ID FIELD -> value from `llist jobid=ID`
  bcmd "llist jobid=$1" | sed -n "s/^ *$2: *//Ip" | head -n 1
}
wait_job() {
  bcmd "wait jobid=$1" >/dev/null
  local st; st="$(jobfield "$1" jobstatus)"
  log "JobId $1 ($2): JobStatus=$st"
}

submit a-full T "run job=fs01-files level=Full yes"; A=$JOBID; wait_job "$A" a-full

# change one file, add one: the Incremental has something to take
sleep 1
printf 'invoice 2 (corrected)\n' >"$src/home/alice/invoice-2.txt"
printf 'invoice 4\n' >"$src/home/alice/invoice-4.txt"
submit b-incr T "run job=fs01-files level=Incremental yes"; wait_job "$JOBID" b-incr

submit c-missing T "run job=fs01-missing level=Full yes"; wait_job "$JOBID" c-missing
submit d-unreachable f "run job=fs02-files level=Full yes"; wait_job "$JOBID" d-unreachable
submit e-prescript E "run job=fs01-prescript level=Full yes"; wait_job "$JOBID" e-prescript

submit f-cancel A "run job=fs01-cancel level=Full yes"; F=$JOBID
for i in $(seq 1 50); do
  [ "$(jobfield "$F" jobstatus)" = R ] && break
  sleep 0.2
done
sleep 3   # inside its RunBeforeJob "sleep 15" now
bcmd "cancel jobid=$F yes" >"$work/log/cancel-$F.out"
wait_job "$F" f-cancel

submit f2-cancel-mount A "run job=fs01-cancel-mount level=Full yes"; F=$JOBID
# it blocks for want of a volume; the SD's mount request is mailed first
for i in $(seq 1 100); do
  compgen -G "$out/reports/$F-*.operator.txt" >/dev/null && break
  sleep 0.2
done
log "JobId $F: $(jobfield "$F" jobstatus), waiting for a volume; canceling"
sleep 1
bcmd "cancel jobid=$F yes" >"$work/log/cancel-$F.out"
wait_job "$F" f2-cancel-mount

submit g-verify T "run job=fs01-verify jobid=$A yes"; wait_job "$JOBID" g-verify
submit g-restore T "restore jobid=$A client=fs01-fd restorejob=fs01-restore where=$work/restore all done yes"
wait_job "$JOBID" g-restore

# ---- reports: the mail goes out when the Director frees the job ------------
has_report() { # the job report, not an operator request
  local f
  for f in "$out/reports/$1"-*.txt; do
    case "$f" in *.operator.txt) ;; *) [ -e "$f" ] && return 0 ;; esac
  done
  return 1
}
for id in "${job_ids[@]}"; do
  for i in $(seq 1 100); do
    has_report "$id" && break
    sleep 0.2
  done
  has_report "$id" || die "no report mail for JobId $id"
done
log "all ${#job_ids[@]} reports delivered"

# ---- catalog views ----------------------------------------------------------
# bconsole -n prints a banner first (Connecting to Director ..., 1000 OK: ...,
# Enter a period to cancel a command.); it is stripped: everything up to and
# including the "Enter a period" line. The rest is verbatim, including
# bconsole's echo of the commands.
strip_banner() { sed '1,/^Enter a period to cancel a command\.$/d'; }
# Read the queued console messages first (kept in the work dir's log), so the
# captures do not end with bconsole's "You have messages.".
bcmd messages >"$work/log/console-messages.txt"
bcmd "llist jobs" | strip_banner >"$out/llist-jobs.txt"
bcmd ".api 2" "llist jobs" | strip_banner >"$out/api2-llist-jobs.txt"
bcmd "list jobs" | strip_banner >"$out/list-jobs.txt"

# ---- verdict ---------------------------------------------------------------
fail=0
printf '%-16s %5s %-4s %-6s %-6s %-8s %s\n' label jobid type level status expected joberrors >&2
for k in "${!job_ids[@]}"; do
  id="${job_ids[$k]}"
  ll="$(bcmd "llist jobid=$id")"
  f() { printf '%s\n' "$ll" | sed -n "s/^ *$1: *//Ip" | head -n 1; }
  st="$(f jobstatus)"
  printf '%-16s %5s %-4s %-6s %-6s %-8s %s\n' "${job_labels[$k]}" "$id" "$(f type)" "$(f level)" \
    "$st" "${job_expect[$k]}" "$(f joberrors)" >&2
  case "$st" in
    T|W|E|e|f|A|D) ;;
    *) log "JobId $id (${job_labels[$k]}) is not terminal: '$st'"; fail=1 ;;
  esac
  # the fixtures' README documents these letters; a change is a finding
  [ "$st" = "${job_expect[$k]}" ] || { log "JobId $id (${job_labels[$k]}): JobStatus $st, expected ${job_expect[$k]}"; fail=1; }
done
if [ -e "$out/report-pipe.failed" ]; then
  log "BMCTL_REPORT_PIPE failed for some reports, see $out/report-pipe.log"
  fail=1
fi

{
  echo "director: bacula-dir-ci"
  echo "tz: ${TZ:-unset (system zone: $(cat /etc/timezone 2>/dev/null || readlink /etc/localtime))}"
  echo "utc_offset: $(date +%z) ($(date +%Z))"
  echo "bacula: $(bconsole -? 2>&1 | sed -n 's/^Version: //p' | head -n 1)"
  echo "client: fs01-fd (fs02-fd unreachable)"
  echo "captured: $(date '+%F %T %z')"
} >"$out/director.txt"

stop_daemons
cp "$work/log/bacula.log" "$out/bacula.log"
[ "$fail" = 0 ] || die "some jobs did not end as expected"
ok=1
log "done in $(($(date +%s) - t0)) s; output in $out"
