/* SPDX-License-Identifier: MIT */
/* vnicctl trace's output: the decisions in order, then the frame's destinations. */
#include <stdio.h>
#include <string.h>

#include "vnicctl.h"

/* One destination: "  -> PORT untagged|tagged VLAN N, [vxlan VNI ...], LEN bytes". */
static void print_dest(JsonObject *d)
{
	JsonNode *vlan = json_object_get_member(d, "vlan");
	JsonNode *enc = json_object_get_member(d, "encap");

	printf("  -> %s", vc_str(d, "port", "?"));
	if (vlan && !JSON_NODE_HOLDS_NULL(vlan))
		printf(" tagged VLAN %" G_GINT64_FORMAT " (%s)", json_node_get_int(vlan),
		       vc_str(d, "tpid", "?"));
	else
		printf(" untagged");
	if (enc && JSON_NODE_HOLDS_OBJECT(enc)) {
		JsonObject *e = json_node_get_object(enc);
		printf(", %s VNI %" G_GINT64_FORMAT " %s > %s (remote VTEP %s)",
		       vc_str(e, "type", "?"), vc_int(e, "vni"), vc_str(e, "outer_src", "?"),
		       vc_str(e, "outer_dst", "?"), vc_str(e, "remote_vtep", "?"));
	}
	printf(", %" G_GINT64_FORMAT " bytes\n", vc_int(d, "len"));
}

/** vc_render_trace() - the steps of a trace, then where the frame goes (ofproto/trace style). */
void vc_render_trace(JsonNode *res, bool detail)
{
	JsonObject *o = json_node_get_object(res);
	JsonArray *steps = json_object_get_array_member(o, "steps");
	JsonArray *dests = json_object_get_array_member(o, "destinations");
	JsonObject *drops = json_object_get_object_member(o, "drops");
	guint n = dests ? json_array_get_length(dests) : 0;

	printf("Port %s, network %s (%s)\nFrame: %s\n\n", vc_str(o, "port", "?"),
	       vc_str(o, "net", "?"), vc_str(o, "net_type", "?"), vc_str(o, "frame", ""));
	for (guint i = 0; steps && i < json_array_get_length(steps); i++) {
		JsonObject *s = json_array_get_object_element(steps, i);
		printf("%3u. %-10s %-9s %s\n", i + 1, vc_str(s, "step", "?"),
		       vc_str(s, "verdict", "?"), vc_str(s, "reason", ""));
	}
	if (json_object_get_boolean_member_with_default(o, "truncated", FALSE))
		printf("     (more steps than recorded)\n");
	printf("\nVerdict: %s", vc_str(o, "verdict", "?"));
	if (n)
		printf(" to %u destination%s\n", n, n == 1 ? "" : "s");
	else
		printf("\n");
	for (guint i = 0; i < n; i++)
		print_dest(json_array_get_object_element(dests, i));
	if (drops && json_object_get_size(drops)) {
		g_autoptr(GList) names = json_object_get_members(drops);
		printf("Drops:");
		for (GList *l = names; l; l = l->next)
			printf(" %s (%" G_GINT64_FORMAT ")", (const char *)l->data,
			       vc_int(drops, l->data));
		printf("\n");
	}
}
