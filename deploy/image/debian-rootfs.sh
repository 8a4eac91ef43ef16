#!/usr/bin/env bash
# The pipeline image's base where no registry is reachable (CI here, air-gapped sites): a Debian
# root filesystem with Python 3.11, made from Debian's own packages and signed archives by
# mmdebstrap, written as a tarball that `podman import` / `docker import` turns into an image.
# It plays the part of python:3.11-slim (same Debian release, same Python minor version).
#
# Usage: debian-rootfs.sh SUITE OUTPUT.tar     (as root; Makefile: make image)
# The Makefile keys OUTPUT by this file's hash, so changing the package list rebuilds it.
set -euo pipefail
suite=${1:?usage: debian-rootfs.sh SUITE OUTPUT.tar}
output=${2:?usage: debian-rootfs.sh SUITE OUTPUT.tar}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

# python3.11: the interpreter the locked wheels are for; libstdc++6: TensorFlow's C++ runtime;
# ca-certificates, netbase, tzdata: what python:3.11-slim also carries (TLS to GCS, /etc/services).
packages=python3.11,python3,libstdc++6,ca-certificates,netbase,tzdata

mkdir -p "$(dirname "$output")"
tmp="$output.partial"
rm -rf "$tmp"
# minbase: Essential packages and apt only. Documentation, manual pages and translations are
# left out (copyright files stay); apt's package lists are dropped after the install.
# --format=tar: mmdebstrap picks the format from the target's name, and ".tar.partial" would
# make it a directory (a fresh clone's first `make image` failed on that).
mmdebstrap --variant=minbase --format=tar --include="$packages" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
  "$suite" "$tmp" \
  "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security $suite-security main"
mv "$tmp" "$output"
