/* One case's files in the Debian guest: kdh's instructions and the chosen
 * collector's configuration, its units and the links enabling them.  The
 * collectors' units are the seeds' own (the Arch wiki's kdump.service and
 * kdump-save.service, the simple-kdump units of "Using Kexec & Kdump"),
 * changed only where the comment in each says. */
#include "image/image.h"

#include <string.h>

/* The files a collector adds for case S. */
typedef gboolean (*CollectorFiles)(const KdhDiskImage *img, const KdhGuestSettings *s,
                                   const char *makedump_flags, GPtrArray *files, GError **error);

/* "'it'\''s'": VALUE as one shell word, whatever it holds. */
static char *shell_quote(const char *value)
{
	g_autoptr(GString) q = g_string_new("'");

	for (const char *c = value ? value : ""; *c; c++) {
		if (*c == '\'')
			g_string_append(q, "'\\''");
		else
			g_string_append_c(q, *c);
	}
	g_string_append_c(q, '\'');
	return g_string_free(g_steal_pointer(&q), FALSE);
}

static void add_file(GPtrArray *files, const char *path, const char *content)
{
	g_ptr_array_add(files, kdh_guest_file_new(path, content, 0644));
}

/* Turns a unit on the way systemctl enable would: a link in TARGET.wants. */
static void add_enable(GPtrArray *files, const char *target, const char *unit_path)
{
	g_autofree char *base = g_path_get_basename(unit_path);
	g_autofree char *link = g_strdup_printf("/etc/systemd/system/%s.wants/%s", target, base);

	g_ptr_array_add(files, kdh_guest_link_new(link, unit_path));
}

/* Debian's kdump-tools: its defaults file, on; its service enabled (the
 * base image has USE_KDUMP=0 and the service off). */
static gboolean kdump_tools_files(const KdhDiskImage *img, const KdhGuestSettings *s,
                                  const char *flags, GPtrArray *files, GError **error)
{
	g_autofree char *text =
	    g_strdup_printf("# /etc/default/kdump-tools, written by kdh for this case.\n"
	                    "USE_KDUMP=1\n"
	                    "KDUMP_KERNEL=/var/lib/kdump/vmlinuz\n"
	                    "KDUMP_INITRD=/var/lib/kdump/initrd.img\n"
	                    "KDUMP_COREDIR=\"/var/crash\"\n"
	                    "KDUMP_DUMP_DMESG=1\n"
	                    "# kdump-config adds -F (flattened format).\n"
	                    "MAKEDUMP_ARGS=\"%s\"\n",
	                    flags);

	(void)img;
	(void)s;
	(void)error;
	add_file(files, "/etc/default/kdump-tools", text);
	add_enable(files, "basic.target", "/lib/systemd/system/kdump-tools.service");
	return TRUE;
}

/* simple-kdump: its configuration file and its collect unit (the setup unit
 * and emergency-kdump.target are in the image). */
