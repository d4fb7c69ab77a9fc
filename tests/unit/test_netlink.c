/* SPDX-License-Identifier: MIT */
/* The kernel-link module (backend/netlink.c) read-only against the loopback device. */
#include <errno.h>
#include <net/if.h>
#include <string.h>

#include <gio/gio.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "vnicd/netlink.h"

static void test_contexts(void)
{
	g_autoptr(GError) err = NULL;
	struct vn_nl *a = NULL, *b = NULL, *c = (struct vn_nl *)&a;

	g_assert_cmpint(vn_nl_open(NULL, &a, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpint(vn_nl_open("", &b, &err), ==, 0);
	g_assert_true(a == b); /* one context per namespace */
	vn_nl_close(b);
	vn_nl_close(a);
	vn_nl_close(NULL);
	g_assert_cmpint(vn_nl_open("vnicd-unit-no-such-namespace", &c, &err), ==, -ENOENT);
	g_assert_null(c);
	g_assert_nonnull(strstr(err->message, "network namespace 'vnicd-unit-no-such-namespace' "
					      "does not exist"));
	g_clear_error(&err);
	g_assert_cmpint(vn_nl_open("../etc", &c, &err), ==, -EINVAL);
	g_assert_cmpint(vn_netns_open(".."), ==, -EINVAL);
	g_assert_cmpint(vn_netns_enter(NULL, NULL), ==, -1); /* nothing to do */
}

static void test_get(void)
{
	g_autoptr(vn_nl) nl = NULL;
	struct vn_klink byname, byindex;
	int idx = (int)if_nametoindex("lo");

	g_assert_cmpint(idx, >, 0);
	g_assert_cmpint(vn_nl_open(NULL, &nl, NULL), ==, 0);
	g_assert_cmpint(vn_klink_get(nl, "lo", 0, &byname), ==, 0);
	g_assert_cmpint(byname.ifindex, ==, idx);
	g_assert_true(byname.present);
	g_assert_cmpstr(byname.ifname, ==, "lo");
	g_assert_cmpuint(byname.mtu, >, 0);
	g_assert_cmpint(vn_klink_get(nl, NULL, idx, &byindex), ==, 0);
	g_assert_cmpstr(byindex.ifname, ==, "lo");
	g_assert_cmpuint(byindex.flags, ==, byname.flags);
	g_assert_cmpint(vn_klink_get(nl, "vnicd-nonex0", 0, &byname), ==, -ENODEV);
	g_assert_cmpint(vn_klink_get(NULL, "lo", 0, &byname), ==, -EINVAL);
}

/* Counts calls; loopback is not expected to change meanwhile, but nothing depends on it. */
static void never(void *ud, const struct vn_klink *l)
{
	(*(int *)ud)++;
}

static void test_watch(void)
{
	g_autoptr(vn_nl) nl = NULL;
	g_autoptr(GError) err = NULL;
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) arr = NULL;
	struct vn_klink_watch *w, *w2;
	struct vn_klink now;
	int idx = (int)if_nametoindex("lo"), calls = 0;

	g_assert_cmpint(vn_nl_open(NULL, &nl, NULL), ==, 0);
	w = vn_klink_watch(nl, idx, never, &calls, &now, &err);
	g_assert_no_error(err);
	g_assert_nonnull(w);
	g_assert_true(now.present);
	g_assert_cmpstr(now.ifname, ==, "lo");
	g_assert_cmpint(now.ifindex, ==, idx);
	/* a second watch on the same cache; one on a missing index fails */
	w2 = vn_klink_watch(nl, idx, never, &calls, NULL, &err);
	g_assert_nonnull(w2);
	g_assert_null(vn_klink_watch(nl, G_MAXINT, never, &calls, NULL, &err));
	g_assert_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	json_builder_begin_array(b);
	vn_klink_addresses(w, b);
	json_builder_end_array(b);
	arr = json_builder_get_root(b);
	g_assert_true(JSON_NODE_HOLDS_ARRAY(arr));
	/* "127.0.0.1/8", "::1" (no prefix length when it is the whole address) */
	for (guint i = 0; i < json_array_get_length(json_node_get_array(arr)); i++)
		g_assert_cmpstr(json_array_get_string_element(json_node_get_array(arr), i), !=, "");
	vn_klink_unwatch(w2);
	vn_klink_unwatch(w);
	vn_klink_unwatch(NULL);
	vn_klink_addresses(NULL, b);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/netlink/contexts", test_contexts);
	g_test_add_func("/netlink/get", test_get);
	g_test_add_func("/netlink/watch", test_watch);
	return g_test_run();
}
