/* The kernel x scenario grid of a run's cases (kdh matrix): rows and
 * columns in the order the cases first name them, one case per cell. */
#include "report/internal.h"

static guint index_of(GPtrArray *labels, const char *label)
{
	for (guint i = 0; i < labels->len; i++) {
		if (g_str_equal(g_ptr_array_index(labels, i), label))
			return i;
	}
	g_ptr_array_add(labels, g_strdup(label));
	return labels->len - 1;
}

KdhGrid *kdh_grid_new(JsonObject *doc)
{
	g_autoptr(GPtrArray) cases = kdh_doc_cases(doc);
	KdhGrid *g = g_new0(KdhGrid, 1);

	g->rows = g_ptr_array_new_with_free_func(g_free);
	g->columns = g_ptr_array_new_with_free_func(g_free);
	g->cells = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint i = 0; i < cases->len; i++) {
		JsonObject *c = g_ptr_array_index(cases, i);
		const char *kernel = kdh_doc_str(c, "matrix.kernel");
		const char *scenario = kdh_doc_str(c, "matrix.scenario");
		guint row, column;
		char *key;

		if (!kernel || !scenario)
			continue;
		row = index_of(g->rows, kernel);
		column = index_of(g->columns, scenario);
		/* The first case of a cell keeps it (a merge refuses duplicates
		 * unless told to keep the latest, which it did already). */
		key = g_strdup_printf("%u/%u", row, column);
		if (g_hash_table_contains(g->cells, key))
			g_free(key);
		else
			g_hash_table_insert(g->cells, key, c);
	}
	return g;
}

JsonObject *kdh_grid_cell(const KdhGrid *g, guint row, guint column)
{
	g_autofree char *key = g_strdup_printf("%u/%u", row, column);

	return g_hash_table_lookup(g->cells, key);
}

JsonObject *kdh_grid_row_case(const KdhGrid *g, guint row)
{
	for (guint column = 0; column < g->columns->len; column++) {
		JsonObject *c = kdh_grid_cell(g, row, column);
		if (c)
			return c;
	}
	return NULL;
}

void kdh_grid_free(KdhGrid *g)
{
	if (!g)
		return;
	g_ptr_array_unref(g->rows);
	g_ptr_array_unref(g->columns);
	g_hash_table_unref(g->cells);
	g_free(g);
}
