/* Kernel configurations: reading .config files and fragments, checking that
 * what a fragment asks for survived, and what kdump needs. */
#include "kernel/internal.h"
#include "util/util.h"

#include <string.h>

/* "CONFIG_FOO=y" → FOO, y; "# CONFIG_FOO is not set" → FOO, n.  Other lines
 * FALSE. */
static gboolean parse_line(const char *line, char **name, char **value)
{
	const char *p = line;
	const char *unset = " is not set";

	while (*p == ' ' || *p == '\t')
		p++;
	if (g_str_has_prefix(p, "# CONFIG_")) {
		const char *start = p + strlen("# CONFIG_");
		const char *end = start;
		while (g_ascii_isalnum(*end) || *end == '_')
			end++;
		if (end == start || !g_str_has_prefix(end, unset))
			return FALSE;
		*name = g_strndup(start, end - start);
		*value = g_strdup("n");
		return TRUE;
	}
	if (g_str_has_prefix(p, "CONFIG_")) {
		const char *start = p + strlen("CONFIG_");
		const char *eq = strchr(start, '=');
		if (!eq || eq == start)
			return FALSE;
		for (const char *q = start; q < eq; q++) {
			if (!g_ascii_isalnum(*q) && *q != '_')
				return FALSE;
		}
		*name = g_strndup(start, eq - start);
		*value = g_strstrip(g_strdup(eq + 1));
		return TRUE;
	}
	return FALSE;
}

GHashTable *kdh_kconfig_parse(const char *text)
{
	GHashTable *config = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	for (char **l = lines; *l; l++) {
		char *name, *value;
		if (parse_line(*l, &name, &value))
			g_hash_table_replace(config, name, value);
	}
	return config;
}

static void request_clear(gpointer p)
{
	KdhKconfigRequest *r = p;
	g_free(r->name);
	g_free(r->value);
}

GArray *kdh_kconfig_requests(const char *text)
{
	GArray *out = g_array_new(FALSE, TRUE, sizeof(KdhKconfigRequest));
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	gboolean optional = FALSE;

	g_array_set_clear_func(out, request_clear);
	for (guint i = 0; lines[i]; i++) {
		KdhKconfigRequest r = {0};
		const char *l = g_strstrip(lines[i]);
		if (g_str_has_prefix(l, "# kdh:")) {
			optional = strstr(l, "optional") != NULL;
			continue;
		}
		if (parse_line(l, &r.name, &r.value)) {
			r.optional = optional;
			r.line = i + 1;
			g_array_append_val(out, r);
		}
		optional = FALSE;
	}
	return out;
}

GPtrArray *kdh_kconfig_unmet(const char *fragment_name, const char *text, GHashTable *config,
                             GHashTable *known)
{
	g_autoptr(GArray) requests = kdh_kconfig_requests(text);
	GPtrArray *unmet = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < requests->len; i++) {
		const KdhKconfigRequest *r = &g_array_index(requests, KdhKconfigRequest, i);
		const char *got = g_hash_table_lookup(config, r->name);
		gboolean exists = got || (known && g_hash_table_contains(known, r->name));
		gboolean want_off = g_str_equal(r->value, "n");
		gboolean is_off = !got || g_str_equal(got, "n");
		gboolean held = want_off ? is_off : (got && g_str_equal(got, r->value));

		/* Without the symbol list, an absent "is not set" is taken as held. */
		if (held && (exists || r->optional || !known))
			continue;
		if (!exists && r->optional)
			continue;
		if (!exists)
			g_ptr_array_add(
			    unmet, g_strdup_printf("%s:%u: CONFIG_%s does not exist in this kernel "
			                           "(misspelt, or from another version: mark it "
			                           "\"# kdh: optional\" if so)",
			                           fragment_name, r->line, r->name));
		else if (want_off)
			g_ptr_array_add(
			    unmet,
			    g_strdup_printf("%s:%u: CONFIG_%s should be off but is %s (another "
			                    "option selects it)",
			                    fragment_name, r->line, r->name, got));
		else
			g_ptr_array_add(
			    unmet,
			    g_strdup_printf("%s:%u: CONFIG_%s=%s was dropped: it ended as %s, "
			                    "so a dependency is not met (see its \"depends on\" "
			                    "in Kconfig)",
			                    fragment_name, r->line, r->name, r->value,
			                    !got                    ? "absent (invisible)"
			                    : g_str_equal(got, "n") ? "not set"
			                                            : got));
	}
	return unmet;
}

