/* A loopback sshd for libvirt's ssh transport (sshd.h).  The sshd is a
 * plain fork+exec child reaped by waitpid, ssh-keygen runs through
 * g_spawn_sync (no child watch): nothing here starts a GLib thread. */
#include "sshd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/util.h"

#define SSHD_BIN        "/usr/sbin/sshd"
#define SSHD_READY_MS   10000
#define SSHD_POLL_US    20000
#define SSHD_STOP_MS    5000
#define SSHD_PORT_TRIES 5

struct KdhTestSshd {
	char *dir;
	char *uri;
	GPid pid;
	guint port;
};

/* A port of 127.0.0.1 free at the time of asking (the kernel's choice for
 * port 0); another process may take it before sshd does, which the
 * caller notices as sshd ending at once. */
static guint free_port(GError **error)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	guint port = 0;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
		port = ntohs(addr.sin_port);
	else
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
		            "a free port of 127.0.0.1: %s", g_strerror(errno));
	if (fd >= 0)
		close(fd);
	return port;
}

static gboolean keygen(const char *path, GError **error)
{
	const char *argv[] = {"ssh-keygen", "-q",       "-t", "ed25519", "-N", "",
	                      "-C",         "kdh-test", "-f", path,      NULL};
	g_autofree char *err = NULL;
	int status;

	if (!g_spawn_sync(NULL, (char **)argv, NULL,
	                  G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err,
	                  &status, error))
		return FALSE;
	if (!g_spawn_check_wait_status(status, error)) {
		g_prefix_error(error, "ssh-keygen %s: %s: ", path, g_strstrip(err));
		return FALSE;
	}
	return TRUE;
}

/* The files of S->dir for a sshd on PORT: its configuration, the keys, a
 * known_hosts naming its host key and the ssh wrapper libvirt runs. */
static gboolean write_files(const KdhTestSshd *s, guint port, GError **error)
{
	g_autofree char *hostkey = g_build_filename(s->dir, "hostkey", NULL);
	g_autofree char *userkey = g_build_filename(s->dir, "userkey", NULL);
	g_autofree char *hostpub = g_strconcat(hostkey, ".pub", NULL);
	g_autofree char *config_path = g_build_filename(s->dir, "sshd_config", NULL);
	g_autofree char *known_path = g_build_filename(s->dir, "known_hosts", NULL);
	g_autofree char *wrapper_path = g_build_filename(s->dir, "ssh", NULL);
	g_autofree char *pub = NULL, *config = NULL, *known = NULL, *wrapper = NULL;

	if (!g_file_test(hostkey, G_FILE_TEST_EXISTS) &&
	    (!keygen(hostkey, error) || !keygen(userkey, error)))
		return FALSE;
	if (!g_file_get_contents(hostpub, &pub, NULL, error))
		return FALSE;
	/* PidFile: never /run/sshd.pid, a system sshd's.  StrictModes no:
	 * the folder is mkdtemp's, the keys ssh-keygen's (0600). */
	config = g_strdup_printf("ListenAddress 127.0.0.1\n"
	                         "Port %u\n"
	                         "HostKey %s\n"
	                         "AuthorizedKeysFile %s.pub\n"
	                         "AllowUsers root\n"
	                         "PermitRootLogin prohibit-password\n"
	                         "AuthenticationMethods publickey\n"
	                         "PasswordAuthentication no\n"
	                         "KbdInteractiveAuthentication no\n"
	                         "UsePAM no\n"
	                         "X11Forwarding no\n"
	                         "PrintMotd no\n"
	                         "PidFile %s/sshd.pid\n"
	                         "StrictModes no\n",
	                         port, hostkey, userkey, s->dir);
	known = g_strdup_printf("[127.0.0.1]:%u %s", port, pub);
	/* -F /dev/null: root's ~/.ssh/config and /etc/ssh/ssh_config say
	 * nothing about this connection. */
	wrapper = g_strdup_printf("#!/bin/sh\n"
	                          "exec ssh -F /dev/null -o UserKnownHostsFile=%s "
	                          "-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes "
	                          "-o BatchMode=yes -o IdentitiesOnly=yes \"$@\"\n",
	                          known_path);
	return g_file_set_contents(config_path, config, -1, error) &&
	       g_file_set_contents(known_path, known, -1, error) &&
	       g_file_set_contents(wrapper_path, wrapper, -1, error) &&
	       (g_chmod(wrapper_path, 0755) == 0 ||
	        (g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s",
	                     wrapper_path, g_strerror(errno)),
	         FALSE));
}

/* sshd -D as a child; its output and log go to DIR/sshd.log.  Only
 * async-signal-safe calls between fork and exec (libvirt may have threads
 * in this process). */
