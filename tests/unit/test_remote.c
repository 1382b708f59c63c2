/* A remote host's storage (harness/vm/remote.c, upload.c): volume names,
 * qcow2 backing references, and, against the local libvirt
 * (qemu:///system, a pool of its own in a fresh folder), uploads cached by
 * content, overlays, clones, sparse downloads and the sweep of what killed
 * runs left.  The pool is on this machine only so the tests can look at its
 * files; the harness itself never does. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"
#include "vm/vm.h"

#define URI  "qemu:///system"
#define HASH "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char *tmp;

static void setup(void)
{
	tmp = g_dir_make_tmp("kdh-remote-XXXXXX", NULL);
	ck_assert_ptr_nonnull(tmp);
	/* libvirtd (root) makes the pool folder inside. */
	ck_assert_int_eq(g_chmod(tmp, 0711), 0);
}

static void teardown(void)
{
	kdh_rm_rf(tmp);
	g_clear_pointer(&tmp, g_free);
}

static void run_ok(const char *const *argv, char **out)
{
	g_autoptr(GError) err = NULL;

	ck_assert_msg(kdh_run(argv, NULL, out, &err), "%s", err ? err->message : "");
}

/* ---- names and backing references ---- */

START_TEST(volume_name_is_hash_and_safe_basename)
{
	g_autofree char *plain = kdh_remote_volume_name(HASH, "vmlinuz-6.1.0_x");
	g_autofree char *bad = kdh_remote_volume_name(HASH, "a b/c\xc3\xa9$.qcow2");
	g_autofree char *long_name = g_strnfill(100, 'x');
	g_autofree char *cut = kdh_remote_volume_name(HASH, long_name);
	g_autofree char *want_cut = g_strdup_printf("kdh-%.32s-%.64s", HASH, long_name);

	ck_assert_str_eq(plain, "kdh-0123456789abcdef0123456789abcdef-vmlinuz-6.1.0_x");
	ck_assert_str_eq(bad, "kdh-0123456789abcdef0123456789abcdef-a_b_c___.qcow2");
	ck_assert_str_eq(cut, want_cut);
	ck_assert_uint_eq(strlen(cut), 4 + 32 + 1 + 64);
}
END_TEST

START_TEST(volume_name_refuses_a_bad_hash)
{
	g_autofree char *upper = g_ascii_strup(HASH, -1);
	g_autofree char *longer = g_strconcat(HASH, "0", NULL);
	g_autofree char *junk = g_strdup(HASH);

	junk[10] = 'g';
	ck_assert_ptr_null(kdh_remote_volume_name(upper, "x"));
	ck_assert_ptr_null(kdh_remote_volume_name(&HASH[1], "x"));
	ck_assert_ptr_null(kdh_remote_volume_name(longer, "x"));
	ck_assert_ptr_null(kdh_remote_volume_name(junk, "x"));
	ck_assert_ptr_null(kdh_remote_volume_name(NULL, "x"));
	ck_assert_ptr_null(kdh_remote_volume_name("", "x"));
}
END_TEST

/* The backing file name in the header of the qcow2 PATH (offset at bytes
 * 8..15, length at 16..19, big-endian), read without qemu-img. */
static char *qcow2_backing(const char *path)
{
	g_autofree char *data = NULL;
	gsize len = 0;
	guint64 off = 0;
	guint32 size = 0;

	ck_assert(g_file_get_contents(path, &data, &len, NULL));
	ck_assert_uint_ge(len, 20);
	ck_assert(memcmp(data, "QFI\xfb", 4) == 0);
	for (int i = 8; i < 16; i++)
		off = off << 8 | (guchar)data[i];
	for (int i = 16; i < 20; i++)
		size = size << 8 | (guchar)data[i];
	ck_assert_uint_le(off + size, len);
	return g_strndup(data + off, size);
}

