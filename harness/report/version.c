/* kdh's version and the time stamps results carry.  version.h is made by
 * the Makefile from `git describe` and rewritten only when it changes, so
 * only this file is rebuilt when HEAD moves. */
#include "report/internal.h"
#include "version.h"

const char *kdh_version(void)
{
	return KDH_VERSION;
}

char *kdh_report_timestamp(GDateTime *t)
{
	g_autoptr(GDateTime) utc = g_date_time_to_utc(t);
	g_autofree char *stamp = g_date_time_format(utc, "%Y-%m-%dT%H:%M:%S");

	return g_strdup_printf("%s.%03dZ", stamp, g_date_time_get_microsecond(utc) / 1000);
}

char *kdh_timestamp_now(void)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();

	return kdh_report_timestamp(now);
}
