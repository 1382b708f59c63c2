/* Headless Chromium reading a rendered report.html (see browser.h). */
#include "browser.h"

#include <check.h>
#include <glib/gstdio.h>
#include <string.h>

#include "report_sample.h"
#include "util/util.h"

#include <libxml/HTMLparser.h>

/* The probe: a frame of the report and a script that reads it once loaded.
 * Chromium lets a file: page read another only with
 * --allow-file-access-from-files. */
static const char probe_head[] =
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>"
    "<pre id=\"kdh-probe\">pending</pre><iframe id=\"kdh-frame\" src=\"";
static const char probe_tail[] =
    "\"></iframe><script>\n"
    "function rows(d, sel) { return Array.from(d.querySelectorAll(sel + ' tbody tr')); }\n"
    "function cell(td) { return {verdict: td.getAttribute('data-verdict'),\n"
    "  text: td.innerText, background: getComputedStyle(td).backgroundColor,\n"
    "  links: Array.from(td.querySelectorAll('a')).map(a => a.getAttribute('href'))}; }\n"
    "document.getElementById('kdh-frame').onload = function () {\n"
    "  var out = document.getElementById('kdh-probe');\n"
    "  try {\n"
    "    var d = this.contentDocument;\n"
    "    out.textContent = JSON.stringify({title: d.title,\n"
    "      active: d.querySelectorAll('script,img,iframe,object,embed,link,form').length,\n"
    "      matrix: rows(d, '#matrix').map(tr => ({kernel: tr.querySelector('th').firstChild"
    ".textContent,\n"
    "        cells: Array.from(tr.querySelectorAll('td')).map(cell)})),\n"
    "      cases: rows(d, '#cases').map(tr => { var td = tr.querySelectorAll('td');\n"
    "        return {case: td[0].innerText, verdict: td[1].getAttribute('data-verdict'),\n"
    "          background: getComputedStyle(td[1]).backgroundColor,\n"
    "          reason: td[5].innerText}; })});\n"
    "  } catch (e) { out.textContent = 'error: ' + e; }\n"
    "};\n</script></body></html>\n";

const char *kdh_test_verdict_colour(const char *verdict)
{
	static const char *const colours[][2] = {
	    {"PASS", "rgb(200, 230, 201)"},    {"FAIL", "rgb(255, 205, 210)"},
	    {"ERROR", "rgb(255, 224, 178)"},   {"SKIP", "rgb(224, 224, 224)"},
	    {"TIMEOUT", "rgb(225, 190, 231)"}, {"NOT-RUN", "rgb(245, 245, 245)"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(colours); i++) {
		if (g_str_equal(verdict, colours[i][0]))
			return colours[i][1];
	}
	return "rgb(255, 255, 255)";
}

JsonObject *kdh_test_browser_render(const char *report_html, JsonParser *parser)
{
	g_autofree char *dir = g_dir_make_tmp("kdh-browser-XXXXXX", NULL);
	g_autofree char *probe = NULL, *page = NULL, *url = NULL, *report_url = NULL;
	g_autofree char *out = NULL, *err = NULL, *json = NULL, *profile = NULL;
	g_autofree char *chromium = g_find_program_in_path("chromium");
	g_autoptr(GError) error = NULL;
	htmlDocPtr doc;
	int status = -1;

	ck_assert_ptr_nonnull(dir);
	ck_assert_msg(chromium, "chromium is not installed (ci/setup-host.sh installs it)");
	report_url = g_filename_to_uri(report_html, NULL, &error);
	ck_assert_msg(report_url, "%s", error ? error->message : "");
	page = g_strconcat(probe_head, report_url, probe_tail, NULL);
	probe = g_build_filename(dir, "probe.html", NULL);
	profile = g_build_filename(dir, "profile", NULL);
	ck_assert(g_file_set_contents(probe, page, -1, NULL));
	url = g_filename_to_uri(probe, NULL, NULL);
	{
		g_autofree char *user_dir = g_strdup_printf("--user-data-dir=%s", profile);
		const char *argv[] = {"timeout",
		                      "120",
		                      "chromium",
		                      "--headless=new",
		                      "--no-sandbox", /* root in CI: the sandbox refuses it */
		                      "--disable-gpu",
		                      "--allow-file-access-from-files",
		                      "--virtual-time-budget=10000",
		                      user_dir,
		                      "--dump-dom",
		                      url,
		                      NULL};
		ck_assert_msg(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
		                           NULL, &out, &err, &status, &error),
		              "%s", error ? error->message : "");
	}
	ck_assert_msg(g_spawn_check_wait_status(status, NULL), "chromium failed: %s", err);
	kdh_rm_rf(dir);
	/* The probe's <pre> holds the JSON as text: libxml2's HTML parser
	 * undoes the DOM dump's escaping. */
	doc = htmlReadMemory(out, (int)strlen(out), "dom.html", "UTF-8",
	                     HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
	ck_assert_msg(doc, "chromium printed no HTML: %.300s", out);
	json = kdh_test_xpath_string(doc, "string(//pre[@id='kdh-probe'])");
	xmlFreeDoc(doc);
	ck_assert_msg(json_parser_load_from_data(parser, json, -1, &error), "probe said: %.300s",
	              json);
	ck_assert(JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)));
	return json_node_get_object(json_parser_get_root(parser));
}