START_TEST(set_backing_rewrites_the_header_only)
{
	g_autofree char *base = g_build_filename(tmp, "base.qcow2", NULL);
	g_autofree char *top = g_build_filename(tmp, "top.qcow2", NULL);
	g_autofree char *info = NULL, *got = NULL;
	g_autoptr(GError) err = NULL;
	const char *mk_base[] = {"qemu-img", "create", "-q", "-f", "qcow2", base, "16M", NULL};
	const char *mk_top[] = {"qemu-img", "create", "-q",    "-f", "qcow2", "-b",
	                        base,       "-F",     "qcow2", top,  NULL};
	const char *write[] = {"qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 64k", top, NULL};
	const char *ask[] = {"qemu-img", "info", "--output=json", "-U", top, NULL};
	const char *read[] = {"qemu-io", "-f", "qcow2", "-c", "read -P 0x5a 0 64k", top, NULL};
	const char *nowhere = "/nonexistent/kdh-pool/kdh-abc-base.qcow2";

	run_ok(mk_base, NULL);
	run_ok(mk_top, NULL);
	run_ok(write, NULL);
	/* A path that means nothing here, as a remote host's is. */
	ck_assert_msg(kdh_qcow2_set_backing(top, nowhere, &err), "%s", err ? err->message : "");
	got = qcow2_backing(top);
	ck_assert_str_eq(got, nowhere);
	run_ok(ask, &info);
	ck_assert_msg(strstr(info, "\"backing-filename-format\": \"qcow2\""), "%s", info);
	/* And back: the data written before is still there. */
	ck_assert_msg(kdh_qcow2_set_backing(top, base, &err), "%s", err ? err->message : "");
	g_free(got);
	got = qcow2_backing(top);
	ck_assert_str_eq(got, base);
	run_ok(read, NULL);
}
END_TEST

START_TEST(set_backing_refuses_what_is_not_qcow2)
{
	g_autofree char *raw = g_build_filename(tmp, "raw.img", NULL);
	g_autoptr(GError) err = NULL;

	ck_assert(g_file_set_contents(raw, "not a disk", -1, NULL));
	ck_assert(!kdh_qcow2_set_backing(raw, "/x.qcow2", &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err->message, "qemu-img"), "%s", err->message);
}
END_TEST

/* ---- against libvirt ---- */

static char *pool_dir;
static KdhRemote *remote;
/* The tests' folders, each test's pool in one of them. */
static char *suite_tmp;

#define SWEEP_DOMAIN "kdh-remote-test-sweep.x"

/* Runs in Check's parent process, before the tests and after them whatever
 * became of them (a failed test's own teardown does not run): no pool of
 * the tests, nor the sweep test's domain, outlives the suite. */
static void libvirt_suite_setup(void)
{
	suite_tmp = g_dir_make_tmp("kdh-remote-XXXXXX", NULL);
	ck_assert_ptr_nonnull(suite_tmp);
	/* libvirtd (root) makes the pool folders inside. */
	ck_assert_int_eq(g_chmod(suite_tmp, 0711), 0);
}

static void quiet(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err;
}

static void libvirt_suite_teardown(void)
{
	g_autofree char *prefix = g_strconcat(suite_tmp, "/", NULL);
	virStoragePoolPtr *pools = NULL;
	virConnectPtr conn;
	virDomainPtr dom;
	int n;

	virSetErrorFunc(NULL, quiet);
	conn = virConnectOpen(URI);
	n = conn ? virConnectListAllStoragePools(conn, &pools, 0) : 0;

	for (int i = 0; i < n; i++) {
		g_autofree char *xml = virStoragePoolGetXMLDesc(pools[i], 0);
		g_autofree char *needle = g_strconcat("<path>", prefix, NULL);

		if (xml && strstr(xml, needle)) {
			virStoragePoolDestroy(pools[i]);
			virStoragePoolUndefine(pools[i]);
		}
		virStoragePoolFree(pools[i]);
	}
	free(pools);
	dom = conn ? virDomainLookupByName(conn, SWEEP_DOMAIN) : NULL;
	if (dom) {
		virDomainUndefine(dom);
		virDomainFree(dom);
	}
	if (conn)
		virConnectClose(conn);
	kdh_rm_rf(suite_tmp);
	g_clear_pointer(&suite_tmp, g_free);
}