static GPid spawn_sshd(const char *dir, GError **error)
{
	g_autofree char *config = g_build_filename(dir, "sshd_config", NULL);
	g_autofree char *log = g_build_filename(dir, "sshd.log", NULL);
	char *argv[] = {SSHD_BIN, "-D", "-f", config, "-E", log, NULL};
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	int log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	pid_t parent = getpid();
	pid_t pid;

	if (null_fd < 0 || log_fd < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", log,
		            g_strerror(errno));
		pid = -1;
		goto out;
	}
	pid = fork();
	if (pid == 0) {
		/* Ends with the thread that started it: a test process that
		 * fails before kdh_test_sshd_stop leaves no sshd behind. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
			_exit(127);
		if (dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(log_fd, 2) < 0)
			_exit(127);
		execv(SSHD_BIN, argv);
		_exit(127);
	}
	if (pid < 0)
		g_set_error(error, G_SPAWN_ERROR, G_SPAWN_ERROR_FORK, "fork: %s",
		            g_strerror(errno));
out:
	if (null_fd >= 0)
		close(null_fd);
	if (log_fd >= 0)
		close(log_fd);
	return pid;
}

/* Whether 127.0.0.1:PORT accepts a connection now. */
static gboolean port_accepts(guint port)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	gboolean ok;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* The last lines of S's sshd.log, for an error. */
static char *log_tail(const KdhTestSshd *s)
{
	g_autofree char *path = g_build_filename(s->dir, "sshd.log", NULL);
	g_autofree char *text = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &text, &len, NULL) || len == 0)
		return g_strdup("(sshd.log is empty)");
	return g_strdup(g_strstrip(text + (len > 600 ? len - 600 : 0)));
}

/* Waits until S->pid listens on S->port: TRUE; FALSE when it ended first
 * (*ENDED set, S->pid reaped and 0) or did not listen within
 * SSHD_READY_MS. */
static gboolean wait_listening(KdhTestSshd *s, gboolean *ended, GError **error)
{
	gint64 deadline = g_get_monotonic_time() + SSHD_READY_MS * G_TIME_SPAN_MILLISECOND;
	int status;

	*ended = FALSE;
	while (g_get_monotonic_time() < deadline) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			g_autofree char *tail = log_tail(s);
			s->pid = 0;
			*ended = TRUE;
			g_set_error(error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
			            "sshd on port %u ended at once (status %d): %s", s->port,
			            status, tail);
			return FALSE;
		}
		if (port_accepts(s->port))
			return TRUE;
		g_usleep(SSHD_POLL_US);
	}
	g_set_error(error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
	            "sshd did not listen on 127.0.0.1:%u within %d s", s->port,
	            SSHD_READY_MS / 1000);
	return FALSE;
}

/* Sends SIGTERM to the children of PID (the sessions sshd serves), as
 * /proc lists them. */
static void kill_children(GPid pid)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/task/%d/children", pid, pid);
	g_autofree char *text = NULL;
	g_auto(GStrv) pids = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return;
	pids = g_strsplit(g_strstrip(text), " ", -1);
	for (guint i = 0; pids[i]; i++) {
		guint64 child;
		if (g_ascii_string_to_unsigned(pids[i], 10, 2, G_MAXINT, &child, NULL))
			kill((pid_t)child, SIGTERM);
	}
}

/* Ends and reaps S->pid: SIGTERM, then SIGKILL after SSHD_STOP_MS. */
static void end_sshd(KdhTestSshd *s)
{
	gint64 deadline = g_get_monotonic_time() + SSHD_STOP_MS * G_TIME_SPAN_MILLISECOND;

	if (s->pid <= 0)
		return;
	kill_children(s->pid);
	kill(s->pid, SIGTERM);
	while (waitpid(s->pid, NULL, WNOHANG) == 0) {
		if (g_get_monotonic_time() >= deadline) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
			break;
		}
		g_usleep(SSHD_POLL_US);
	}
	s->pid = 0;
}

void kdh_test_sshd_stop(KdhTestSshd *s)
{
	if (!s)
		return;
	end_sshd(s);
	if (s->dir)
		kdh_rm_rf(s->dir);
	g_free(s->dir);
	g_free(s->uri);
	g_free(s);
}

KdhTestSshd *kdh_test_sshd_start(const char *parent, GError **error)
{
	g_autoptr(KdhTestSshd) s = g_new0(KdhTestSshd, 1);
	gboolean ended = TRUE;

	if (geteuid() != 0) {
		g_set_error(error, G_SPAWN_ERROR, G_SPAWN_ERROR_PERM,
		            "the loopback sshd needs root (/run/sshd, a login as root)");
		return NULL;
	}
	s->dir = g_build_filename(parent ? parent : "/tmp", "kdh-sshd-XXXXXX", NULL);
	if (!g_mkdtemp(s->dir)) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", s->dir,
		            g_strerror(errno));
		g_clear_pointer(&s->dir, g_free);
		return NULL;
	}
	/* sshd's privilege separation folder, as its Debian service makes it. */
	if (g_mkdir_with_parents("/run/sshd", 0755) != 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "/run/sshd: %s",
		            g_strerror(errno));
		return NULL;
	}
	/* A port taken between free_port and sshd's bind ends sshd at once:
	 * try another. */
	for (guint tries = 0; ended && tries < SSHD_PORT_TRIES; tries++) {
		g_clear_error(error);
		s->port = free_port(error);
		if (!s->port || !write_files(s, s->port, error))
			return NULL;
		s->pid = spawn_sshd(s->dir, error);
		if (s->pid <= 0) {
			s->pid = 0;
			return NULL;
		}
		if (wait_listening(s, &ended, error))
			break;
		if (!ended)
			return NULL;
	}
	if (ended)
		return NULL;
	s->uri =
	    g_strdup_printf("qemu+ssh://root@127.0.0.1:%u/system?keyfile=%s/userkey&command=%s/ssh",
	                    s->port, s->dir, s->dir);
	return g_steal_pointer(&s);
}

const char *kdh_test_sshd_uri(const KdhTestSshd *s)
{
	return s->uri;
}

GPid kdh_test_sshd_pid(const KdhTestSshd *s)
{
	return s->pid;
}

const char *kdh_test_sshd_dir(const KdhTestSshd *s)
{
	return s->dir;
}