static gboolean simple_kdump_files(const KdhDiskImage *img, const KdhGuestSettings *s,
                                   const char *flags, GPtrArray *files, GError **error)
{
	g_autofree char *conf =
	    g_strdup_printf("# Kernel and initramfs for the kexec environment.\n"
	                    "KERNEL=/boot/vmlinuz-%s\n"
	                    "INITRAMFS=/boot/initrd.img-%s\n"
	                    "\n"
	                    "# No crashkernel= option for the kexec kernel cmdline.\n"
	                    "# Just regular boot options, the extra needed ones will be added by\n"
	                    "# simple-kdump-setup service automatically.\n"
	                    "# kdh: the guest's root and the serial console kdh watches.\n"
	                    "BOOT_OPTIONS=\"root=/dev/vda rw loglevel=5 console=ttyS0\"\n",
	                    img->release, img->release);
	/* The seed's unit with the case's makedumpfile flags for its "-d 31";
	 * its trailing "# ..." comments dropped (systemd would pass them as
	 * arguments: "systemctl --force reboot # Use ..." fails); kdh's
	 * capture-done marker before the reboot. */
	g_autofree char *collect = g_strdup_printf(
	    "[Unit]\n"
	    "Description=Collect the vmcore for simple-kdump\n"
	    "DefaultDependencies=no\n"
	    "\n"
	    "[Service]\n"
	    "Type=idle\n"
	    "ExecStart=/bin/sh -c 'dumpdir=$$(date \"+%%%%F-%%%%T\") && mkdir -p "
	    "\"/var/crash/$dumpdir\" && /usr/bin/makedumpfile %s /proc/vmcore "
	    "\"/var/crash/$dumpdir/vmcore.kdump\" && /usr/bin/makedumpfile --dump-dmesg "
	    "/proc/vmcore \"/var/crash/$dumpdir/vmcore-dmesg.log\"'\n"
	    "ExecStopPost=/usr/lib/kdh/kdh-guest capture-done\n"
	    "ExecStopPost=/usr/bin/systemctl --force reboot\n"
	    "UMask=0077\n",
	    flags);

	(void)s;
	(void)error;
	add_file(files, "/etc/conf.d/simple-kdump.conf", conf);
	add_file(files, "/etc/systemd/system/simple-kdump-collect.service", collect);
	add_enable(files, "multi-user.target", "/etc/systemd/system/simple-kdump-setup.service");
	return TRUE;
}

/* The Arch wiki's two units, the second form of kdump.service (booting the
 * capture kernel into kdump-save.service). */
static gboolean arch_wiki_files(const KdhDiskImage *img, const KdhGuestSettings *s,
                                const char *flags, GPtrArray *files, GError **error)
{
	/* [/boot/vmlinuz-linux-kdump] and [root-device] filled in; kexec is
	 * /usr/sbin/kexec on Debian; console=ttyS0: the console kdh watches. */
	g_autofree char *load = g_strdup_printf(
	    "[Unit]\n"
	    "Description=Load dump capture kernel\n"
	    "After=local-fs.target\n"
	    "\n"
	    "[Service]\n"
	    "ExecStart=/usr/sbin/kexec -p /boot/vmlinuz-%s --initrd=/boot/initrd.img-%s "
	    "--append=\"root=/dev/vda systemd.unit=kdump-save.service irqpoll maxcpus=1 "
	    "reset_devices console=ttyS0\"\n"
	    "Type=oneshot\n"
	    "\n"
	    "[Install]\n"
	    "WantedBy=multi-user.target\n",
	    img->release, img->release);
	/* The wiki's "-c -d 31" is the case's flags; its date +%F-%T written
	 * %%F-%%T (in a unit, %T is systemd's temporary folder); kdh's
	 * capture-done marker before the reboot. */
	g_autofree char *save = g_strdup_printf(
	    "[Unit]\n"
	    "Description=Create dump after kernel crash\n"
	    "DefaultDependencies=no\n"
	    "Wants=local-fs.target\n"
	    "After=local-fs.target\n"
	    "\n"
	    "[Service]\n"
	    "Type=idle\n"
	    "ExecStart=/bin/sh -c 'mkdir -p /var/crash/ && /usr/bin/makedumpfile %s /proc/vmcore "
	    "\"/var/crash/crashdump-$$(date +%%%%F-%%%%T)\"'\n"
	    "ExecStopPost=/usr/lib/kdh/kdh-guest capture-done\n"
	    "ExecStopPost=/usr/bin/systemctl reboot\n"
	    "UMask=0077\n"
	    "StandardInput=tty-force\n"
	    "StandardOutput=inherit\n"
	    "StandardError=inherit\n",
	    flags);

	(void)s;
	(void)error;
	add_file(files, "/etc/systemd/system/kdump.service", load);
	add_file(files, "/etc/systemd/system/kdump-save.service", save);
	add_enable(files, "multi-user.target", "/etc/systemd/system/kdump.service");
	return TRUE;
}

/* By hand: kdh-guest itself runs kexec -p and the capture kernel's
 * kdh-manual-save.service copies /proc/vmcore; nothing to configure. */
