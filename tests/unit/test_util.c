/* SPDX-License-Identifier: MIT */
/* The shared helpers: MAC text (one format in, one out), the atomic file writer, JSON getters. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "vnicd/args.h"
#include "vnicd/fileio.h"
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

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/util/mac_format", test_mac_format);
	g_test_add_func("/util/mac_parse", test_mac_parse);
	g_test_add_func("/util/write_atomic", test_write_atomic);
	g_test_add_func("/util/obj_str", test_obj_str);
	return g_test_run();
}
