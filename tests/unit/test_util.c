/* SPDX-License-Identifier: MIT */
/* The shared helpers: MAC text (one format in, one out), the atomic file writer, JSON getters,
 * the saver, the log's per-message rate limit and journal priorities. */
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "vnicd/args.h"
#include "vnicd/fileio.h"
#include "vnicd/log.h"
#include "vnicd/mac.h"

static void test_mac_format(void)
{
	struct rte_ether_addr a = {{0x02, 0xAB, 0x0c, 0xff, 0x00, 0x9e}};
	char s[VN_MAC_STRLEN];

	vn_mac_format(&a, s);
	g_assert_cmpstr(s, ==, "02:ab:0c:ff:00:9e"); /* lowercase, as every output has been */
}

static void test_mac_parse(void)
{
	static const char *const bad[] = {
	    "",
	    "02:ab:0c:ff:00",
	    "02:ab:0c:ff:00:9e:",
	    "02:ab:0c:ff:00:9",
	    "02ab:0cff:009e",
	    "02-ab-0c-ff-00-9e",
	    "02:ab:0c:ff:00:9g",
	    " 2:ab:0c:ff:00:9e",
	    "+2:ab:0c:ff:00:9e",
	    "2:ab:0c:ff:00:9e0",
	    "02:ab:0c:ff:00:9e ",
	    "02.ab.0c.ff.00.9e",
	};
	struct rte_ether_addr a, want = {{0x02, 0xab, 0x0c, 0xff, 0x00, 0x9e}};

	g_assert_cmpint(vn_mac_parse("02:ab:0c:ff:00:9e", &a), ==, 0);
	g_assert_true(rte_is_same_ether_addr(&a, &want));
	g_assert_cmpint(vn_mac_parse("02:AB:0C:FF:00:9E", &a), ==, 0);
	g_assert_true(rte_is_same_ether_addr(&a, &want));
	g_assert_cmpint(vn_mac_parse(NULL, &a), ==, -EINVAL);
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_cmpint(vn_mac_parse(bad[i], &a), ==, -EINVAL);
}

