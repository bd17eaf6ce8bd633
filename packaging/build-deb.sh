#!/bin/sh
# build-deb.sh ARCH BINARY OUTDIR: builds pattoo-edge_<VERSION>_<amd64|arm64>.deb from a published
# binary with dpkg-deb (no network). ARCH is x64 or arm64. Prints the package's path.
set -eu
[ $# -eq 3 ] || { echo "usage: packaging/build-deb.sh x64|arm64 BINARY OUTDIR" >&2; exit 2; }
arch=$1 binary=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
version=$(tr -d ' \n' < "$root/VERSION")
case "$arch" in
  x64) debarch=amd64 ;;
  arm64) debarch=arm64 ;;
  *) echo "build-deb.sh: ARCH is x64 or arm64, not $arch" >&2; exit 2 ;;
esac
[ -f "$binary" ] || { echo "build-deb.sh: no binary at $binary (./build.sh publish $arch)" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg=$stage/pattoo-edge
doc=$pkg/usr/share/doc/pattoo-edge
install -d -m 755 "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/lib/systemd/system" "$pkg/etc/pattoo-edge" "$doc" \
  "$pkg/usr/share/man/man1" "$pkg/usr/share/lintian/overrides"
install -m 755 "$binary" "$pkg/usr/bin/pattoo-edge"
# The repository's unit serves the self-install (/usr/local/bin); the package's binary is in /usr/bin.
sed 's#/usr/local/bin/pattoo-edge#/usr/bin/pattoo-edge#g' "$root/systemd/pattoo-edge.service" > "$pkg/lib/systemd/system/pattoo-edge.service"
chmod 644 "$pkg/lib/systemd/system/pattoo-edge.service"
# The embedded default, every setting commented: the conffile an administrator edits.
install -m 644 "$root/src/Pattoo.Edge.Host/default.toml" "$pkg/etc/pattoo-edge/edge.toml"
install -m 644 "$root/README.md" "$doc/README.md"
install -m 644 "$here/deb/copyright" "$doc/copyright"
install -m 644 "$here/deb/lintian-overrides" "$pkg/usr/share/lintian/overrides/pattoo-edge"
gzip -9n < "$here/pattoo-edge.1" > "$pkg/usr/share/man/man1/pattoo-edge.1.gz"
chmod 644 "$pkg/usr/share/man/man1/pattoo-edge.1.gz"
date=$(git -C "$root" log -1 --format=%aD 2>/dev/null || date -R)
printf 'pattoo-edge (%s) unstable; urgency=medium\n\n  * Built from the Pattoo.Edge source tree, version %s.\n\n -- Pattoo.Edge developers <pattoo-edge@example.org>  %s\n' \
  "$version" "$version" "$date" | gzip -9n > "$doc/changelog.gz"
chmod 644 "$doc/changelog.gz"

size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$debarch/" -e "s/@SIZE@/$size/" "$here/deb/control.in" > "$pkg/DEBIAN/control"
install -m 644 "$here/deb/conffiles" "$pkg/DEBIAN/conffiles"
for script in postinst prerm postrm; do install -m 755 "$here/deb/$script" "$pkg/DEBIAN/$script"; done
(cd "$pkg" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) > "$pkg/DEBIAN/md5sums"
chmod 644 "$pkg/DEBIAN/md5sums"

mkdir -p "$out"
deb=$out/pattoo-edge_${version}_${debarch}.deb
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
