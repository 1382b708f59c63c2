/* The one host command runner: argument vectors, never a shell string. */
#include "util/util.h"

#include <gio/gio.h>
#include <string.h>

/* How many lines of a failed command's output its error quotes. */
#define TAIL_LINES 5

/* The last N lines of TEXT (trailing blank lines ignored). */
static char *tail_lines(const char *text, guint n)
{
	g_autofree char *copy = g_strstrip(g_strdup(text ? text : ""));
	const char *p = copy + strlen(copy);

	while (p > copy && n > 0) {
		p--;
		if (*p == '\n')
			n--;
	}
	if (*p == '\n')
		p++;
	return g_strdup(p);
}

/* ARGV as a user could paste it into a shell, for messages. */
static char *command_line(const char *const *argv)
{
	GString *s = g_string_new(NULL);

	for (const char *const *a = argv; *a; a++) {
		gboolean plain = **a != '\0';
		for (const char *p = *a; *p && plain; p++)
			plain = g_ascii_isalnum(*p) || strchr("-_./=:,+@%", *p);
		if (a != argv)
			g_string_append_c(s, ' ');
		if (plain) {
			g_string_append(s, *a);
		} else {
			g_autofree char *q = g_shell_quote(*a);
			g_string_append(s, q);
		}
	}
	return g_string_free(s, FALSE);
}

/* Reads PROC's output line by line (stderr merged into it), handing each to
 * OPTS->line; keeps the whole text in *TEXT when asked, else only the last
 * lines (for the error). */
static gboolean read_lines(GSubprocess *proc, const KdhRunOptions *opts, char **text, char **tail,
                           GError **error)
{
	g_autoptr(GDataInputStream) in =
	    g_data_input_stream_new(g_subprocess_get_stdout_pipe(proc));
	g_autoptr(GString) all = text ? g_string_new(NULL) : NULL;
	GQueue last = G_QUEUE_INIT;
	GString *joined = g_string_new(NULL);
	char *line;
	gsize len;
	GError *local = NULL;

	/* No line-length bound here: the reader is our own subprocess (make,
	 * a compiler), and GDataInputStream grows as needed. */
	while ((line = g_data_input_stream_read_line(in, &len, NULL, &local))) {
		if (!g_utf8_validate(line, len, NULL)) {
			char *valid = g_utf8_make_valid(line, len);
			g_free(line);
			line = valid;
		}
		opts->line(line, opts->line_data);
		if (all)
			g_string_append_printf(all, "%s\n", line);
		g_queue_push_tail(&last, line);
		if (last.length > TAIL_LINES)
			g_free(g_queue_pop_head(&last));
	}
	for (GList *l = last.head; l; l = l->next)
		g_string_append_printf(joined, "%s\n", (char *)l->data);
	g_queue_clear_full(&last, g_free);
	*tail = g_string_free(joined, FALSE);
	if (local) {
		g_propagate_error(error, local);
		return FALSE;
	}
	if (text)
		*text = g_string_free(g_steal_pointer(&all), FALSE);
	return TRUE;
}

/* ARGV0 as the program to start: looked up in PATH, then in /usr/sbin and
 * /sbin, which an ordinary user's PATH lacks although tools kdh needs live
 * there (depmod) and work for anyone.  NULL when found nowhere. */
static char *find_program(const char *argv0)
{
	static const char *const sbins[] = {"/usr/sbin", "/sbin"};
	char *found;

	if (strchr(argv0, '/'))
		return g_strdup(argv0);
	found = g_find_program_in_path(argv0);
	for (guint i = 0; !found && i < G_N_ELEMENTS(sbins); i++) {
		g_autofree char *path = g_build_filename(sbins[i], argv0, NULL);
		if (g_file_test(path, G_FILE_TEST_IS_EXECUTABLE) &&
		    !g_file_test(path, G_FILE_TEST_IS_DIR))
			found = g_steal_pointer(&path);
	}
	return found;
}