static void libvirt_setup(void)
{
	g_autoptr(GError) err = NULL;

	tmp = g_build_filename(suite_tmp, "test-XXXXXX", NULL);
	ck_assert_ptr_nonnull(g_mkdtemp_full(tmp, 0711));
	ck_assert_msg(kdh_libvirt_prepare(URI, NULL, &err), "%s", err ? err->message : "");
	pool_dir = g_build_filename(tmp, "pool", NULL);
	remote = kdh_remote_open(URI, NULL, pool_dir, &err);
	ck_assert_msg(remote, "%s", err ? err->message : "");
}

/* The pool kdh made, by its name. */
static char *own_pool_name(const char *path)
{
	g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, path, -1);

	return g_strdup_printf("kdh-%.12s", sum);
}

/* Destroys the test's transient pool (its volumes are files in TMP,
 * removed with it). */
static void libvirt_teardown(void)
{
	g_autofree char *name = own_pool_name(pool_dir);
	virConnectPtr conn = virConnectOpen(URI);
	virStoragePoolPtr pool = conn ? virStoragePoolLookupByName(conn, name) : NULL;

	g_clear_pointer(&remote, kdh_remote_free);
	if (pool) {
		virStoragePoolDestroy(pool);
		virStoragePoolFree(pool);
	}
	if (conn)
		virConnectClose(conn);
	g_clear_pointer(&pool_dir, g_free);
	teardown();
}

/* A file of SIZE bytes in TMP whose DATA bytes at AT are random, the rest
 * a hole. */
static char *sparse_file(const char *name, guint64 size, guint64 at, guint64 data)
{
	char *path = g_build_filename(tmp, name, NULL);
	g_autofree guchar *buf = g_malloc(data);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	ck_assert_int_ge(fd, 0);
	for (guint64 i = 0; i < data; i++)
		buf[i] = (guchar)g_random_int();
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	ck_assert_int_eq(pwrite(fd, buf, data, (off_t)at), (ssize_t)data);
	close(fd);
	return path;
}

static void assert_same_file(const char *a, const char *b)
{
	const char *argv[] = {"cmp", "-s", a, b, NULL};

	run_ok(argv, NULL);
}

static char *upload_ok(const char *local, const char *backing, guint64 *sent)
{
	g_autoptr(GError) err = NULL;
	char *path = kdh_remote_upload(remote, local, backing, sent, &err);

	ck_assert_msg(path, "%s", err ? err->message : "");
	return path;
}

/* Makes the volume at PATH look as a killed run left it an hour ago. */
static void age(const char *path)
{
	struct timespec times[2] = {{.tv_sec = time(NULL) - 3600}, {.tv_sec = time(NULL) - 3600}};

	ck_assert_int_eq(utimensat(AT_FDCWD, path, times, 0), 0);
}

/* Deletes the volume at PATH through libvirt, as another client would. */
static void delete_volume(const char *path)
{
	virConnectPtr conn = virConnectOpen(URI);
	virStorageVolPtr vol = conn ? virStorageVolLookupByPath(conn, path) : NULL;

	ck_assert_msg(vol, "%s: %s", path, virGetLastErrorMessage());
	ck_assert_int_eq(virStorageVolDelete(vol, 0), 0);
	virStorageVolFree(vol);
	virConnectClose(conn);
}

