#!/usr/bin/env bash
# Installs what kdh needs on a Debian 12 host, idempotently: packages that are
# already installed cost one dpkg-query, nothing else.  Run by `make deps`
# (and so by `make run` and `make check`).
set -euo pipefail

packages=(
	# build
	build-essential pkg-config clang libclang-rt-14-dev
	libglib2.0-dev libvirt-dev libguestfs-dev libjson-glib-dev libxml2-dev check
	zlib1g-dev liblzo2-dev libsnappy-dev libzstd-dev
	# packages (.deb, .rpm, .pkg.tar.zst) are unpacked through libarchive
	libarchive-dev
	# VMs: libvirt + QEMU; libguestfs builds its appliance from the host's
	# own Debian kernel, which supermin only recommends: name it.
	libvirt-daemon-system qemu-system-x86 qemu-utils libguestfs0 supermin linux-image-amd64
	# the mini guest is assembled from these host binaries
	busybox-static kexec-tools makedumpfile cpio
	# the Debian guest image (kdh image build debian): its root file system
	mmdebstrap
	# kernel builds (kdh kernel build) and imports (kdh kernel import)
	bison flex bc libelf-dev libssl-dev kmod
	# the crash module (images/crashmod): Debian's linux-headers call gcc-12
	# by name; kdh reads the module's vermagic with modinfo (kmod)
	gcc-12
	# the kernel unit tests make packages and compressed modules with these
	# (rpmbuild: the .rpm import test; dpkg-deb comes with dpkg)
	rpm xz-utils zstd
	# the crash(8) cross-check ([verify] crash=) runs Debian's crash (kdh
	# reads a vmlinux's build-id through libelf-dev, listed above)
	crash
	# peers for differential tests and benchmarks, and the benchmarks' tools
	libkdumpfile-dev jq
	# make check-valgrind: the reader's suites under memcheck
	valgrind
	# make check-ci: the CI definitions (ci/github, ci/gitlab) linted, and
	# read by the ci suite through libyaml (as the report suite reads
	# results.tap's YAML diagnostics)
	yamllint libyaml-dev
	# report.html is checked as a browser renders it: headless Chromium
	chromium
	# kdh sizing draws sizing.svg with cairo
	libcairo2-dev
	# the hosts suite's remote host: libvirt's ssh transport to this
	# machine through an sshd the test starts on 127.0.0.1 with its own
	# keys and port (tests/support/sshd.c).  kdh never starts the package's
	# service; a host whose apt starts services (no policy-rc.d) will have
	# it running on port 22 after the install.
	openssh-server
)

# The end-to-end test of running kdh as an ordinary user
# (tests/e2e/test_privilege.c) drops to this account: a system user with no
# home, no shell and no other group, made once.
test_user=kdh-test
if [ "$(id -u)" -eq 0 ] && ! getent passwd "$test_user" >/dev/null; then
	echo "kdh: creating the system user $test_user for the tests"
	useradd --system --user-group --home-dir /nonexistent --no-create-home \
		--shell /usr/sbin/nologin "$test_user"
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "kdh: missing Debian packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi
echo "kdh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
