/* What distributions reserve by default and what size-based estimators
 * compute: the guesses kdh's measurement is compared with.  Each row says
 * where it comes from. */
#include "sizing/sizing.h"

static const KdhSizingDefault defaults[] = {
    {"Fedora/RHEL kdump-utils", "2G-64G:256M,64G-:512M",
     "kdump-utils' default on x86_64 since 2025 (kdumpctl get-default-crashkernel)"},
    {"Fedora/RHEL kexec-tools (before 2025)", "1G-4G:192M,4G-64G:256M,64G-:512M",
     "kexec-tools' crashkernel default on x86_64 before kdump-utils"},
    {"Debian 12 kdump-tools", "384M-:128M",
     "/etc/default/grub.d/kdump-tools.cfg of Debian 12's kdump-tools"},
    {"kdump-tools (newer, amd64)", "512M-:192M", "newer kdump-tools on amd64"},
    {"Ubuntu", "2G-4G:320M,4G-32G:512M,32G-64G:1024M,64G-128G:2048M,128G-:4096M",
     "Ubuntu Server documentation, kernel crash dump"},
};

const KdhSizingDefault *kdh_sizing_defaults(gsize *n)
{
	*n = G_N_ELEMENTS(defaults);
	return defaults;
}

/* kdumpctl estimate (kdump-utils): the kernel, its modules, three times the
 * initramfs (it is unpacked beside its compressed copy and the page cache
 * holds both), and a 16 MiB base (the summary of the tool). */
static guint64 kdumpctl_estimate(const KdhSizingInputs *in, guint64 ram)
{
	(void)ram;
	return in->vmlinuz + in->modules + 3 * in->initrd + 16 * KDH_MIB;
}

/* Debian-style (kdump-config show's reasoning): a multiple of what is loaded
 * (vmlinuz and initrd, four times: compressed, unpacked, and working
 * memory) plus what early boot takes, 64 MiB, and 1/256 of the RAM for the
 * page tables and makedumpfile's bitmaps of a larger machine. */
static guint64 debian_estimate(const KdhSizingInputs *in, guint64 ram)
{
	return 4 * (in->vmlinuz + in->initrd) + 64 * KDH_MIB + ram / 256;
}

static const KdhSizingEstimator estimators[] = {
    {"kdumpctl estimate-style", "vmlinuz + modules + 3 x initrd + 16M", kdumpctl_estimate},
    {"Debian-style", "4 x (vmlinuz + initrd) + 64M + RAM/256", debian_estimate},
};

const KdhSizingEstimator *kdh_sizing_estimators(gsize *n)
{
	*n = G_N_ELEMENTS(estimators);
	return estimators;
}