START_TEST(upload_is_cached_by_content)
{
	g_autofree char *kernel = sparse_file("vmlinuz", 1 << 20, 0, 1 << 20);
	g_autofree char *first = NULL, *again = NULL, *redone = NULL, *healed = NULL;
	g_autofree char *marker = NULL;
	guint64 sent = 1;
	struct stat st;

	ck_assert_str_eq(kdh_remote_pool_path(remote), pool_dir);
	first = upload_ok(kernel, NULL, &sent);
	ck_assert_uint_eq(sent, 1 << 20);
	ck_assert(g_str_has_prefix(first, pool_dir));
	ck_assert_msg(strstr(first, "-vmlinuz"), "%s", first);
	assert_same_file(first, kernel);
	/* Readable by QEMU's user, never chowned to it. */
	ck_assert_int_eq(stat(first, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);

	again = upload_ok(kernel, NULL, &sent);
	ck_assert_uint_eq(sent, 0);
	ck_assert_str_eq(again, first);

	/* Without its marker (an upload whose kdh was killed): sent again. */
	marker = g_strconcat(first, ".ok", NULL);
	delete_volume(marker);
	age(first);
	redone = upload_ok(kernel, NULL, &sent);
	ck_assert_uint_eq(sent, 1 << 20);
	ck_assert(g_file_test(marker, G_FILE_TEST_EXISTS));

	/* Cut short, marker or not: sent again. */
	ck_assert_int_eq(truncate(first, 4096), 0);
	age(first);
	healed = upload_ok(kernel, NULL, &sent);
	ck_assert_uint_eq(sent, 1 << 20);
	assert_same_file(healed, kernel);
}
END_TEST

typedef struct {
	const char *local;
	guint64 sent;
	char *path;
	char *error;
} UploadJob;

static gpointer upload_thread(gpointer data)
{
	UploadJob *job = data;
	g_autoptr(GError) err = NULL;

	job->path = kdh_remote_upload(remote, job->local, NULL, &job->sent, &err);
	job->error = err ? g_strdup(err->message) : NULL;
	return NULL;
}

START_TEST(one_upload_when_threads_ask_at_once)
{
	g_autofree char *file = sparse_file("initrd.img", 8 << 20, 0, 8 << 20);
	UploadJob jobs[3] = {{.local = file}, {.local = file}, {.local = file}};
	GThread *threads[3];
	guint64 total = 0;

	for (guint i = 0; i < 3; i++)
		threads[i] = g_thread_new("upload", upload_thread, &jobs[i]);
	for (guint i = 0; i < 3; i++) {
		g_thread_join(threads[i]);
		ck_assert_msg(jobs[i].path, "%s", jobs[i].error);
		ck_assert_str_eq(jobs[i].path, jobs[0].path);
		total += jobs[i].sent;
	}
	ck_assert_uint_eq(total, 8 << 20);
	for (guint i = 0; i < 3; i++) {
		g_free(jobs[i].path);
		g_free(jobs[i].error);
	}
}
END_TEST

START_TEST(sparse_files_travel_as_data_only)
{
	g_autofree char *file = sparse_file("sparse.raw", 64 << 20, 10 << 20, 1 << 20);
	g_autofree char *back = g_build_filename(tmp, "back.raw", NULL);
	g_autofree char *path = NULL;
	g_autoptr(GError) err = NULL;
	guint64 sent = 0, got = 0;
	struct stat st;

	path = upload_ok(file, NULL, &sent);
	ck_assert_uint_eq(sent, 1 << 20);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 64 << 20);
	ck_assert_int_le(st.st_blocks * 512, 2 << 20);

	ck_assert_msg(kdh_remote_download(remote, path, back, &got, &err), "%s",
	              err ? err->message : "");
	ck_assert_uint_eq(got, 1 << 20);
	ck_assert_int_eq(stat(back, &st), 0);
	ck_assert_int_eq(st.st_size, 64 << 20);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_le(st.st_blocks * 512, 2 << 20);
	assert_same_file(back, file);

	/* LOCAL is new: an existing file is refused, and kept. */
	ck_assert(!kdh_remote_download(remote, path, back, NULL, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert(g_file_test(back, G_FILE_TEST_EXISTS));
}
END_TEST

START_TEST(large_file_round_trips)
{
	g_autofree char *file = sparse_file("big.img", 48 << 20, 0, 48 << 20);
	g_autofree char *back = g_build_filename(tmp, "big.back", NULL);
	g_autofree char *path = NULL;
	g_autoptr(GError) err = NULL;
	guint64 sent = 0, got = 0;

	path = upload_ok(file, NULL, &sent);
	ck_assert_uint_eq(sent, 48 << 20);
	ck_assert_msg(kdh_remote_download(remote, path, back, &got, &err), "%s",
	              err ? err->message : "");
	ck_assert_uint_eq(got, 48 << 20);
	assert_same_file(back, file);
}
END_TEST

START_TEST(chain_overlay_clone_download)
{
	g_autofree char *base = g_build_filename(tmp, "base.qcow2", NULL);
	g_autofree char *top = g_build_filename(tmp, "settings.qcow2", NULL);
	g_autofree char *kernel = sparse_file("vmlinuz", 300000, 0, 300000);
	g_autofree char *back = g_build_filename(tmp, "disk.back.qcow2", NULL);
	g_autofree char *rbase = NULL, *rtop = NULL, *rtop2 = NULL, *rkernel = NULL;
	g_autofree char *disk = NULL, *copy = NULL, *info = NULL, *want = NULL, *got = NULL;
	g_autofree char *name = g_strdup_printf("case-kdh-%d-remote.disk.qcow2", (int)getpid());
	g_autofree char *kname = g_strdup_printf("case-kdh-%d-remote.vmlinuz", (int)getpid());
	g_autoptr(GError) err = NULL;
	const char *mk_base[] = {"qemu-img", "create", "-q", "-f", "qcow2", base, "64M", NULL};
	const char *fill_base[] = {"qemu-io", "-f", "qcow2", "-c", "write -P 0xb1 0 1M",
	                           base,      NULL};
	const char *mk_top[] = {"qemu-img", "create", "-q",    "-f", "qcow2", "-b",
	                        base,       "-F",     "qcow2", top,  NULL};
	const char *fill_top[] = {"qemu-io", "-f", "qcow2", "-c", "write -P 0x70 1M 1M", top, NULL};
	const char *ask[] = {"qemu-img", "info", "--output=json", "-U", back, NULL};
	const char *compare[] = {"qemu-img", "compare", "-f", "qcow2", "-F",
	                         "qcow2",    back,      top,  NULL};
	guint64 sent = 0, got_bytes = 0;
	struct stat st;

	run_ok(mk_base, NULL);
	run_ok(fill_base, NULL);
	run_ok(mk_top, NULL);
	run_ok(fill_top, NULL);

	rbase = upload_ok(base, NULL, &sent);
	ck_assert_uint_gt(sent, 0);
	/* The settings layer names the host's base, never this machine's. */
	rtop = upload_ok(top, rbase, &sent);
	ck_assert_uint_gt(sent, 0);
	got = qcow2_backing(rtop);
	ck_assert_str_eq(got, rbase);
	g_clear_pointer(&got, g_free);
	got = qcow2_backing(top);
	ck_assert_str_eq(got, base); /* LOCAL untouched */
	g_clear_pointer(&got, g_free);
	rtop2 = upload_ok(top, rbase, &sent);
	ck_assert_uint_eq(sent, 0);
	ck_assert_str_eq(rtop2, rtop);

	/* The case's disk, made there, as big as the image. */
	disk = kdh_remote_overlay(remote, name, rtop, &err);
	ck_assert_msg(disk, "%s", err ? err->message : "");
	ck_assert_int_eq(stat(disk, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	got = qcow2_backing(disk);
	ck_assert_str_eq(got, rtop);
	g_clear_pointer(&got, g_free);
	/* A second one of the same name is refused. */
	ck_assert_ptr_null(kdh_remote_overlay(remote, name, rtop, &err));
	ck_assert_msg(err && strstr(err->message, name), "%s", err ? err->message : "");
	g_clear_error(&err);

	/* The kernel a VM boots is its own copy. */
	rkernel = upload_ok(kernel, NULL, &sent);
	copy = kdh_remote_clone(remote, rkernel, kname, &err);
	ck_assert_msg(copy, "%s", err ? err->message : "");
	assert_same_file(copy, kernel);
	ck_assert_int_eq(stat(copy, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);

	/* Back here, it still names the host's chain; pointed at ours it
	 * reads as the image does. */
	ck_assert_msg(kdh_remote_download(remote, disk, back, &got_bytes, &err), "%s",
	              err ? err->message : "");
	ck_assert_uint_gt(got_bytes, 0);
	run_ok(ask, &info);
	want = g_strdup_printf("\"backing-filename\": \"%s\"", rtop);
	ck_assert_msg(strstr(info, want), "%s", info);
	ck_assert_msg(strstr(info, "\"virtual-size\": 67108864"), "%s", info);
	ck_assert_msg(kdh_qcow2_set_backing(back, top, &err), "%s", err ? err->message : "");
	run_ok(compare, NULL);

	ck_assert_msg(kdh_remote_delete(remote, disk, &err), "%s", err ? err->message : "");
	ck_assert(!g_file_test(disk, G_FILE_TEST_EXISTS));
	ck_assert_msg(kdh_remote_delete(remote, disk, &err), "%s", err ? err->message : "");
	ck_assert_msg(kdh_remote_delete(remote, copy, &err), "%s", err ? err->message : "");
	ck_assert(g_file_test(rkernel, G_FILE_TEST_EXISTS));
}
END_TEST

/* A defined (never started) domain named NAME, so a volume of it is kept. */
static virDomainPtr define_domain(virConnectPtr conn, const char *name)
{
	g_autofree char *xml =
	    g_strdup_printf("<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory>"
	                    "<os><type arch='x86_64'>hvm</type></os></domain>",
	                    name);
	virDomainPtr dom = virDomainDefineXML(conn, xml);

	ck_assert_msg(dom, "%s", virGetLastErrorMessage());
	return dom;
}

START_TEST(sweep_takes_what_no_domain_holds)
{
	g_autofree char *kernel = sparse_file("vmlinuz", 4096, 0, 4096);
	const char *dom_name = SWEEP_DOMAIN;
	g_autofree char *kept_name = g_strdup_printf("case-%s.disk.qcow2", dom_name);
	g_autofree char *rkernel = NULL, *orphan = NULL, *kept = NULL, *young = NULL;
	g_autoptr(GError) err = NULL;
	virConnectPtr conn = virConnectOpen(URI);
	virDomainPtr dom;
	guint64 sent;

	ck_assert_ptr_nonnull(conn);
	dom = define_domain(conn, dom_name);
	rkernel = upload_ok(kernel, NULL, &sent);
	orphan = kdh_remote_clone(remote, rkernel, "case-kdh-nonexistent.disk.qcow2", &err);
	ck_assert_msg(orphan, "%s", err ? err->message : "");
	kept = kdh_remote_clone(remote, rkernel, kept_name, &err);
	ck_assert_msg(kept, "%s", err ? err->message : "");

	/* Too young: a run may be about to start its domain. */
	ck_assert_uint_eq(kdh_remote_sweep(remote, 3600), 0);
	ck_assert(g_file_test(orphan, G_FILE_TEST_EXISTS));
	age(orphan);
	age(kept);
	ck_assert_uint_eq(kdh_remote_sweep(remote, 600), 1);
	ck_assert(!g_file_test(orphan, G_FILE_TEST_EXISTS));
	ck_assert(g_file_test(kept, G_FILE_TEST_EXISTS));
	ck_assert(g_file_test(rkernel, G_FILE_TEST_EXISTS)); /* the cache is not a case's */

	virDomainUndefine(dom);
	virDomainFree(dom);
	ck_assert_uint_eq(kdh_remote_sweep(remote, 0), 1);
	ck_assert(!g_file_test(kept, G_FILE_TEST_EXISTS));
	young = kdh_remote_clone(remote, rkernel, "case-kdh-nonexistent.vmlinuz", &err);
	ck_assert_msg(young, "%s", err ? err->message : "");
	ck_assert_uint_eq(kdh_remote_sweep(remote, 0), 1);
	virConnectClose(conn);
}
END_TEST

START_TEST(second_open_finds_the_pool_and_its_cache)
{
	g_autofree char *file = sparse_file("initrd", 65536, 0, 65536);
	g_autofree char *first = NULL, *second = NULL;
	g_autoptr(KdhRemote) other = NULL;
	g_autoptr(GError) err = NULL;
	guint64 sent = 0;

	first = upload_ok(file, NULL, &sent);
	other = kdh_remote_open(URI, NULL, pool_dir, &err);
	ck_assert_msg(other, "%s", err ? err->message : "");
	ck_assert_str_eq(kdh_remote_pool_path(other), pool_dir);
	second = kdh_remote_upload(other, file, NULL, &sent, &err);
	ck_assert_msg(second, "%s", err ? err->message : "");
	ck_assert_uint_eq(sent, 0);
	ck_assert_str_eq(second, first);

	/* The same pool named, as a hosts file's pool= names one. */
	g_clear_pointer(&other, kdh_remote_free);
	g_autofree char *name = own_pool_name(pool_dir);
	other = kdh_remote_open(URI, name, NULL, &err);
	ck_assert_msg(other, "%s", err ? err->message : "");
	ck_assert_str_eq(kdh_remote_pool_path(other), pool_dir);
	g_free(second);
	second = kdh_remote_upload(other, file, NULL, &sent, &err);
	ck_assert_msg(second, "%s", err ? err->message : "");
	ck_assert_uint_eq(sent, 0);
}
END_TEST

START_TEST(failures_say_what_and_why)
{
	g_autofree char *missing = g_build_filename(pool_dir, "kdh-missing", NULL);
	g_autofree char *local = g_build_filename(tmp, "missing.back", NULL);
	g_autofree char *nowhere = g_build_filename(tmp, "no-such-file", NULL);
	g_autoptr(GError) err = NULL;
	guint64 sent = 7;

	ck_assert(!kdh_remote_download(remote, missing, local, NULL, &err));
	/* What, which, and libvirt's own words. */
	ck_assert_msg(err && strstr(err->message, missing) && strstr(err->message, URI) &&
	                  strstr(err->message, "no storage vol"),
	              "%s", err ? err->message : "");
	ck_assert(!g_file_test(local, G_FILE_TEST_EXISTS));
	g_clear_error(&err);
	ck_assert_ptr_null(kdh_remote_clone(remote, missing, "case-x.vmlinuz", &err));
	ck_assert_msg(err && strstr(err->message, "no storage vol"), "%s", err ? err->message : "");
	g_clear_error(&err);
	ck_assert_ptr_null(kdh_remote_upload(remote, nowhere, NULL, &sent, &err));
	ck_assert_msg(g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT), "%s",
	              err ? err->message : "");
	ck_assert_uint_eq(sent, 7);
}
END_TEST

START_TEST(open_names_what_is_missing)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(KdhRemote) none = kdh_remote_open(URI, "kdh-no-such-pool", NULL, &err);

	ck_assert_ptr_null(none);
	ck_assert_msg(err && strstr(err->message, "kdh-no-such-pool"), "%s",
	              err ? err->message : "");
	g_clear_error(&err);
	ck_assert_ptr_null(kdh_remote_open(URI, NULL, "relative/pool", &err));
	ck_assert_msg(err && strstr(err->message, "relative/pool"), "%s", err ? err->message : "");
}
END_TEST

Suite *remote_suite(void);
Suite *remote_suite(void)
{
	Suite *s = suite_create("remote");
	TCase *tc = tcase_create("names");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, volume_name_is_hash_and_safe_basename);
	tcase_add_test(tc, volume_name_refuses_a_bad_hash);
	tcase_add_test(tc, set_backing_rewrites_the_header_only);
	tcase_add_test(tc, set_backing_refuses_what_is_not_qcow2);
	suite_add_tcase(s, tc);

	/* root: qemu:///system, whose daemon kdh_libvirt_prepare starts. */
	tc = tcase_create("libvirt");
	tcase_set_tags(tc, "e2e root");
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, libvirt_suite_setup, libvirt_suite_teardown);
	tcase_add_checked_fixture(tc, libvirt_setup, libvirt_teardown);
	tcase_add_test(tc, upload_is_cached_by_content);
	tcase_add_test(tc, one_upload_when_threads_ask_at_once);
	tcase_add_test(tc, sparse_files_travel_as_data_only);
	tcase_add_test(tc, large_file_round_trips);
	tcase_add_test(tc, chain_overlay_clone_download);
	tcase_add_test(tc, sweep_takes_what_no_domain_holds);
	tcase_add_test(tc, second_open_finds_the_pool_and_its_cache);
	tcase_add_test(tc, failures_say_what_and_why);
	tcase_add_test(tc, open_names_what_is_missing);
	suite_add_tcase(s, tc);
	return s;
}