static void test_write_atomic(void)
{
	g_autofree char *dir = g_dir_make_tmp("vnicd-util-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "f.json", NULL);
	g_autofree char *tmp = g_strdup_printf("%s.tmp", path);
	g_autofree char *text = NULL;
	g_autoptr(GError) err = NULL;
	g_autofree char *nodir = g_build_filename(dir, "none", "f.json", NULL);
	struct stat st;

	g_assert_cmpint(vn_file_write_atomic(path, "one", 3, &err), ==, 0);
	g_assert_cmpint(vn_file_write_atomic(path, "two!", 4, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_assert_cmpstr(text, ==, "two!");
	g_assert_cmpint(stat(path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	g_assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
	g_assert_cmpint(vn_file_write_atomic(nodir, "x", 1, &err), ==, -ENOENT);
	g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT);
	g_unlink(path);
	g_rmdir(dir);
}

/* The saver: the newest content is in PATH.latest-N at once (a killed process loses nothing),
 * durable at PATH after a flush; contents put during a save are coalesced. */
static void test_saver(void)
{
	g_autofree char *dir = g_dir_make_tmp("vnicd-util-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "f.json", NULL);
	g_autofree char *l1 = g_strdup_printf("%s" VN_SAVER_LATEST "1", path);
	g_autofree char *l50 = g_strdup_printf("%s" VN_SAVER_LATEST "50", path);
	g_autofree char *text = NULL;
	struct vn_saver_stats st;
	struct vn_saver *s;
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) { /* killed right after its put returned */
		s = vn_saver_new(path);
		vn_saver_put(s, g_strdup("crash"), 5, NULL);
		kill(getpid(), SIGKILL);
	}
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFSIGNALED(status));
	g_assert_true(g_file_get_contents(l1, &text, NULL, NULL) ||
		      g_file_get_contents(path, &text, NULL, NULL));
	g_assert_cmpstr(text, ==, "crash");
	g_unlink(l1);
	s = vn_saver_new(path);
	for (int i = 0; i < 50; i++) {
		g_autofree char *t = g_strdup_printf("%d", i);
		g_assert_cmpint(vn_saver_put(s, g_strdup(t), strlen(t), NULL), ==, 0);
	}
	g_clear_pointer(&text, g_free);
	g_assert_true(g_file_get_contents(l50, &text, NULL, NULL) ||
		      g_file_get_contents(path, &text, NULL, NULL));
	g_assert_cmpstr(text, ==, "49");
	g_assert_cmpint(vn_saver_flush(s), ==, 0);
	g_clear_pointer(&text, g_free);
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_assert_cmpstr(text, ==, "49");
	g_assert_false(g_file_test(l50, G_FILE_TEST_EXISTS)); /* durable: no longer needed */
	vn_saver_stats(s, &st);
	g_assert_cmpuint(st.puts, ==, 50);
	g_assert_cmpuint(st.saves + st.coalesced, ==, 50);
	g_assert_cmpuint(st.failures, ==, 0);
	g_assert_cmpint(vn_saver_free(s), ==, 0);
	g_unlink(path);
	g_rmdir(dir);
}

static void test_obj_str(void)
{
	g_autoptr(JsonNode) n = json_from_string("{\"s\": \"x\", \"i\": 1, \"z\": null}", NULL);
	JsonObject *o = json_node_get_object(n);

	g_assert_cmpstr(vn_obj_str(o, "s"), ==, "x");
	g_assert_null(vn_obj_str(o, "i"));
	g_assert_null(vn_obj_str(o, "z"));
	g_assert_null(vn_obj_str(o, "absent"));
	g_assert_null(vn_obj_str(NULL, "s"));
	g_assert_true(vn_json_is(json_object_get_member(o, "i"), G_TYPE_INT64));
	g_assert_false(vn_json_is(json_object_get_member(o, "z"), G_TYPE_INT64));
	g_assert_false(vn_json_is(NULL, G_TYPE_STRING));
}

/* Run @fn with stderr going to a new temporary file; Return: what it wrote (free it). */
static char *capture_stderr(void (*fn)(void *), void *arg)
{
	g_autofree char *path = NULL;
	int fd = g_file_open_tmp("vnlog-XXXXXX", &path, NULL), saved = dup(STDERR_FILENO);
	char *text = NULL;

	g_assert_cmpint(fd, >=, 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	fn(arg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_unlink(path);
	return text;
}

static void log_burst(void *arg)
{
	for (int i = 0; i < 130; i++)
		vn_log(VN_LOG_WARN, "same message %d", i);
	vn_log(VN_LOG_WARN, "another message");
}

static unsigned count_lines(const char *text, const char *needle)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* One message prints 100 lines per window; the rest are counted, other messages unaffected. */
static void test_log_ratelimit(void)
{
	uint64_t before = vn_log_suppressed();
	g_autofree char *text = capture_stderr(log_burst, NULL);

	g_assert_cmpuint(count_lines(text, "same message "), ==, 100);
	g_assert_cmpuint(count_lines(text, "another message"), ==, 1);
	g_assert_cmpuint(vn_log_suppressed() - before, ==, 30);
	g_assert_nonnull(strstr(text, "vnicd[warning]: same message 99\n"));
}

static void log_journal(void *arg)
{
	struct stat st;
	char env[64];

	g_assert_cmpint(fstat(STDERR_FILENO, &st), ==, 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	g_setenv("JOURNAL_STREAM", env, TRUE);
	g_setenv("VNICD_JOURNAL_SOCKET", "/nonexistent/journal.sock", TRUE);
	vn_log_init();
	vn_log(VN_LOG_ERR, "an error");
	vn_log(VN_LOG_WARN, "a warning");
	vn_log_ctx(VN_LOG_INFO, &(struct vn_log_ctx){.port = "p"}, "some info");
}

/* Under the journal's stream without its socket: sd-daemon priority prefixes, no time. */
static void test_log_journal_prefix(void)
{
	g_autofree char *text = capture_stderr(log_journal, NULL);

	g_assert_cmpstr(text, ==, "<3>an error\n<4>a warning\n<6>some info\n");
	g_assert_true(vn_log_journal());
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/util/mac_format", test_mac_format);
	g_test_add_func("/util/mac_parse", test_mac_parse);
	g_test_add_func("/util/write_atomic", test_write_atomic);
	g_test_add_func("/util/saver", test_saver);
	g_test_add_func("/util/obj_str", test_obj_str);
	g_test_add_func("/util/log_ratelimit", test_log_ratelimit);
	g_test_add_func("/util/log_journal_prefix", test_log_journal_prefix);
	return g_test_run();
}
