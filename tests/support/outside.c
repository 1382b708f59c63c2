/* What a run left on the host, seen from outside kdh (support.h): /proc and
 * libvirt's own domain list, never kdh's bookkeeping. */
#include "support.h"
#include "util/util.h"

#include <check.h>
#include <string.h>

GPid kdh_test_process_with(const char *needle)
{
	g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
	const char *name;

	while (proc && (name = g_dir_read_name(proc))) {
		g_autofree char *path = g_build_filename("/proc", name, "cmdline", NULL);
		g_autofree char *cmdline = NULL;
		guint64 pid;
		gsize len;

		if (!g_ascii_string_to_unsigned(name, 10, 1, G_MAXINT, &pid, NULL) ||
		    !g_file_get_contents(path, &cmdline, &len, NULL))
			continue;
		for (gsize i = 0; i + 1 < len; i++) {
			if (cmdline[i] == '\0')
				cmdline[i] = ' ';
		}
		if (strstr(cmdline, needle))
			return (GPid)pid;
	}
	return 0;
}

GPid kdh_test_qemu_of(GPid kdh_pid)
{
	g_autofree char *needle = g_strdup_printf("guest=kdh-%d-", (int)kdh_pid);
	return kdh_test_process_with(needle);
}

char *kdh_test_domains(void)
{
	const char *argv[] = {"virsh", "-c", "qemu:///system", "list", "--all", "--name", NULL};
	char *out = NULL;

	ck_assert_msg(kdh_run(argv, NULL, &out, NULL), "virsh list failed");
	return g_strstrip(out);
}

guint kdh_test_domains_of(GPid kdh_pid)
{
	g_autofree char *list = kdh_test_domains();
	g_autofree char *prefix = g_strdup_printf("kdh-%d-", (int)kdh_pid);
	guint n = 0;

	for (const char *at = list; (at = strstr(at, prefix)); at += strlen(prefix))
		n++;
	return n;
}

void kdh_test_assert_nothing_left(GPid kdh_pid)
{
	g_autofree char *left = kdh_test_domains();

	ck_assert_msg(kdh_test_domains_of(kdh_pid) == 0, "domains left behind: %s", left);
	ck_assert_msg(!kdh_test_qemu_of(kdh_pid), "a qemu process of kdh %d still runs",
	              (int)kdh_pid);
}
