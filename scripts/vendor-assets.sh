#!/usr/bin/env bash
# Refresh the third-party browser assets shipped inside the agentmon package.
#
# Needs npm (only here, never at run time). Fetches the pinned packages with `npm pack`,
# copies their distribution files and LICENSE into src/agentmon/web/static/vendor/ and
# records the versions in static/vendor/VERSIONS. The result is committed.
#
#   scripts/vendor-assets.sh                      # the pinned versions below
#   UPLOT_VERSION=1.6.32 scripts/vendor-assets.sh # override one pin
set -euo pipefail

UPLOT_VERSION="${UPLOT_VERSION:-1.6.32}"
PREACT_VERSION="${PREACT_VERSION:-11.2.0}"
HTM_VERSION="${HTM_VERSION:-3.1.1}"

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/src/agentmon/web/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fetch() { # name version -> unpacked directory
  local name="$1" version="$2"
  (cd "$work" && npm pack --silent "$name@$version" >/dev/null)
  mkdir -p "$work/$name"
  tar xzf "$work/$name-$version.tgz" -C "$work/$name"
  echo "$work/$name/package"
}

uplot="$(fetch uplot "$UPLOT_VERSION")"
preact="$(fetch preact "$PREACT_VERSION")"
htm="$(fetch htm "$HTM_VERSION")"

rm -rf "$dest"
mkdir -p "$dest/uplot" "$dest/preact" "$dest/htm"

cp "$uplot/dist/uPlot.iife.min.js" "$uplot/dist/uPlot.min.css" "$uplot/LICENSE" "$dest/uplot/"

cp "$preact/dist/preact.mjs" "$dest/preact/preact.mjs"
# The hooks module imports the bare specifier "preact"; browsers need a relative URL and an
# import map would need an inline script, which the UI's Content-Security-Policy forbids.
sed 's#from"preact"#from"./preact.mjs"#g' "$preact/hooks/dist/hooks.mjs" > "$dest/preact/hooks.mjs"
grep -q 'from"./preact.mjs"' "$dest/preact/hooks.mjs" || {
  echo "preact hooks: the import of \"preact\" was not found; check the dist format" >&2
  exit 1
}
cp "$preact/LICENSE" "$dest/preact/"

cp "$htm/dist/htm.mjs" "$htm/LICENSE" "$dest/htm/"

cat > "$dest/VERSIONS" <<VERSIONS
# Vendored by scripts/vendor-assets.sh from the npm registry (npm pack <name>@<version>).
uplot $UPLOT_VERSION  dist/uPlot.iife.min.js dist/uPlot.min.css LICENSE (MIT)
preact $PREACT_VERSION  dist/preact.mjs hooks/dist/hooks.mjs (import rewritten) LICENSE (MIT)
htm $HTM_VERSION  dist/htm.mjs LICENSE (Apache-2.0)
VERSIONS

echo "vendored into $dest:"
cat "$dest/VERSIONS"