/* A kernel .config is ~300 KB; a compressed one decompressing past this
 * is not one (or is a bomb). */
#define CONFIG_MAX_BYTES ((gsize)64 << 20)

/* The gzip stream at DATA decompressed (trailing bytes ignored), as a
 * string of *OUT_LEN bytes; NULL when it is not one. */
static char *gunzip(const void *data, gsize len, gsize *out_len)
{
	g_autoptr(GBytes) out = kdh_decompress_prefix(data, len, CONFIG_MAX_BYTES);

	if (!out)
		return NULL;
	*out_len = g_bytes_get_size(out);
	return g_strndup(g_bytes_get_data(out, NULL), *out_len);
}

/* CONFIG_IKCONFIG puts "IKCFG_ST" + the gzip'ed .config into vmlinux. */
static char *ikconfig_in(const char *data, gsize len)
{
	const char *mark = memmem(data, len, "IKCFG_ST", 8);
	gsize n = 0;

	if (!mark)
		return NULL;
	mark += 8;
	return gunzip(mark, len - (mark - data), &n);
}

static guint32 le32(const char *p)
{
	const guint8 *b = (const guint8 *)p;
	return (guint32)b[0] | (guint32)b[1] << 8 | (guint32)b[2] << 16 | (guint32)b[3] << 24;
}

/* Where a bzImage's compressed kernel is: boot protocol 2.08+ (every
 * kernel since 2.6.26) records payload_offset and payload_length from the
 * start of the protected-mode code at (setup_sects + 1) * 512.  The exact
 * bounds matter: libarchive's xz and zstd readers fail on what follows the
 * stream. */
static gboolean bzimage_payload(const char *data, gsize len, gsize *off, gsize *plen)
{
	guint version, setup_sects;
	guint32 po, pl;
	gsize start;

	if (len < 0x250 || memcmp(data + 0x202, "HdrS", 4) != 0)
		return FALSE;
	version = (guint8)data[0x206] | (guint)(guint8)data[0x207] << 8;
	setup_sects = (guint8)data[0x1f1] ? (guint8)data[0x1f1] : 4;
	po = le32(data + 0x248);
	pl = le32(data + 0x24c);
	start = (gsize)(setup_sects + 1) * 512;
	if (version < 0x208 || pl == 0 || start > len || po > len - start || pl > len - start - po)
		return FALSE;
	*off = start + po;
	*plen = pl;
	return TRUE;
}

/* The configuration embedded in a kernel image (CONFIG_IKCONFIG): in a
 * vmlinux directly, in a bzImage inside its compressed payload (where the
 * header says, else found as scripts/extract-ikconfig does, by trying each
 * compressor's magic number at the first few places each appears). */
static char *extract_ikconfig(const char *data, gsize len)
{
	static const struct {
		const char *magic;
		gsize magic_len;
	} methods[] = {
	    {"\x1f\x8b\x08", 3},
	    {"\xfd"
	     "7zXZ\x00",
	     6},
	    {"\x28\xb5\x2f\xfd", 4},
	    {"\x02\x21\x4c\x18", 4},
	    {"BZh", 3},
	    {"\x5d\x00\x00\x00", 4},
	};
	/* A decompressed kernel is tens of MB; past this it is not one. */
	const gsize max_kernel = (gsize)512 << 20;
	char *config = ikconfig_in(data, len);
	gsize off, plen;

	if (!config && bzimage_payload(data, len, &off, &plen)) {
		g_autoptr(GBytes) out = kdh_decompress_prefix(data + off, plen, max_kernel);
		if (out)
			config = ikconfig_in(g_bytes_get_data(out, NULL), g_bytes_get_size(out));
	}

	for (guint m = 0; !config && m < G_N_ELEMENTS(methods); m++) {
		const char *p = data;
		guint tries = 0;
		while (!config && tries < 4 &&
		       (p = memmem(p, len - (p - data), methods[m].magic, methods[m].magic_len))) {
			g_autoptr(GBytes) out =
			    kdh_decompress_prefix(p, len - (p - data), max_kernel);
			if (out)
				config =
				    ikconfig_in(g_bytes_get_data(out, NULL), g_bytes_get_size(out));
			p += methods[m].magic_len;
			tries++;
		}
	}
	return config;
}

