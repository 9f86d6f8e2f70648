#!/usr/bin/env bash
# Installs the servers the deployment tests start themselves (Debian's nginx, redis-server, node
# and an npm OpenID Connect provider), when missing. The tests run them on free loopback ports; nothing is started as a service here.
set -euo pipefail
need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v redis-server >/dev/null || need+=(redis-server)
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if [ ${#need[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian starts them as services on install: the tests start their own, on their own ports
  for service in nginx redis-server; do
    $SUDO service "$service" stop >/dev/null 2>&1 || true
  done
fi

# node (Debian's) and the test OpenID Connect provider (npm, pinned by its lock file)
command -v node >/dev/null || {
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
}
here="$(cd "$(dirname "$0")/.." && pwd)/tests/deploy/oidc"
[ -d "$here/node_modules/oidc-provider" ] || npm ci --prefix "$here" --no-audit --no-fund --silent
