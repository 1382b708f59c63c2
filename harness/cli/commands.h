/* kdh subcommands: one file each in harness/cli/, dispatched by main.c's
 * table.  Each takes argv with argv[0] the subcommand's name and returns
 * the exit status DESIGN.md gives every command. */
#ifndef KDH_CLI_COMMANDS_H
#define KDH_CLI_COMMANDS_H

#include <glib.h>

#define KDH_EXIT_OK   0 /* everything passed (or was skipped) */
#define KDH_EXIT_FAIL 1 /* a FAIL: the kernel's or the setup's fault */
#define KDH_EXIT_USAGE                                                                             \
	2 /* bad usage or input, or a request this host cannot honour: nothing started */
#define KDH_EXIT_ERROR 3 /* no FAIL, but an ERROR or TIMEOUT: the harness's or the host's */
/* Interrupted: 128 + the signal (130 SIGINT, 143 SIGTERM). */

int kdh_cmd_run(int argc, char **argv);
int kdh_cmd_list(int argc, char **argv);
int kdh_cmd_kernel(int argc, char **argv);
int kdh_cmd_report(int argc, char **argv);
int kdh_cmd_image(int argc, char **argv);

/* ---- shared by commands (select.c) ---- */

/* Parses ARGV with ENTRIES under the name "kdh COMMAND SUB" (ARGS and
 * SUMMARY for --help); FALSE on a usage error, already printed. */
gboolean kdh_cli_parse(const char *command, const char *sub, const char *args, const char *summary,
                       GOptionEntry *entries, int *argc, char ***argv);

/* images/ of the source tree this binary was built in (build/kdh ->
 * ../images), or ./images when there is one.  Caller frees. */
char *kdh_cli_images_dir(void);

/* ---- options shared by commands that take scenario files (select.c) ---- */

/* What --filter, --shard and --timeout-scale were given as (NULL: not
 * given); parsed and checked by kdh_cli_load_cases. */
typedef struct {
	char *filter;        /* --filter GLOB */
	char *shard;         /* --shard I/N */
	char *timeout_scale; /* --timeout-scale X */
} KdhSelectOptions;

/* The GOptionEntry rows of those options, writing into O (which must
 * outlive the parse), ending with the NULL row: for
 * g_option_context_add_main_entries, which copies them.  Free with g_free;
 * the strings parsed into O with kdh_select_options_clear. */
GOptionEntry *kdh_select_option_entries(KdhSelectOptions *o);

/* Frees the strings in O and sets them to NULL. */
void kdh_select_options_clear(KdhSelectOptions *o);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(KdhSelectOptions, kdh_select_options_clear)

/* Checks O's options, loads every scenario file of FILES (NULL-terminated;
 * kdh_scenario_load_all: each file checked, names unique across files),
 * keeps the cases --filter and --shard select (order kept) and scales
 * their timeouts by --timeout-scale.  Returns the cases (GPtrArray of
 * KdhCase, owning them), or NULL with an error that is a usage error (exit
 * KDH_EXIT_USAGE, nothing started): a bad option, no file, a bad file, or
 * a --filter that matches no case.  A shard that holds no case is no
 * error (another job of the matrix has them): an empty array, and a note
 * on standard error saying so. */
GPtrArray *kdh_cli_load_cases(const char *const *files, const KdhSelectOptions *o, GError **error);

/* `kdh dump` and the whole of build/kdh-dump (dump_cmd.c, which needs only
 * the dump library: no glib).  Unlike the others, ARGV[0] is the dump
 * command ("info", "dmesg", "verify", "read", "vmcoreinfo").  Returns 0
 * success (verify: pass), 1 corrupt or unreadable, 2 usage, 3 (verify)
 * incomplete dump. */
int dump_cli_main(int argc, char **argv);

#endif