gboolean kdh_run_full(const char *const *argv, const KdhRunOptions *opts, char **stdout_text,
                      int *status, GError **error)
{
	static const KdhRunOptions none = {0};
	GSubprocessFlags flags = G_SUBPROCESS_FLAGS_STDOUT_PIPE;
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GBytes) out = NULL, err = NULL;
	g_autofree char *cmd = command_line(argv);
	g_autofree char *text = NULL, *why = NULL, *program = NULL;
	g_autoptr(GPtrArray) resolved = NULL;
	gboolean merge;
	int st;

	if (!opts)
		opts = &none;
	/* A line reader and a writer on stdin at once could deadlock: one
	 * direction at a time. */
	g_return_val_if_fail(!(opts->line && opts->stdin_data), FALSE);
	merge = opts->merge_stderr || opts->line;
	flags |= merge ? G_SUBPROCESS_FLAGS_STDERR_MERGE : G_SUBPROCESS_FLAGS_STDERR_PIPE;
	if (opts->stdin_data)
		flags |= G_SUBPROCESS_FLAGS_STDIN_PIPE;
	launcher = g_subprocess_launcher_new(flags);
	if (!opts->stdin_data)
		g_subprocess_launcher_set_stdin_file_path(launcher, "/dev/null");
	if (opts->cwd)
		g_subprocess_launcher_set_cwd(launcher, opts->cwd);
	/* Messages we parse and quote are the untranslated ones. */
	g_subprocess_launcher_setenv(launcher, "LC_ALL", "C", TRUE);
	for (const char *const *e = opts->env; e && e[0] && e[1]; e += 2)
		g_subprocess_launcher_setenv(launcher, e[0], e[1], TRUE);
	program = find_program(argv[0]);
	if (!program) {
		g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_COMMAND,
		            "running %s: no such program in PATH, /usr/sbin or /sbin", argv[0]);
		return FALSE;
	}
	resolved = g_ptr_array_new();
	g_ptr_array_add(resolved, program);
	for (const char *const *a = argv + 1; *a; a++)
		g_ptr_array_add(resolved, (gpointer)*a);
	g_ptr_array_add(resolved, NULL);
	proc = g_subprocess_launcher_spawnv(launcher, (const char *const *)resolved->pdata, error);
	if (!proc) {
		g_prefix_error(error, "running %s: ", argv[0]);
		return FALSE;
	}
	if (opts->line) {
		if (!read_lines(proc, opts, stdout_text ? &text : NULL, &why, error) ||
		    !g_subprocess_wait(proc, NULL, error)) {
			g_prefix_error(error, "running %s: ", cmd);
			g_subprocess_force_exit(proc);
			g_subprocess_wait(proc, NULL, NULL);
			return FALSE;
		}
	} else {
		if (!g_subprocess_communicate(proc, opts->stdin_data, NULL, &out, &err, error)) {
			g_prefix_error(error, "running %s: ", cmd);
			return FALSE;
		}
		text = g_strndup(g_bytes_get_data(out, NULL), g_bytes_get_size(out));
		if (merge)
			why = tail_lines(text, TAIL_LINES);
		else {
			g_autofree char *err_text =
			    g_strndup(g_bytes_get_data(err, NULL), g_bytes_get_size(err));
			why = tail_lines(err_text, TAIL_LINES);
		}
	}
	st = g_subprocess_get_if_exited(proc) ? g_subprocess_get_exit_status(proc)
	                                      : 128 + g_subprocess_get_term_sig(proc);
	if (status)
		*status = st;
	if (st != 0 && !opts->any_status) {
		g_autofree char *shown = g_strstrip(g_strdup(why ? why : ""));
		g_set_error(error, KDH_UTIL_ERROR, KDH_UTIL_ERROR_COMMAND, "%s failed (%s %d)%s%s",
		            cmd, g_subprocess_get_if_exited(proc) ? "exit status" : "signal",
		            g_subprocess_get_if_exited(proc) ? st : st - 128, *shown ? ": " : "",
		            shown);
		return FALSE;
	}
	if (stdout_text)
		*stdout_text = g_steal_pointer(&text);
	return TRUE;
}

gboolean kdh_run(const char *const *argv, const char *cwd, char **stdout_text, GError **error)
{
	KdhRunOptions opts = {.cwd = cwd};

	return kdh_run_full(argv, &opts, stdout_text, NULL, error);
}
