/* sizing.svg: RAM (x) against the smallest working crashkernel= (y), the
 * measured points joined, each distribution default drawn as the steps its
 * ranges make.  Drawn with cairo's SVG surface: cairo writes the file. */
#include "sizing/sizing.h"

#include <cairo-svg.h>
#include <math.h>

#define W      800.0
#define H      460.0
#define LEFT   70.0
#define RIGHT  270.0 /* room for the legend */
#define TOP    40.0
#define BOTTOM 60.0

typedef struct {
	cairo_t *cr;
	double xmax, ymax; /* MiB */
} Plot;

static double px(const Plot *p, double mib)
{
	return LEFT + (W - LEFT - RIGHT) * mib / p->xmax;
}

static double py(const Plot *p, double mib)
{
	return H - BOTTOM - (H - TOP - BOTTOM) * mib / p->ymax;
}

static void text_at(cairo_t *cr, double x, double y, const char *s, double align)
{
	cairo_text_extents_t e;

	cairo_text_extents(cr, s, &e);
	cairo_move_to(cr, x - e.width * align, y);
	cairo_show_text(cr, s);
}

/* A round tick distance for a range of MAX. */
static double tick(double max)
{
	double raw = max / 6, p = pow(10, floor(log10(raw)));

	return raw <= p ? p : raw <= 2 * p ? 2 * p : raw <= 5 * p ? 5 * p : 10 * p;
}

static void axes(const Plot *p)
{
	cairo_t *cr = p->cr;
	double tx = tick(p->xmax), ty = tick(p->ymax);

	cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
	cairo_set_line_width(cr, 1);
	cairo_move_to(cr, LEFT, TOP);
	cairo_line_to(cr, LEFT, H - BOTTOM);
	cairo_line_to(cr, W - RIGHT, H - BOTTOM);
	cairo_stroke(cr);
	cairo_set_font_size(cr, 11);
	for (guint i = 0; i * tx <= p->xmax + 0.5; i++) {
		double x = i * tx;
		g_autofree char *label = g_strdup_printf("%.0f", x);
		cairo_move_to(cr, px(p, x), H - BOTTOM);
		cairo_line_to(cr, px(p, x), H - BOTTOM + 4);
		cairo_stroke(cr);
		text_at(cr, px(p, x), H - BOTTOM + 17, label, 0.5);
	}
	for (guint i = 0; i * ty <= p->ymax + 0.5; i++) {
		double y = i * ty;
		g_autofree char *label = g_strdup_printf("%.0f", y);
		cairo_move_to(cr, LEFT - 4, py(p, y));
		cairo_line_to(cr, LEFT, py(p, y));
		cairo_stroke(cr);
		text_at(cr, LEFT - 7, py(p, y) + 4, label, 1);
	}
	cairo_set_font_size(cr, 12);
	text_at(cr, (LEFT + W - RIGHT) / 2, H - 18, "guest RAM (MiB)", 0.5);
	cairo_save(cr);
	cairo_move_to(cr, 20, (TOP + H - BOTTOM) / 2 + 90);
	cairo_rotate(cr, -G_PI / 2);
	cairo_show_text(cr, "crashkernel= (MiB)");
	cairo_restore(cr);
}

static const double colours[][3] = {
    {0.85, 0.37, 0.01}, {0.46, 0.44, 0.70}, {0.91, 0.16, 0.54},
    {0.40, 0.65, 0.12}, {0.90, 0.67, 0.01}, {0.65, 0.46, 0.11},
};

static void legend(const Plot *p, guint i, const char *name, const double rgb[3], gboolean dashed)
{
	cairo_t *cr = p->cr;
	double y = TOP + 8 + 18 * i, x = W - RIGHT + 14;

	cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
	cairo_set_line_width(cr, 2);
	cairo_set_dash(cr, (double[]){5, 3}, dashed ? 2 : 0, 0);
	cairo_move_to(cr, x, y - 4);
	cairo_line_to(cr, x + 22, y - 4);
	cairo_stroke(cr);
	cairo_set_dash(cr, NULL, 0, 0);
	cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
	cairo_set_font_size(cr, 10);
	text_at(cr, x + 28, y, name, 0);
}

