/* A loopback "remote host" for the tests: an sshd of our own on
 * 127.0.0.1, with keys made for it, through which libvirt's ssh transport
 * reaches this machine's libvirtd as it would another machine's.  Nothing
 * of root's ssh set-up is read or written (known_hosts, config, keys).
 *
 * Safe in Check's runner process (an unchecked fixture): no GSubprocess,
 * no GLib child watch, so no GLib worker thread is started there (a test
 * forked after one hangs).  Root only: sshd needs /run/sshd and to switch
 * to the user it lets in. */
#ifndef KDH_TEST_SSHD_H
#define KDH_TEST_SSHD_H

#include <glib.h>

typedef struct KdhTestSshd KdhTestSshd;

/* Makes a folder PARENT/kdh-sshd-XXXXXX (PARENT NULL: /tmp) with a host key, a user key, a
 * known_hosts naming the host key and an ssh wrapper using them, starts
 * /usr/sbin/sshd in the foreground (-D) on a free port of 127.0.0.1 as a
 * child of this process (killed by the kernel if the thread that started
 * it ends first), and returns once the port accepts connections (10 s at
 * most); NULL with an error, the folder removed, otherwise. */
KdhTestSshd *kdh_test_sshd_start(const char *parent, GError **error);

/* "qemu+ssh://root@127.0.0.1:PORT/system?keyfile=KEY&command=WRAPPER":
 * this machine's qemu:///system, reached over ssh. */
const char *kdh_test_sshd_uri(const KdhTestSshd *s);

/* The sshd's process id and its folder (for tests that check they go). */
GPid kdh_test_sshd_pid(const KdhTestSshd *s);
const char *kdh_test_sshd_dir(const KdhTestSshd *s);

/* Ends the sshd and the sessions it still serves, reaps it, removes the
 * folder and frees S; accepts NULL.  Close libvirt connections over it
 * first: a session ended under one leaves it broken. */
void kdh_test_sshd_stop(KdhTestSshd *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KdhTestSshd, kdh_test_sshd_stop)

#endif
