#!/bin/sh
# build-guest.sh DIR: builds a Debian 12 arm64 guest for ./build.sh check-arm64 from Debian packages,
# once: DIR/rootfs.img (ext4, the whole guest), DIR/vmlinuz and DIR/initrd.img (booted directly by
# qemu-system-aarch64, no firmware). The guest has systemd, the kernel, libssl3 and curl, no password
# and no SSH: at boot, pattoo-check.service mounts the second disk (/dev/vdb) and runs the
# guest-check.sh it finds there, its output on the serial console. Nothing else is started for it.
set -eu
[ $# -eq 1 ] || { echo "usage: packaging/check-arm64/build-guest.sh DIR" >&2; exit 2; }
dir=$1
[ "$(id -u)" = 0 ] || { echo "build-guest.sh: debootstrap needs root" >&2; exit 1; }
if [ -f "$dir/rootfs.img" ] && [ -f "$dir/vmlinuz" ] && [ -f "$dir/initrd.img" ]; then
  echo "build-guest.sh: guest already built in $dir"
  exit 0
fi
mkdir -p "$dir"
stage=$dir/rootfs.tmp
rm -rf "$stage" "$dir/rootfs.img.tmp"

# The second stage runs arm64 binaries in the chroot: qemu-user through binfmt_misc (fine for dpkg's
# shell scripts; the AOT binary itself only ever runs under qemu-system).
[ -d /proc/sys/fs/binfmt_misc ] && [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  grep -v '^#' /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register
fi

mirror=${PATTOO_DEBIAN_MIRROR:-http://deb.debian.org/debian}
echo "build-guest.sh: debootstrap bookworm arm64 from $mirror into $stage (10-20 minutes)"
debootstrap --arch=arm64 --variant=minbase \
  --include=systemd,systemd-sysv,udev,kmod,linux-image-arm64,initramfs-tools,libssl3,curl,ca-certificates,iproute2,procps \
  bookworm "$stage" "$mirror"

echo pattoo-arm64 > "$stage/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 pattoo-arm64\n' > "$stage/etc/hosts"
printf '/dev/vda / ext4 defaults,noatime 0 1\n' > "$stage/etc/fstab"
# The user-mode network qemu gives the guest (restricted: only the forwarded port reaches it).
mkdir -p "$stage/etc/systemd/network"
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n' > "$stage/etc/systemd/network/20-wired.network"
ln -sf /lib/systemd/system/systemd-networkd.service "$stage/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"

cat > "$stage/usr/local/sbin/pattoo-check-runner" <<'RUNNER'
#!/bin/sh
# Runs the check the host put on the second disk; its output goes to the serial console.
mkdir -p /mnt/check
if mount -o ro /dev/vdb /mnt/check; then
  sh /mnt/check/guest-check.sh
else
  echo "PATTOO-CHECK FAIL no check disk at /dev/vdb"
fi
RUNNER
chmod 755 "$stage/usr/local/sbin/pattoo-check-runner"
cat > "$stage/etc/systemd/system/pattoo-check.service" <<'UNIT'
[Unit]
Description=Pattoo.Edge package check (the host's check-arm64)
After=multi-user.target network-online.target
Wants=network-online.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/pattoo-check-runner
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyAMA0

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/pattoo-check.service "$stage/etc/systemd/system/multi-user.target.wants/pattoo-check.service"
# The console is the check's channel to the host: no login prompt on it (a getty hangs the line up).
ln -sf /dev/null "$stage/etc/systemd/system/serial-getty@ttyAMA0.service"
chroot "$stage" apt-get clean

# Boot files beside the image, so qemu starts the kernel directly.
cp "$(ls "$stage"/boot/vmlinuz-* | tail -1)" "$dir/vmlinuz"
cp "$(ls "$stage"/boot/initrd.img-* | tail -1)" "$dir/initrd.img"
mkfs.ext4 -q -L pattoo-arm64 -d "$stage" "$dir/rootfs.img.tmp" 2G
rm -rf "$stage"
mv "$dir/rootfs.img.tmp" "$dir/rootfs.img"
echo "build-guest.sh: guest ready in $dir"
