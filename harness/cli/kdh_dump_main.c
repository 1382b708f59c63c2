/* kdh-dump: the dump reader alone, linked only with the compression
 * libraries so it starts in about a millisecond (see DESIGN.md). */
#include "cli/commands.h"

int main(int argc, char **argv)
{
	/* dump_cli_main prints the usage when no subcommand is given */
	return dump_cli_main(argc - 1, argv + 1);
}