/* A default's reservation from RAM 0 to the plot's edge, as steps. */
static void steps(const Plot *p, const char *expr)
{
	cairo_t *cr = p->cr;
	double prev = -1;

	for (guint i = 0; i * 16.0 <= p->xmax; i++) {
		double mib = i * 16.0;
		guint64 size = 0;
		double y;
		if (!kdh_crashkernel_eval(expr, (guint64)mib * KDH_MIB, &size))
			return;
		y = MIN((double)size / KDH_MIB, p->ymax);
		if (prev < 0)
			cairo_move_to(cr, px(p, mib), py(p, y));
		else if (y != prev)
			cairo_line_to(cr, px(p, mib), py(p, prev));
		cairo_line_to(cr, px(p, mib), py(p, y));
		prev = y;
	}
	cairo_stroke(cr);
}

gboolean kdh_sizing_chart(const KdhSizingReport *report, const char *path, GError **error)
{
	cairo_surface_t *surface = cairo_svg_surface_create(path, W, H);
	cairo_status_t status;
	Plot p = {0};
	gsize n;
	const KdhSizingDefault *defaults = kdh_sizing_defaults(&n);
	gboolean first = TRUE;
	guint drawn = 0;

	p.cr = cairo_create(surface);
	for (guint i = 0; i < report->rows->len; i++) {
		const KdhSizingRow *row = g_ptr_array_index(report->rows, i);
		p.xmax = MAX(p.xmax, (double)row->search.ram / KDH_MIB);
		p.ymax = MAX(p.ymax, (double)row->search.pass / KDH_MIB);
	}
	p.xmax = MAX(p.xmax * 1.1, 512);
	p.ymax = MAX(MAX(p.ymax, (double)report->high / KDH_MIB), 256) * 1.15;
	cairo_set_source_rgb(p.cr, 1, 1, 1);
	cairo_paint(p.cr);
	cairo_set_font_size(p.cr, 14);
	cairo_set_source_rgb(p.cr, 0, 0, 0);
	text_at(p.cr, LEFT, 24, "kdh sizing: the smallest crashkernel= that captured a dump", 0);
	axes(&p);
	for (gsize d = 0; d < n; d++) {
		cairo_set_source_rgb(p.cr, colours[d % 6][0], colours[d % 6][1], colours[d % 6][2]);
		cairo_set_line_width(p.cr, 1.5);
		cairo_set_dash(p.cr, (double[]){5, 3}, 2, 0);
		steps(&p, defaults[d].expr);
		cairo_set_dash(p.cr, NULL, 0, 0);
		legend(&p, drawn++, defaults[d].name, colours[d % 6], TRUE);
	}
	/* The measurement last, on top. */
	cairo_set_source_rgb(p.cr, 0.1, 0.3, 0.8);
	cairo_set_line_width(p.cr, 2.5);
	for (guint i = 0; i < report->rows->len; i++) {
		const KdhSizingSearch *s =
		    &((KdhSizingRow *)g_ptr_array_index(report->rows, i))->search;
		double x, y;
		if (s->state != KDH_SEARCH_ANSWERED && s->state != KDH_SEARCH_LOW_PASSES)
			continue;
		x = px(&p, (double)s->ram / KDH_MIB);
		y = py(&p, (double)s->pass / KDH_MIB);
		if (first)
			cairo_move_to(p.cr, x, y);
		else
			cairo_line_to(p.cr, x, y);
		first = FALSE;
	}
	cairo_stroke(p.cr);
	for (guint i = 0; i < report->rows->len; i++) {
		const KdhSizingSearch *s =
		    &((KdhSizingRow *)g_ptr_array_index(report->rows, i))->search;
		if (s->state != KDH_SEARCH_ANSWERED && s->state != KDH_SEARCH_LOW_PASSES)
			continue;
		cairo_arc(p.cr, px(&p, (double)s->ram / KDH_MIB), py(&p, (double)s->pass / KDH_MIB),
		          4, 0, 2 * G_PI);
		cairo_fill(p.cr);
	}
	legend(&p, drawn, "measured by kdh (smallest working)", (const double[]){0.1, 0.3, 0.8},
	       FALSE);
	cairo_destroy(p.cr);
	cairo_surface_finish(surface);
	status = cairo_surface_status(surface);
	cairo_surface_destroy(surface);
	if (status != CAIRO_STATUS_SUCCESS) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: cairo: %s", path,
		            cairo_status_to_string(status));
		return FALSE;
	}
	return TRUE;
}