static gboolean manual_files(const KdhDiskImage *img, const KdhGuestSettings *s, const char *flags,
                             GPtrArray *files, GError **error)
{
	(void)img;
	(void)s;
	(void)flags;
	(void)files;
	(void)error;
	return TRUE;
}

static const struct {
	const char *name;
	CollectorFiles files;
} collectors[] = {
    {"kdump-tools", kdump_tools_files},
    {"simple-kdump", simple_kdump_files},
    {"arch-wiki", arch_wiki_files},
    {"manual", manual_files},
};

/* makedumpfile's options for S: "-d LEVEL" and -l (lzo), -c (zlib) or
 * nothing (none). */
static char *makedump_flags(const KdhGuestSettings *s, GError **error)
{
	static const struct {
		const char *name;
		const char *flag;
	} compressions[] = {{"lzo", " -l"}, {"zlib", " -c"}, {"none", ""}};
	const char *comp = s->compression ? s->compression : "none";

	if (s->dump_level > 31) {
		g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED,
		            "dump level %u is not 0-31", s->dump_level);
		return NULL;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(compressions); i++) {
		if (g_str_equal(comp, compressions[i].name))
			return g_strdup_printf("-d %u%s", s->dump_level, compressions[i].flag);
	}
	g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_FAILED,
	            "compression %s: the Debian guest's makedumpfile knows lzo, zlib and none",
	            comp);
	return NULL;
}

static char *case_conf(const KdhGuestSettings *s)
{
	const struct {
		const char *key;
		const char *value;
	} vars[] = {
	    {"KDH_TRIGGER", s->trigger},
	    {"KDH_ACTION", s->action},
	    {"KDH_ARG", s->arg},
	    {"KDH_SYSCTL", s->sysctls},
	    {"KDH_COLLECTOR", s->collector},
	    {"KDH_COMPRESSION", s->compression},
	};
	g_autoptr(GString) text = g_string_new("# kdh: this case's instructions for kdh-guest.\n");

	for (gsize i = 0; i < G_N_ELEMENTS(vars); i++) {
		g_autofree char *q = shell_quote(vars[i].value);
		g_string_append_printf(text, "%s=%s\n", vars[i].key, q);
	}
	if (s->cpu >= 0)
		g_string_append_printf(text, "KDH_CPU='%d'\n", s->cpu);
	else
		g_string_append(text, "KDH_CPU=''\n");
	g_string_append_printf(text, "KDH_DUMP_LEVEL='%u'\n", s->dump_level);
	return g_string_free(g_steal_pointer(&text), FALSE);
}

GPtrArray *kdh_image_debian_settings(const KdhDiskImage *img, const KdhGuestSettings *s,
                                     GError **error)
{
	g_autoptr(GPtrArray) files =
	    g_ptr_array_new_with_free_func((GDestroyNotify)kdh_guest_file_free);
	g_autofree char *flags = NULL, *conf = NULL;

	for (gsize i = 0; i < G_N_ELEMENTS(collectors); i++) {
		if (!s->collector || !g_str_equal(s->collector, collectors[i].name))
			continue;
		flags = makedump_flags(s, error);
		if (!flags)
			return NULL;
		conf = case_conf(s);
		add_file(files, "/etc/kdh/case.conf", conf);
		if (!collectors[i].files(img, s, flags, files, error))
			return NULL;
		return g_steal_pointer(&files);
	}
	g_set_error(error, KDH_IMAGE_ERROR, KDH_IMAGE_ERROR_UNSUPPORTED,
	            "collector %s: the Debian image has kdump-tools, simple-kdump, arch-wiki "
	            "and manual",
	            s->collector ? s->collector : "(none)");
	return NULL;
}

char *kdh_image_debian_cmdline(const KdhDiskImage *img)
{
	(void)img;
	/* ro: systemd remounts the root read-write from its fstab entry.  Status
	 * lines only for errors: each console line costs under TCG, and the
	 * kernel's own log (the host reads it) stays. */
	return g_strdup("root=/dev/vda ro systemd.show_status=error");
}