GHashTable *kdh_kconfig_load(const char *path, GError **error)
{
	g_autofree char *data = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &data, &len, error))
		return NULL;
	if (len >= 2 && (guchar)data[0] == 0x1f && (guchar)data[1] == 0x8b) {
		/* /proc/config.gz, or a config someone kept compressed. */
		gsize n = 0;
		char *text = gunzip(data, len, &n);
		if (!text) {
			g_set_error(
			    error, KDH_KERNEL_ERROR, 0,
			    "decompressing %s: not a gzip stream, or larger than %" G_GSIZE_FORMAT
			    " bytes",
			    path, CONFIG_MAX_BYTES);
			return NULL;
		}
		g_free(data);
		data = text;
		len = n;
	} else if ((len > 0x206 && memcmp(data + 0x202, "HdrS", 4) == 0) ||
	           (len > 4 && memcmp(data,
	                              "\x7f"
	                              "ELF",
	                              4) == 0)) {
		char *text = extract_ikconfig(data, len);
		if (!text) {
			g_set_error(error, KDH_KERNEL_ERROR, 0,
			            "%s is a kernel image without an embedded configuration "
			            "(CONFIG_IKCONFIG off): give its config file instead",
			            path);
			return NULL;
		}
		g_free(data);
		data = text;
		len = strlen(text);
	}
	if (strlen(data) != len || !strstr(data, "CONFIG_")) {
		g_set_error(error, KDH_KERNEL_ERROR, 0, "%s is not a kernel configuration", path);
		return NULL;
	}
	return kdh_kconfig_parse(data);
}

char *kdh_kconfig_fragment_path(const char *name, GError **error)
{
	g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *exe_dir = exe ? g_path_get_dirname(exe) : NULL;
	g_autofree char *up = exe_dir ? g_path_get_dirname(exe_dir) : NULL;
	g_autofree char *beside = up ? g_build_filename(up, "kconfigs", NULL) : NULL;
	const char *dirs[] = {g_getenv("KDH_KCONFIG_DIR"), "kconfigs", beside,
	                      "/usr/share/kdh/kconfigs"};
	g_autofree char *file = NULL;

	if (strchr(name, '/') || g_str_has_suffix(name, ".config")) {
		if (!g_file_test(name, G_FILE_TEST_IS_REGULAR)) {
			g_set_error(error, KDH_KERNEL_ERROR, 0, "kconfig fragment %s: no such file",
			            name);
			return NULL;
		}
		return g_strdup(name);
	}
	file = g_strdup_printf("%s.config", name);
	for (guint i = 0; i < G_N_ELEMENTS(dirs); i++) {
		g_autofree char *path = NULL;
		if (!dirs[i] || !*dirs[i])
			continue;
		path = g_build_filename(dirs[i], file, NULL);
		if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
			return g_canonicalize_filename(path, NULL);
	}
	g_set_error(error, KDH_KERNEL_ERROR, 0,
	            "kconfig fragment '%s': no %s in $KDH_KCONFIG_DIR, ./kconfigs, %s or "
	            "/usr/share/kdh/kconfigs",
	            name, file, beside ? beside : "<kdh>/../kconfigs");
	return NULL;
}

