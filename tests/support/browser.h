/* report.html as a browser renders it: headless Chromium (Debian's
 * chromium) loads the page in a frame of a probe page whose script reads
 * the rendered tables (text, computed colours, links) and the elements the
 * page holds, and writes them as JSON into the probe's DOM, which Chromium
 * prints.  Not a suite itself. */
#ifndef KDH_TEST_BROWSER_H
#define KDH_TEST_BROWSER_H

#include <json-glib/json-glib.h>

/* What Chromium rendered of the report REPORT_HTML (an absolute path), read
 * by PARSER (which owns the object):
 *   {"title": the page's title,
 *    "active": how many script, img, iframe, object, embed, link and form
 *              elements the page holds (kdh writes none),
 *    "matrix": [{"kernel": text, "cells": [{"verdict", "text", "background",
 *                "links": [href...]}]}],
 *    "cases":  [{"case": text, "verdict", "background", "reason": text}]}
 * The test fails when chromium is missing, fails, or the probe read nothing. */
JsonObject *kdh_test_browser_render(const char *report_html, JsonParser *parser);

/* The background colour a rendered cell of VERDICT has ("rgb(r, g, b)"),
 * the page's style: what the probe compares. */
const char *kdh_test_verdict_colour(const char *verdict);

#endif
