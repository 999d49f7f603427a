#!/usr/bin/env bash
# Build the three images without Docker (Debian's buildah, run as root), then smoke-test them:
# each service on SQLite and the router in front, on the host's network, until a federated
# query answers through the router. From the repository root:
#
#   deploy/buildah.sh                    # FROM python:3.11-slim, pulled from Docker Hub
#   BASE=debian deploy/buildah.sh        # no Docker Hub: a stand-in base built by debootstrap
#                                        # from Debian's mirror (python3.11, pip, python)
#   CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt deploy/buildah.sh
#                                        # behind a TLS-inspecting proxy: the host's CA bundle
#                                        # is mounted into the build, so pip trusts that proxy
#
# Containers run with `--isolation chroot`: no OCI runtime, no cgroups, so it also works inside
# a container or CI runner where crun/runc cannot create cgroups ("cgroups in hybrid mode not
# supported"). PORT_BASE (6510) gives the smoke test's three ports; SMOKE_ONLY=1 tests the
# images already built.
set -euo pipefail
cd "$(dirname "$0")/.."

isolation=(--isolation chroot)
mounts=()
[ -n "${CA_BUNDLE:-}" ] && mounts=(-v "$CA_BUNDLE:/etc/ssl/certs/ca-certificates.crt:ro")
pull=()

if [ "${BASE:-}" = "debian" ]; then
  if ! buildah inspect --type image docker.io/library/python:3.11-slim >/dev/null 2>&1; then
    echo "building a stand-in for python:3.11-slim with debootstrap (Debian bookworm)"
    ctr=$(buildah from scratch)
    root=$(buildah mount "$ctr")
    debootstrap --variant=minbase --include=python3,python3-pip,python-is-python3,ca-certificates \
      bookworm "$root" http://deb.debian.org/debian >/dev/null
    # python:3.11-slim's pip installs into the system Python; Debian's refuses without this
    rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    buildah umount "$ctr" >/dev/null
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
    buildah commit --quiet --format docker "$ctr" docker.io/library/python:3.11-slim >/dev/null
    buildah rm "$ctr" >/dev/null
  fi
  pull=(--pull=never)
fi

for image in customers orders router; do
  [ -n "${SMOKE_ONLY:-}" ] && break
  echo "building pyfederation/$image:0.1.0"
  buildah bud --quiet "${isolation[@]}" "${pull[@]}" "${mounts[@]}" --network host \
    --format docker -f "deploy/docker/$image.Dockerfile" -t "pyfederation/$image:0.1.0" . \
    >/dev/null
done

base=${PORT_BASE:-6510}
customers=$base orders=$((base + 1)) router=$((base + 2))
logs=$(mktemp -d)
echo "smoke test: the containers' output goes to $logs"
containers=()
pids=()
cleanup() {
  # stopping `buildah run` stops its process (killed: the drain is tested elsewhere)
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for ctr in "${containers[@]}"; do buildah rm "$ctr" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

start() { # image, then the arguments after the image's entrypoint
  local ctr image=$1
  ctr=$(buildah from --pull-never "localhost/pyfederation/$1:0.1.0")
  containers+=("$ctr")
  local entrypoint
  entrypoint=$(buildah inspect --format '{{.Docker.Config.Entrypoint}}' "$ctr") # [python -m x]
  entrypoint=${entrypoint#[}
  entrypoint=${entrypoint%]}
  shift
  # shellcheck disable=SC2086 # the entrypoint is words
  buildah run "${isolation[@]}" --network host "$ctr" -- $entrypoint "$@" >"$logs/$image.log" 2>&1 &
  pids+=($!)
}

wait_for() { # url
  for _ in $(seq 1 120); do
    if python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" \
      "$1" 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  echo "no answer from $1" >&2
  return 1
}

start customers --host 127.0.0.1 --port "$customers" --database-url sqlite:////tmp/customers.sqlite3
start orders --host 127.0.0.1 --port "$orders" --database-url sqlite:////tmp/orders.sqlite3 \
  --customers-url "http://127.0.0.1:$customers/graphql"
wait_for "http://127.0.0.1:$customers/health"
wait_for "http://127.0.0.1:$orders/health"
# the router composes for these URLs at start, as the Kubernetes init container does, and
# serves with the image's router.yaml, its identity provider a development key made in the
# container (`python -m router token` makes it; the smoke test signs in as staff with it)
ctr=$(buildah from --pull-never localhost/pyfederation/router:0.1.0)
containers+=("$ctr")
token=$(buildah run "${isolation[@]}" "$ctr" -- \
  python -m router token --sub 1 --scope staff --keys /tmp/dev-keys)
buildah run "${isolation[@]}" --network host "$ctr" -- sh -c "\
  CUSTOMERS_ROUTING_URL=http://127.0.0.1:$customers/graphql \
  ORDERS_ROUTING_URL=http://127.0.0.1:$orders/graphql \
  python -m router compose --config supergraph.yaml --output /tmp/supergraph.graphql \
  && ROUTER_JWKS_URL=file:///tmp/dev-keys/dev-jwks.json ROUTER_JWT_ISSUER=pyfederation-dev \
     exec python -m router serve --config /app/router.yaml --supergraph /tmp/supergraph.graphql \
     --host 127.0.0.1 --port $router" >"$logs/router.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$router/health?ready"

query='{"query": "{ orders(first: 2) { edges { node { id total { amount } customer { name } } } } }"}'
answer=$(python3 - "$router" "$query" "$token" <<'EOF'
import json, sys, urllib.request
request = urllib.request.Request(
    f"http://127.0.0.1:{sys.argv[1]}/graphql", data=sys.argv[2].encode(),
    headers={"content-type": "application/json", "authorization": f"Bearer {sys.argv[3]}"},
)
body = json.load(urllib.request.urlopen(request, timeout=10))
edges = body["data"]["orders"]["edges"]
assert edges and all(e["node"]["customer"]["name"] for e in edges), body
print(json.dumps(body))
EOF
)
echo "smoke test passed: $answer"
