#!/usr/bin/env bash
# A real OpenSSH SFTP server on loopback for the settlement tests: Alipay delivers its report files over
# SFTP (spec §13.1), and this is how the tests prove the settlement service fetches them.
#
#   sftp-test-server.sh <state-dir> <port> <served-dir>
#
# Installs Debian's openssh-server when sshd is missing, writes its own host key, a client key pair
# (<state-dir>/client_key, authorised for the current user), a config that allows only SFTP below
# <served-dir>, and the host key's SHA-256 fingerprint (<state-dir>/host_key.sha256); then runs sshd in
# the foreground on 127.0.0.1:<port> until it is killed. Nothing outside <state-dir> is changed, except the
# package install and /run/sshd, which sshd needs.
set -euo pipefail
state="${1:?state dir}"
port="${2:?port}"
served="${3:?served dir}"

if [ ! -x /usr/sbin/sshd ] || [ ! -x /usr/lib/openssh/sftp-server ]; then
  export DEBIAN_FRONTEND=noninteractive
  echo "sftp-test-server: installing openssh-server" >&2
  apt-get install -y --no-install-recommends openssh-server >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && apt-get install -y --no-install-recommends openssh-server >/dev/null; }
fi

mkdir -p "$state" "$served"
[ "$(id -u)" = 0 ] && mkdir -p /run/sshd && chmod 0755 /run/sshd
[ -f "$state/host_key" ] || ssh-keygen -q -t ed25519 -N '' -C sftp-test-host -f "$state/host_key"
[ -f "$state/client_key" ] || ssh-keygen -q -t ed25519 -N '' -C sftp-test-client -f "$state/client_key"
cp "$state/client_key.pub" "$state/authorized_keys"
chmod 600 "$state/authorized_keys" "$state/host_key" "$state/client_key"
ssh-keygen -lf "$state/host_key.pub" | awk '{ sub(/^SHA256:/, "", $2); print $2 }' >"$state/host_key.sha256"

cat >"$state/sshd_config" <<CONFIG
Port $port
ListenAddress 127.0.0.1
HostKey $state/host_key
PidFile $state/sshd.pid
AuthorizedKeysFile $state/authorized_keys
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
AllowUsers $(id -un)
AllowTcpForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTTY no
Subsystem sftp internal-sftp
ForceCommand internal-sftp -d $served
CONFIG

exec /usr/sbin/sshd -D -e -f "$state/sshd_config"
