#!/bin/sh
# mmdebstrap's hooks for kdh's Debian guest, run on the host by mmdebstrap
# (harness/image/debian.c passes them):
#   customize.sh essential ROOT   after the Essential packages, before the rest
#   customize.sh customize ROOT   on the finished root file system
# Environment from kdh:
#   KDH_RECIPE       this folder (images/debian)
#   KDH_RELEASE      the kernel's release (uname -r)
#   KDH_KERNEL_ROOT  a built or imported kernel's cache entry to copy in
#                    (boot/ and lib/modules/<release>/); empty for a Debian
#                    kernel, which mmdebstrap installed as its package
#   KDH_OUT          a folder to copy the first kernel's initramfs into
set -eu

phase=$1
root=$2
rel=$KDH_RELEASE
recipe=$KDH_RECIPE

in_root() {
	chroot "$root" "$@"
}

# Small initramfs images (see initramfs.conf), in place before the kernel's
# and kdump-tools' packages make any.  Files no package owns: dpkg would
# stop at a conffile (/etc/initramfs-tools/modules) it finds already there.
if [ "$phase" = essential ]; then
	mkdir -p "$root/etc/initramfs-tools/conf.d" "$root/usr/share/initramfs-tools/modules.d"
	cp "$recipe/initramfs.conf" "$root/etc/initramfs-tools/conf.d/kdh"
	cp "$recipe/initramfs-modules" "$root/usr/share/initramfs-tools/modules.d/kdh"
	exit 0
fi

# The root file system: ext4 on the whole disk.  Without an fstab entry
# systemd leaves / read-only (the command line says ro).  Pass 0: a fresh
# file system from kdh is not checked at every boot.
printf '/dev/vda / ext4 errors=remount-ro 0 0\n' >"$root/etc/fstab"
echo kdh-debian >"$root/etc/hostname"


# kdh's own units and script.
mkdir -p "$root/usr/lib/kdh" "$root/etc/kdh" "$root/lib/kdh" "$root/etc/conf.d"
install -m 0755 "$recipe/kdh-guest" "$root/usr/lib/kdh/kdh-guest"
mkdir -p "$root/etc/systemd/system-generators"
install -m 0755 "$recipe/kdh-generator" "$root/etc/systemd/system-generators/kdh-early"
for unit in kdh.service kdh-manual-save.service \
	simple-kdump-setup.service emergency-kdump.target; do
	install -m 0644 "$recipe/$unit" "$root/etc/systemd/system/$unit"
done
mkdir -p "$root/etc/systemd/system/kdump-tools-dump.service.d"
install -m 0644 "$recipe/kdump-tools-dump.service.d/kdh.conf" \
	"$root/etc/systemd/system/kdump-tools-dump.service.d/kdh.conf"
in_root systemctl enable kdh.service

# Every collector is installed but off; a case turns one on in its overlay.
sed -i 's/^USE_KDUMP=.*/USE_KDUMP=0/' "$root/etc/default/kdump-tools"
in_root systemctl disable kdump-tools.service

# What costs boot time under TCG and does nothing for a test guest: timers,
# gettys, the journal on disk, hardware modules, and generators for what the
# guest has none of (encrypted, verity, GPT-discovered or hibernated disks,
# SysV scripts: every service it runs has a unit).
in_root systemctl set-default multi-user.target
in_root systemctl mask apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
	e2scrub_all.timer e2scrub_reap.service fstrim.timer getty.target \
	systemd-networkd-wait-online.service systemd-journal-flush.service \
	systemd-update-utmp.service systemd-update-utmp-runlevel.service \
	systemd-tmpfiles-clean.timer systemd-pstore.service
for gen in systemd-cryptsetup-generator systemd-getty-generator systemd-gpt-auto-generator \
	systemd-hibernate-resume-generator systemd-integritysetup-generator \
	systemd-rc-local-generator systemd-system-update-generator systemd-sysv-generator \
	systemd-veritysetup-generator; do
	ln -sf /dev/null "$root/etc/systemd/system-generators/$gen"
done
install -m 0644 "$recipe/modprobe-blacklist.conf" "$root/etc/modprobe.d/kdh.conf"
mkdir -p "$root/etc/systemd/journald.conf.d"
install -m 0644 "$recipe/journald.conf" "$root/etc/systemd/journald.conf.d/kdh.conf"

# A built or imported kernel: its files, module index and initramfs.
if [ -n "${KDH_KERNEL_ROOT:-}" ]; then
	for f in vmlinuz config System.map; do
		if [ -e "$KDH_KERNEL_ROOT/boot/$f-$rel" ]; then
			cp "$KDH_KERNEL_ROOT/boot/$f-$rel" "$root/boot/$f-$rel"
		fi
	done
	mkdir -p "$root/lib/modules"
	cp -a "$KDH_KERNEL_ROOT/lib/modules/$rel" "$root/lib/modules/$rel"
	rm -f "$root/lib/modules/$rel/build" "$root/lib/modules/$rel/source"
	in_root depmod -a "$rel"
	in_root update-initramfs -c -k "$rel"
fi
[ -e "$root/boot/vmlinuz-$rel" ] || { echo "no /boot/vmlinuz-$rel in the image" >&2; exit 1; }
[ -e "$root/boot/initrd.img-$rel" ] || in_root update-initramfs -c -k "$rel"

# kdump-tools' capture initramfs, made now: the guest would otherwise make
# it at its first boot (minutes under TCG).  Its hook keeps MODULES=list.
if [ ! -e "$root/var/lib/kdump/initrd.img-$rel" ]; then
	in_root /etc/kernel/postinst.d/kdump-tools "$rel"
fi
# kdump-config load deletes the initramfs (and makes it again) unless the
# sysctl overrides it was made with are recorded as unchanged.
cp "$root/etc/kdump/sysctl.conf" "$root/var/lib/kdump/latest_sysctls-$rel"
# The links kdump-config load would make (it may not change them while a
# capture kernel is loaded).
ln -sf "/boot/vmlinuz-$rel" "$root/var/lib/kdump/vmlinuz"
ln -sf "/var/lib/kdump/initrd.img-$rel" "$root/var/lib/kdump/initrd.img"

cp "$root/boot/initrd.img-$rel" "$KDH_OUT/initrd"

# Nothing of the build's apt state is needed in the guest.
rm -rf "$root/var/lib/apt/lists"/* "$root/var/cache/apt"/*.bin
