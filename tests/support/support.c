/* Helpers shared by the test suites. */
#include "support.h"

#include <check.h>
#include <sys/wait.h>

int kdh_test_run(const char *const *args, GPid *pid)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	GPid child;
	int status = -1;

	const char *bin = g_getenv("KDH_BIN");

	g_ptr_array_add(argv, (gpointer)(bin && *bin ? bin : "build/kdh"));
	for (const char *const *a = args; *a; a++)
		g_ptr_array_add(argv, (gpointer)*a);
	g_ptr_array_add(argv, NULL);
	ck_assert_msg(g_spawn_async(NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
	                            NULL, NULL, &child, &error),
	              "%s", error ? error->message : "");
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	if (pid)
		*pid = child;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
