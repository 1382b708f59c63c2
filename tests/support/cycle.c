/* Playing whole cases without VMs (cycle.h). */
#include "cycle.h"
#include "util/util.h"

#include <check.h>
#include <string.h>

char *kdh_cycle_tmp;
volatile sig_atomic_t kdh_cycle_cancel;

void kdh_cycle_setup(void)
{
	kdh_cycle_tmp = g_dir_make_tmp("kdh-cycle-XXXXXX", NULL);
	ck_assert_ptr_nonnull(kdh_cycle_tmp);
	kdh_cycle_cancel = 0;
	kdh_fake_ops_reset();
}

void kdh_cycle_teardown(void)
{
	kdh_rm_rf(kdh_cycle_tmp);
	g_free(kdh_cycle_tmp);
}

/* ---- playing a case ---- */

void played_clear(Played *p)
{
	kdh_result_free(p->r);
	g_clear_object(&p->parser);
	g_free(p->serial);
}

/* Runs the first case of scenario TEXT (SCENARIO plus EXTRA groups) with
 * the console SCRIPT and host steps OPS; verdict.json must parse. */
Played play(const char *extra, const KdhFakeLine *script, gsize n, const KdhRunOps *ops)
{
	/* EXTRA starting with a blank line is a whole scenario of its own. */
	g_autofree char *text = extra && extra[0] == '\n'
	                            ? g_strdup(extra)
	                            : g_strconcat(SCENARIO, extra ? extra : "", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) cases = kdh_scenario_load_data("t.ini", text, &error);
	g_autofree char *run_dir = g_build_filename(kdh_cycle_tmp, "run", NULL);
	g_autofree char *json_path = NULL, *serial_path = NULL;
	Played p = {0};

	ck_assert_msg(cases, "%s", error ? error->message : "");
	kdh_fake_vm_script(script, n);
	KdhRunContext ctx = {
	    .cache_dir = kdh_cycle_tmp,
	    .images_dir = kdh_cycle_tmp,
	    .run_dir = run_dir,
	    .backend = &kdh_fake_vm,
	    .ops = ops,
	    .accel = KDH_ACCEL_TCG,
	    .cancelled = &kdh_cycle_cancel,
	};
	p.r = kdh_run_case(&ctx, g_ptr_array_index(cases, 0));
	json_path = g_build_filename(p.r->results_dir, "verdict.json", NULL);
	serial_path = g_build_filename(p.r->results_dir, "serial.log", NULL);
	p.parser = json_parser_new();
	ck_assert_msg(json_parser_load_from_file(p.parser, json_path, &error), "%s: %s", json_path,
	              error ? error->message : "");
	p.json = json_node_get_object(json_parser_get_root(p.parser));
	ck_assert_str_eq(json_object_get_string_member(p.json, "verdict"),
	                 kdh_verdict_name(p.r->verdict));
	g_file_get_contents(serial_path, &p.serial, NULL, NULL);
	ck_assert_uint_eq(kdh_fake_vm_log()->destroys, kdh_fake_vm_log()->starts);
	return p;
}

void assert_phases(const Played *p, const char *want)
{
	g_autoptr(GString) got = g_string_new(NULL);

	for (guint i = 0; i < p->r->phases->len; i++) {
		const KdhPhase *ph = g_ptr_array_index(p->r->phases, i);
		g_string_append_printf(got, "%s%s", i ? " " : "", ph->name);
	}
	ck_assert_str_eq(got->str, want);
}

/* A sysrq cycle as the mini guest prints it. */
