#!/usr/bin/env bash
# Tests the Go binding and its samples the way a user builds them: installs the library into a
# temporary prefix (header, libtwotower.a, twotower.pc; the shared library is deleted from it to
# prove nothing needs it), points PKG_CONFIG_PATH there, then
#   - go vet and go test for bindings/go (again under -race) and for samples/go,
#   - checks that a test binary does not load libtwotower.so,
#   - checks that README.md's Go snippet is samples/go/readme/main.go word for word and runs it
#     from a directory laid out like the repository root,
#   - runs samples/go/recommend-server on the model the snippet saved: a query, a bad request,
#     a SIGHUP reload, a clean SIGTERM shutdown.
#
#   bindings/go/run-tests.sh
#
# TWOTOWER_BUILD_DIR=DIR  install from an existing CMake build (e.g. build/release, brought up to
#                         date first; relative to the repository root) instead of configuring
#                         and building one in build/go
# TWOTOWER_DATA=DIR       MovieLens 100k (else ../shared/data/ml-100k beside the repository);
#                         required when CI=true
# GO_RACE=0               skip the -race runs
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
start=$(date +%s)

if [ -n "${TWOTOWER_BUILD_DIR:-}" ]; then
  case $TWOTOWER_BUILD_DIR in /*) build=$TWOTOWER_BUILD_DIR ;; *) build=$root/$TWOTOWER_BUILD_DIR ;; esac
else
  build=$root/build/go
  echo "== building the library in $build"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTWOTOWER_BUILD_TESTS=OFF \
    -DTWOTOWER_BUILD_TOOLS=OFF -DTWOTOWER_BUILD_BENCH=OFF >/dev/null
  cmake --build "$build" -j2
fi

tmp=$(mktemp -d)
server_pid=
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== cmake --install $build --prefix <temporary prefix>"
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
rm -f "$tmp"/prefix/lib*/libtwotower.so*
pcdir=$(dirname "$(find "$tmp/prefix" -name twotower.pc)")
export PKG_CONFIG_PATH=$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
echo "   pkg-config --libs twotower: $(pkg-config --libs twotower)"
export CGO_ENABLED=1
# Go's build cache keys cgo packages on CGO_* variables but not on pkg-config's output, so a
# package built against an earlier (deleted) temporary prefix would be linked from the cache
# with that prefix's path. Naming this run's prefix in CGO_LDFLAGS gives each run its own key.
export CGO_LDFLAGS="-L$tmp/prefix/lib${CGO_LDFLAGS:+ $CGO_LDFLAGS}"
race=()
[ "${GO_RACE:-1}" = 0 ] || race=(-race)

echo "== go vet + go test: bindings/go"
(cd "$here" && go vet ./... && go test -count=1 ./...)
if ((${#race[@]})); then
  echo "== go test -race: bindings/go"
  (cd "$here" && go test -count=1 -race ./...)
fi
echo "== a test binary links twotower statically"
(cd "$here" && go test -c -o "$tmp/twotower.test" .)
if ldd "$tmp/twotower.test" | grep -i twotower; then
  echo "the Go test binary loads a twotower shared library" >&2
  exit 1
fi

echo "== go vet + go test: samples/go"
(cd "$root/samples/go" && go vet ./... && go test -count=1 ./...)
if ((${#race[@]})); then
  echo "== go test -race: samples/go"
  (cd "$root/samples/go" && go test -count=1 -race ./...)
fi

data=${TWOTOWER_DATA:-$root/../shared/data/ml-100k}
if [ ! -f "$data/u.data" ]; then
  if [ "${CI:-}" = true ]; then
    echo "MovieLens 100k not found at $data (set TWOTOWER_DATA) and CI=true" >&2
    exit 1
  fi
  echo "== skipped the README snippet and the server run: no MovieLens 100k at $data (set TWOTOWER_DATA)"
  exit 0
fi

echo "== README's Go snippet is samples/go/readme/main.go"
awk '/^## Go$/ {go=1; next} /^## / {go=0} go && /^```go$/ {code=1; next} code && /^```$/ {exit} code' \
  "$root/README.md" >"$tmp/readme-snippet.go"
if ! diff -u "$root/samples/go/readme/main.go" "$tmp/readme-snippet.go"; then
  echo "README.md's Go snippet and samples/go/readme/main.go differ" >&2
  exit 1
fi
# The snippet reads samples/... and ../shared/data/ml-100k and writes movielens.tt in the
# current directory: give it a root of its own so that nothing is written into the checkout.
mkdir -p "$tmp/repo" "$tmp/shared/data"
ln -s "$root/samples" "$tmp/repo/samples"
ln -s "$(cd "$data" && pwd)" "$tmp/shared/data/ml-100k"
go -C "$root/samples/go" build -o "$tmp/readme" ./readme
(cd "$tmp/repo" && "$tmp/readme") | tee "$tmp/readme.out"
grep -q '^top-100 accuracy 0\.' "$tmp/readme.out"
test "$(grep -c '^ *-\?[0-9.]\+  ' "$tmp/readme.out")" -eq 10
test -s "$tmp/repo/movielens.tt"

echo "== samples/go/recommend-server on that model"
go -C "$root/samples/go" build -o "$tmp/recommend-server" ./recommend-server
"$tmp/recommend-server" -model "$tmp/repo/movielens.tt" -addr 127.0.0.1:0 -timestamp 893286638 \
  >"$tmp/server.out" 2>"$tmp/server.log" &
server_pid=$!
for _ in $(seq 100); do grep -q '^listening on' "$tmp/server.out" && break; sleep 0.1; done
port=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$tmp/server.out")
[ -n "$port" ] || { cat "$tmp/server.log" >&2; exit 1; }
# GET with bash alone (no curl on a fresh machine): prints the status line and the body.
http_get() {
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$1" >&3
  cat <&3
  exec 3<&-
}
http_get '/recommend?user=42&k=5' | tee "$tmp/answer"
grep -q '^HTTP/1.0 200' "$tmp/answer"
test "$(grep -c '"key":' "$tmp/answer")" -eq 5
http_get '/recommend?user=42&k=many' >"$tmp/answer"
grep -q '^HTTP/1.0 400' "$tmp/answer" && grep -q '"error": "parameter k must be' "$tmp/answer"
kill -HUP "$server_pid"
for _ in $(seq 100); do grep -q 'serving model generation 2' "$tmp/server.log" && break; sleep 0.1; done
http_get '/healthz' | grep -q '"generation": 2'
kill -TERM "$server_pid"
wait "$server_pid"
server_pid=
cat "$tmp/server.log"
echo "== go binding: done in $(( $(date +%s) - start )) s"
