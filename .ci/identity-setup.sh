#!/bin/bash
# A shared host as README's "Running bmctl for a team" sets one up, for the
# identity tests (tests/identity.rs): OS users in group noc, the service
# account bmctl, sudo's rule, the system config with roles, the built bmctl
# installed and a fresh database owned by the service account. Needs root;
# run by .ci/run, never by `cargo test` (developers' machines are root too).
set -euo pipefail
bin=${1:?usage: identity-setup.sh PATH-TO-BMCTL}
[ "$(id -u)" = 0 ] || { echo "identity-setup.sh needs root" >&2; exit 1; }
if ! command -v sudo >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sudo
fi
getent group noc >/dev/null || groupadd noc
for u in alice bob carol dave; do
  id -u "$u" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh --groups noc "$u"
done
id -u bmctl >/dev/null 2>&1 ||
  useradd --system --home-dir /var/lib/bmctl --create-home --shell /usr/sbin/nologin bmctl
# in the group, so the folders it writes keep the group's setgid bit
usermod -a -G noc bmctl
install -m 0755 "$bin" /usr/local/bin/bmctl
install -d -m 0755 /etc/bmctl
cat >/etc/bmctl/config.toml <<'TOML'
[database]
path = "/var/lib/bmctl/bmctl.db"

[identity]
service_accounts = ["bmctl"]

[team.alice]
roles = ["technician"]

[team.bob]
roles = ["technician"]

[team.carol]
roles = ["approver"]

[team.dave]
roles = ["backup-admin", "technician", "approver"]
TOML
chown root:bmctl /etc/bmctl/config.toml
chmod 0640 /etc/bmctl/config.toml
echo '%noc ALL=(bmctl) NOPASSWD: /usr/local/bin/bmctl' >/etc/sudoers.d/bmctl
chmod 0440 /etc/sudoers.d/bmctl
visudo -cf /etc/sudoers.d/bmctl >/dev/null
# files cross the uid boundary here: technicians drop inputs, bmctl reads
install -d -o bmctl -g noc -m 2770 /var/spool/bmctl/incoming
# and reviews land where the group reads them
install -d -o bmctl -g noc -m 2750 /srv/bmctl-reviews
rm -f /var/spool/bmctl/incoming/* /srv/bmctl-reviews/index.* 2>/dev/null || true
rm -rf /srv/bmctl-reviews/acme
rm -f /var/lib/bmctl/bmctl.db /var/lib/bmctl/bmctl.db-wal /var/lib/bmctl/bmctl.db-shm
runuser -u bmctl -- /usr/local/bin/bmctl init >/dev/null
echo "identity setup: users alice bob carol dave (noc), service account bmctl, /etc/bmctl/config.toml, /usr/local/bin/bmctl"
