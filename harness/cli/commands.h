/* kdh subcommands: one file each in harness/cli/, dispatched by main.c's
 * table.  Each takes argv with argv[0] the subcommand's name and returns
 * the exit status DESIGN.md gives every command. */
#ifndef KDH_CLI_COMMANDS_H
#define KDH_CLI_COMMANDS_H

#define KDH_EXIT_OK   0 /* everything passed (or was skipped) */
#define KDH_EXIT_FAIL 1 /* a FAIL: the kernel's or the setup's fault */
#define KDH_EXIT_USAGE                                                                             \
	2 /* bad usage or input, or a request this host cannot honour: nothing started */
#define KDH_EXIT_ERROR 3 /* no FAIL, but an ERROR or TIMEOUT: the harness's or the host's */
/* Interrupted: 128 + the signal (130 SIGINT, 143 SIGTERM). */

int kdh_cmd_run(int argc, char **argv);
int kdh_cmd_kernel(int argc, char **argv);
int kdh_cmd_report(int argc, char **argv);

/* `kdh dump` and the whole of build/kdh-dump (dump_cmd.c, which needs only
 * the dump library: no glib).  Unlike the others, ARGV[0] is the dump
 * command ("info", "dmesg", "verify", "read", "vmcoreinfo").  Returns 0
 * success (verify: pass), 1 corrupt or unreadable, 2 usage, 3 (verify)
 * incomplete dump. */
int dump_cli_main(int argc, char **argv);

#endif
