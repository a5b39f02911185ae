#!/bin/sh
# Example bmctl hook: mail a ticket notification (needs a local MTA: mail(1)).
#   [hooks] on_escalate = ["/usr/local/bin/bmctl-notify-mail", "noc@msp.example"]
# bmctl runs it without a shell, with {"event": ..., "ticket": {...}} on stdin.
set -eu
to="$1"
payload=$(cat)
subject=$(printf '%s' "$payload" | python3 -c '
import json, sys
p = json.load(sys.stdin); t = p["ticket"]
print("[bmctl] %s: #%s %s" % (p["event"], t["id"], t["title"]))
')
printf '%s\n' "$payload" | python3 -m json.tool | mail -s "$subject" "$to"
