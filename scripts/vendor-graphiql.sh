#!/usr/bin/env bash
# Re-downloads the GraphiQL playground's third-party files into
# assets/graphiql/ (see assets/graphiql/README.md): the npm tarballs of the
# pinned versions below, each checked against its SHA-256 before anything is
# extracted. The router embeds these files in the janta binary
# (src/playground.rs), so the playground never loads anything from a CDN.
#
# To upgrade: change a version, run the script once with the new version's
# checksum left empty (it prints the checksum it got), check the licence,
# paste the checksum here, rename the files in src/playground.rs and
# assets/graphiql/index.html, and update assets/graphiql/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

GRAPHIQL_VERSION=3.9.0
GRAPHIQL_SHA256=d955c99ae100ed5facb45f4f94d1a8c0a156f81106434f0e35b0dcb0be574f27
REACT_VERSION=18.3.1
REACT_SHA256=8d9bed01a672e7eaf387942d781ad47c6a43089a30a0306060f9fd5ac7870347
REACT_DOM_SHA256=031d4427a99f2f3f6cac18bbbf308594a67e4f47d10f4896fdec446505b040e0

out=assets/graphiql
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# fetch NAME VERSION SHA256: downloads NAME@VERSION's published tarball,
# verifies it and unpacks it into $work/NAME.
fetch() {
  local name=$1 version=$2 sha=$3 tarball
  tarball=$(cd "$work" && npm pack --silent "$name@$version")
  local got
  got=$(sha256sum "$work/$tarball" | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then
    echo "checksum mismatch for $name@$version: expected '$sha', got $got" >&2
    exit 1
  fi
  mkdir -p "$work/$name"
  tar -xzf "$work/$tarball" -C "$work/$name" --strip-components=1
  if ! grep -q '"license": "MIT"' "$work/$name/package.json"; then
    echo "$name@$version is no longer MIT-licensed: check before vendoring" >&2
    exit 1
  fi
}

fetch graphiql "$GRAPHIQL_VERSION" "$GRAPHIQL_SHA256"
fetch react "$REACT_VERSION" "$REACT_SHA256"
fetch react-dom "$REACT_VERSION" "$REACT_DOM_SHA256"

cp "$work/graphiql/graphiql.min.js" "$out/graphiql-$GRAPHIQL_VERSION.min.js"
cp "$work/graphiql/graphiql.min.css" "$out/graphiql-$GRAPHIQL_VERSION.min.css"
cp "$work/graphiql/LICENSE" "$out/LICENSE-graphiql"
cp "$work/react/umd/react.production.min.js" "$out/react-$REACT_VERSION.production.min.js"
cp "$work/react-dom/umd/react-dom.production.min.js" "$out/react-dom-$REACT_VERSION.production.min.js"
cp "$work/react/LICENSE" "$out/LICENSE-react"

# Files are copied byte for byte (the bundle's sourceMappingURL comment names
# a map that is not shipped; the router answers 404 for it).
echo "vendored graphiql $GRAPHIQL_VERSION and react/react-dom $REACT_VERSION into $out"