/* What kdump needs, in the order a reader would reason about it. */
static const KdhConfigCheck checks[] = {
    {"KEXEC|KEXEC_FILE",
     "a system call to load the capture kernel: kexec_load (`kexec -p`) or kexec_file_load "
     "(`kexec -s -p`, required under secure boot)",
     TRUE, FALSE, 0, ""},
    {"KEXEC", "kexec_load, the call `kexec -p` uses by default (the kdh mini guest does)", FALSE,
     FALSE, 0, ""},
    {"KEXEC_FILE", "kexec_file_load: kdump-tools and lockdown/secure-boot systems need it", FALSE,
     FALSE, 0, ""},
    {"CRASH_DUMP",
     "the crashkernel= reservation, the jump into the capture kernel on panic, and the capture "
     "kernel's view of the old memory",
     TRUE, FALSE, 0, ""},
    {"PROC_VMCORE", "/proc/vmcore: the capture kernel reads the crashed memory through it", TRUE,
     FALSE, 0, ""},
    {"VMCORE_INFO|CRASH_CORE",
     "VMCOREINFO in the dump (symbols, offsets, KASLR offset): makedumpfile filtering and "
     "every dump reader need it (VMCORE_INFO since 6.9, CRASH_CORE before)",
     TRUE, FALSE, 0, ""},
    {"RELOCATABLE",
     "the same kernel runs as capture kernel inside the crashkernel= reservation, not at its "
     "link address",
     TRUE, FALSE, 0, ""},
    {"PROC_KCORE",
     "`kexec -p` (kexec_load) reads /proc/kcore to find the running kernel; kexec -s does not",
     FALSE, FALSE, 0, ""},
    {"PROC_FS", "/proc/vmcore, /proc/cmdline, /proc/sysrq-trigger", TRUE, FALSE, 0, ""},
    {"SYSFS", "/sys/kernel/kexec_crash_loaded and kexec_crash_size: is the capture kernel armed",
     TRUE, FALSE, 0, ""},
    {"BLK_DEV_INITRD", "the capture kernel boots with an initramfs (kexec --initrd)", TRUE, FALSE,
     0, ""},
    {"MAGIC_SYSRQ", "the sysrq crash trigger (echo c > /proc/sysrq-trigger)", FALSE, FALSE, 0, ""},
    {"PROC_SYSCTL", "kernel.sysrq and kernel.unknown_nmi_panic (the nmi trigger)", FALSE, FALSE, 0,
     ""},
    {"RANDOMIZE_BASE", "KASLR, as distros ship it: the dump then carries KERNELOFFSET", FALSE,
     FALSE, 0, ""},
    {"KALLSYMS", "symbol names in the panic message and call traces", FALSE, FALSE, 0, ""},
    {"DEBUG_INFO", "DWARF in vmlinux, for crash(8) and gdb on the dump", FALSE, FALSE, 0, ""},
    {"VIRTIO_BLK", "the kdh guest's disk, where the dump is saved (a module is fine)", FALSE, TRUE,
     0, ""},
    {"VIRTIO_PCI", "the virtio devices of a kdh guest (a module is fine)", FALSE, TRUE, 0, ""},
    {"EXT4_FS", "the kdh guest disk's file system (a module is fine)", FALSE, TRUE, 0, ""},
    {"SERIAL_8250_CONSOLE", "console=ttyS0: kdh reads the guest's markers and panic lines there",
     FALSE, FALSE, 0, ""},
    {"LKDTM", "the lkdtm:* crash types (a module is fine)", FALSE, TRUE, 0, ""},
};

GArray *kdh_kernel_check_config(GHashTable *config, guint *missing_required)
{
	GArray *out = g_array_new(FALSE, TRUE, sizeof(KdhConfigCheck));
	guint missing = 0;

	for (guint i = 0; i < G_N_ELEMENTS(checks); i++) {
		KdhConfigCheck c = checks[i];
		g_auto(GStrv) alts = g_strsplit(c.option, "|", -1);
		c.state = KDH_OPTION_MISSING;
		for (char **a = alts; *a; a++) {
			const char *v = g_hash_table_lookup(config, *a);
			if (v && g_str_equal(v, "y")) {
				c.state = KDH_OPTION_ENABLED;
				g_strlcpy(c.present_name, *a, sizeof(c.present_name));
				break;
			}
			if (v && g_str_equal(v, "m") && c.state == KDH_OPTION_MISSING) {
				c.state = KDH_OPTION_MODULE;
				g_strlcpy(c.present_name, *a, sizeof(c.present_name));
			}
		}
		if (c.required && (c.state == KDH_OPTION_MISSING ||
		                   (c.state == KDH_OPTION_MODULE && !c.module_ok)))
			missing++;
		g_array_append_val(out, c);
	}
	if (missing_required)
		*missing_required = missing;
	return out;
}

gboolean kdh_kconfig_fragment_paths(const char *list, GPtrArray *paths, GError **error)
{
	g_auto(GStrv) names = g_strsplit(list, ",", -1);

	for (char **n = names; *n; n++) {
		char *path;
		if (!**n)
			continue;
		path = kdh_kconfig_fragment_path(*n, error);
		if (!path)
			return FALSE;
		g_ptr_array_add(paths, path);
	}
	return TRUE;
}
