#!/bin/sh
# Example bmctl hook: post a ticket notification to a chat webhook (Slack,
# Teams and Mattermost incoming webhooks accept this shape).
#   [hooks] on_open = ["/usr/local/bin/bmctl-notify-chat", "https://chat.example.net/hooks/XYZ"]
# bmctl runs it without a shell, with {"event": ..., "ticket": {...}} on stdin.
set -eu
url="$1"
payload=$(cat)
text=$(printf '%s' "$payload" | python3 -c '
import json, sys
p = json.load(sys.stdin); t = p["ticket"]
print("[bmctl] %s: #%s %s (P%s, due %s)" % (p["event"], t["id"], t["title"], t["priority"], t.get("due_at")))
')
printf '{"text": %s}' "$(printf '%s' "$text" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read().strip()))')" |
  curl --silent --show-error --fail --max-time 20 -H 'Content-Type: application/json' --data @- "$url"
