/* kdh run: scenario files → cases → one result each.  Everything that can
 * be refused (a bad file, an accelerator this host lacks) is refused before
 * anything starts (session.c). */
#include "cli/commands.h"
#include "scenario/scenario.h"

#include <stdio.h>

int kdh_cmd_run(int argc, char **argv)
{
	g_auto(GStrv) files = NULL;
	GOptionEntry entries[] = {
	    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "SCENARIO..."},
	    {NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	g_auto(KdhRunnerOptions) runner = {0};
	g_auto(KdhSelectOptions) select = {0};
	g_autoptr(GPtrArray) cases = NULL, batch = NULL;
	g_autoptr(KdhSession) session = NULL;
	g_autoptr(GError) error = NULL;
	int status;

	if (!kdh_cli_parse_run("kdh run", "- run kdump scenarios", entries, &runner, &select, &argc,
	                       &argv))
		return KDH_EXIT_USAGE;
	/* Every scenario is checked before anything starts. */
	cases = kdh_cli_load_cases((const char *const *)files, &select, &error);
	if (!cases) {
		g_printerr("kdh: %s\n", error->message);
		return KDH_EXIT_USAGE;
	}
	if (!(session = kdh_session_new("kdh run", &runner, cases, &status)))
		return status;
	if (cases->len && (status = kdh_session_run(session, cases, &batch)) != KDH_EXIT_OK)
		return status;
	return kdh_session_finish(session, &select);
}
