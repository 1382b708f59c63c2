/* kdh: the command line.  A table of subcommands, git-style: each row is
 * the name, the function, what follows the name, and one line of help;
 * `kdh --help` prints the whole table. */
#include "cli/commands.h"
#include "dump/dump.h"
#include "report/report.h"
#include "util/util.h"

#include <glib.h>
#include <stdio.h>

typedef struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args; /* what follows the name */
	const char *help; /* one line */
} KdhCommand;

static int cmd_dump(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const KdhCommand commands[] = {
    {"run", kdh_cmd_run, "[OPTION...] SCENARIO...",
     "run scenario files: boot, crash, capture, verify"},
    {"matrix", kdh_cmd_matrix, "[OPTION...] [--resume DIR] MATRIX-FILE",
     "every scenario of a matrix file on each of its kernels: a kernel x scenario report"},
    {"sizing", kdh_cmd_sizing, "--memory LIST [OPTION...] [SCENARIO]",
     "the smallest crashkernel= that really works, per RAM size, against the defaults"},
    {"list", kdh_cmd_list,
     "[--filter GLOB] [--shard I/N] [--timeout-scale X] [--json] SCENARIO... | --matrix "
     "MATRIX-FILE | --triggers [--json]",
     "the cases scenario files expand to, without starting anything"},
    {"dump", cmd_dump, "info|dmesg|verify|read|vmcoreinfo FILE...",
     "read a dump with kdh's own reader (also build/kdh-dump)"},
    {"kernel", kdh_cmd_kernel, "fetch|import|build|check-config|list ...",
     "kernels: Debian's, imported, built from source; the cache"},
    {"image", kdh_cmd_image, "build debian [--kernel REF] | list",
     "guest images: the Debian 12 disk image for a kernel; the cache"},
    {"reproduce", kdh_cmd_reproduce,
     "[--kernel REF] [--image KIND] [--out FILE] [--size] [OPTION...] FIELD",
     "reproduce a field crash (console log, dmesg or vmcore) and compare"},
    {"report", kdh_cmd_report, "merge DIR... --out DIR [--latest]",
     "merge results folders (CI shards, runs) into one set of reports"},
    {"help", cmd_help, "[COMMAND]", "this list, or COMMAND's own help"},
};

static int cmd_dump(int argc, char **argv)
{
	return dump_cli_main(argc - 1, argv + 1);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: kdh COMMAND [ARGS]\n       kdh --version\n\ncommands:\n");
	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(out, "  kdh %s %s\n      %s\n", commands[i].name, commands[i].args,
		        commands[i].help);
	fprintf(out, "\n`kdh COMMAND --help` shows a command's options.\n"
	             "exit status: 0 passed, 1 a FAIL, 2 bad usage or input (nothing started),\n"
	             "3 an ERROR or TIMEOUT (no FAIL), 128+N interrupted by signal N.\n");
}

static const KdhCommand *find_command(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
		if (g_str_equal(name, commands[i].name))
			return &commands[i];
	}
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	const KdhCommand *cmd;

	if (argc < 2) {
		usage(stdout);
		return KDH_EXIT_OK;
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		g_autofree char *shown = g_strescape(argv[1], NULL);
		fprintf(stderr, "kdh help: no command '%s'\n\n", shown);
		usage(stderr);
		return KDH_EXIT_USAGE;
	}
	if (cmd->fn == cmd_help) {
		usage(stdout);
		return KDH_EXIT_OK;
	}
	char *help_argv[] = {(char *)cmd->name, "--help", NULL};
	return cmd->fn(2, help_argv);
}

/* The cache's notices (an entry found damaged and made again, one adopted
 * without a manifest) go to the run's output, as its other progress. */
static void cache_notice(const char *message, gpointer data)
{
	(void)data;
	g_print("kdh: %s\n", message);
}

int main(int argc, char **argv)
{
	const KdhCommand *cmd;

	kdh_cache_set_notice(cache_notice, NULL);

	if (argc < 2) {
		usage(stderr);
		return KDH_EXIT_USAGE;
	}
	if (g_str_equal(argv[1], "-h") || g_str_equal(argv[1], "--help")) {
		usage(stdout);
		return KDH_EXIT_OK;
	}
	if (g_str_equal(argv[1], "--version")) {
		printf("kdh %s\n", kdh_version());
		return KDH_EXIT_OK;
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		g_autofree char *shown = g_strescape(argv[1], NULL);
		fprintf(stderr, "kdh: unknown command '%s'\n\n", shown);
		usage(stderr);
		return KDH_EXIT_USAGE;
	}
	return cmd->fn(argc - 1, argv + 1);
}
