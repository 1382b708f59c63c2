/* kdh subcommands: one file each in harness/cli/, dispatched by main.c.
 * Each takes argv with argv[0] the subcommand's name and returns the exit
 * status: 0 success, 1 failure, 2 bad usage or input. */
#ifndef KDH_CLI_COMMANDS_H
#define KDH_CLI_COMMANDS_H

#define KDH_EXIT_USAGE 2

int kdh_cmd_run(int argc, char **argv);
int kdh_cmd_kernel(int argc, char **argv);

/* `kdh dump` and the whole of build/kdh-dump (dump_cmd.c, which needs only
 * the dump library: no glib).  Unlike the others, ARGV[0] is the dump
 * command ("info", "dmesg", "verify", "read", "vmcoreinfo").  Returns 0
 * success (verify: pass), 1 corrupt or unreadable, 2 usage, 3 (verify)
 * incomplete dump. */
int dump_cli_main(int argc, char **argv);

#endif
