/* SPDX-License-Identifier: MIT */
/* vnicctl: command-line client of the vnicd control socket (see include/vnicd/ctl.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <stdbool.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "vnicd-config.h"
/* protocol: include/vnicd/ctl.h */

#define EXIT_USAGE 2
#define EXIT_CONNECT 3

static const char usage_text[] =
    "usage: vnicctl [--socket PATH] [--json] COMMAND\n"
    "commands:\n"
    "  net add NAME bridge [--uplink DEVARGS]\n"
    "  net add NAME macvtap --uplink DEVARGS [--mode vepa|bridge|private|passthru]\n"
    "          [--hairpin external|emulated] [--nopromisc]\n"
    "                                 make a network; DEVARGS is a DPDK device such as\n"
    "                                 net_af_packet0,iface=eth1 (its port: NAME-uplink)\n"
    "  net set NAME [--mode M] [--hairpin H]   change a macvtap network\n"
    "  net del NAME                   remove a network without ports (and its uplink)\n"
    "  net list [--json]              list networks\n"
    "  net show NAME [--json]         one network: FDB counters, uplink link state\n"
    "  port add NAME vhost --path SOCK [--server] [--mac MAC] [--queues N] [--net NET]\n"
    "           [--vm-uuid UUID] [--vm-name NAME]\n"
    "  port del NAME                  remove a port\n"
    "  port set NAME [--vlan-mode access|trunk|native-untagged|native-tagged|dot1q-tunnel|none]\n"
    "           [--vlan N] [--vlans LIST] [--tpid 0x88a8] [--lock-mac|--no-lock-mac]\n"
    "           [--allowed-ip LIST|none] [--allow-dhcp-server|--no-allow-dhcp-server]\n"
    "           [--allow-ra|--no-allow-ra] [--inbound SPEC|none] [--outbound SPEC|none]\n"
    "           [--reflective-relay on|off]\n"
    "                                 L2 policy, applied at once; SPEC is\n"
    "                                 average=KBps[,peak=KBps][,burst=KiB];\n"
    "                                 --reflective-relay: frames may go back out of the\n"
    "                                 port (the Linux bridge's hairpin flag)\n"
    "  port list [--json]             list ports\n"
    "  port show NAME [--json]        one port, with its counters\n"
    "  fdb show [--net NET] [--json]  forwarding database\n"
    "  fdb add MAC PORT               static entry\n"
    "  fdb flush [--net NET]          remove learned and static entries\n"
    "  stats [--port NAME] [--vm UUID] [--detail] [--json]\n"
    "                                 per-NIC and per-VM totals (one line each; --detail:\n"
    "                                 by class and drop reason)\n"
    "  stats reset --vm UUID | --port NAME   forget those totals\n"
    "  capture PORT --out FILE.pcapng [--count N|--duration S] [--snaplen N]\n"
    "                                 record both directions of a port (pcapng)\n"
    "  ping                           check that vnicd answers\n"
    "The socket defaults to $VNICD_SOCKET or /run/vnicd/vnicd.sock.\n";

static G_GNUC_NORETURN void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vnicctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see vnicctl --help)\n");
	exit(EXIT_USAGE);
}

/*
 * Send one request line (with @pass_fd attached through SCM_RIGHTS when >= 0), read one
 * response line. Return: the parsed response root.
 */
static JsonNode *transact_fd(const char *path, const char *req, JsonParser *parser, int pass_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	g_autoptr(GString) resp = g_string_new(NULL);
	g_autoptr(GError) err = NULL;
	char buf[65536];
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vnicctl: socket path too long: %s\n", path);
		exit(EXIT_CONNECT);
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "vnicctl: cannot connect to vnicd at %s: %s\n", path,
			g_strerror(errno));
		exit(EXIT_CONNECT);
	}
	if (pass_fd >= 0) {
		union {
			char b[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = {(void *)req, 1};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf.b,
				    .msg_controllen = sizeof(cbuf.b)};
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
		if (sendmsg(fd, &mh, MSG_NOSIGNAL) != 1) {
			fprintf(stderr, "vnicctl: sending to vnicd failed: %s\n",
				g_strerror(errno));
			exit(EXIT_CONNECT);
		}
		req++;
	}
	for (size_t off = 0, len = strlen(req); off < len;) {
		ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n <= 0) {
			fprintf(stderr, "vnicctl: sending to vnicd failed: %s\n",
				g_strerror(errno));
			exit(EXIT_CONNECT);
		}
		off += (size_t)n;
	}
	while (!memchr(resp->str, '\n', resp->len)) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0) {
			fprintf(stderr, "vnicctl: vnicd closed the connection without an answer\n");
			exit(EXIT_CONNECT);
		}
		g_string_append_len(resp, buf, n);
	}
	close(fd);
	if (!json_parser_load_from_data(parser, resp->str, (gssize)resp->len, &err)) {
		fprintf(stderr, "vnicctl: malformed answer from vnicd: %s\n", err->message);
		exit(1);
	}
	return json_parser_get_root(parser);
}

static JsonNode *transact(const char *path, const char *req, JsonParser *parser)
{
	return transact_fd(path, req, parser, -1);
}

static const char *s_or(JsonObject *o, const char *k, const char *def)
{
	JsonNode *n = json_object_get_member(o, k);

	if (!n || JSON_NODE_HOLDS_NULL(n))
		return def;
	if (json_node_get_value_type(n) == G_TYPE_STRING)
		return json_node_get_string(n);
	return def;
}

static gint64 i_or(JsonObject *o, const char *k)
{
	return json_object_has_member(o, k) ? json_object_get_int_member(o, k) : 0;
}

static bool b_or(JsonObject *o, const char *k)
{
	return json_object_get_boolean_member_with_default(o, k, FALSE);
}

/* The device side of a tap/vnet port (see tapio/tap_port.c: tap_describe()). */
static void print_tap(JsonObject *o)
{
	JsonObject *s = json_object_has_member(o, "io_stats")
			    ? json_object_get_object_member(o, "io_stats")
			    : NULL;
	JsonArray *off = json_object_has_member(o, "offloads")
			     ? json_object_get_array_member(o, "offloads")
			     : NULL;

	printf("  device %s (%s%s, ifindex %" G_GINT64_FORMAT
	       ", %s), %s, carrier %s, mtu %" G_GINT64_FORMAT ", queues %" G_GINT64_FORMAT "\n",
	       s_or(o, "ifname", "?"), s_or(o, "netns", NULL) ? "namespace " : "host namespace",
	       s_or(o, "netns", ""), i_or(o, "ifindex"),
	       b_or(o, "created") ? "made by vnicd" : "existing",
	       b_or(o, "deleted") ? "deleted" : (b_or(o, "admin_up") ? "up" : "down"),
	       b_or(o, "carrier") ? "on" : "off", i_or(o, "mtu"), i_or(o, "queues"));
	if (b_or(o, "io_uring"))
		printf("  io: %s\n", s_or(o, "io", "?"));
	else
		printf("  io: %s (io_uring not used: %s)\n", s_or(o, "io", "?"),
		       s_or(o, "io_uring_fallback", "?"));
	if (off) {
		printf("  offloads from the kernel:");
		for (guint i = 0; i < json_array_get_length(off); i++)
			printf(" %s", json_array_get_string_element(off, i));
		printf("%s\n", json_array_get_length(off) ? "" : " none");
	}
	if (json_object_has_member(o, "host_stack_isolated")) {
		JsonNode *on = json_object_get_member(o, "owner");
		g_autofree char *owner =
		    on && JSON_NODE_HOLDS_VALUE(on)
			? g_strdup_printf("uid %" G_GINT64_FORMAT, i_or(o, "owner"))
			: g_strdup("-");
		printf("  owner %s, host stack %s\n", owner,
		       b_or(o, "host_stack_isolated") ? "isolated (ingress dropped after vnicd)"
						      : "NOT isolated");
	}
	if (s)
		printf("  kernel io: rx %" G_GINT64_FORMAT " frames (%" G_GINT64_FORMAT
		       " GSO -> %" G_GINT64_FORMAT " segments, %" G_GINT64_FORMAT
		       " checksums filled, %" G_GINT64_FORMAT " bad offload, %" G_GINT64_FORMAT
		       " truncated, %" G_GINT64_FORMAT " no buffer), tx %" G_GINT64_FORMAT
		       " frames (%" G_GINT64_FORMAT " errors); syscalls rx %" G_GINT64_FORMAT
		       ", tx %" G_GINT64_FORMAT "\n",
		       i_or(s, "rx_frames"), i_or(s, "rx_gso_frames"), i_or(s, "rx_gso_segments"),
		       i_or(s, "rx_csum_filled"), i_or(s, "rx_bad_offload"),
		       i_or(s, "rx_truncated"), i_or(s, "rx_nombuf"), i_or(s, "tx_frames"),
		       i_or(s, "tx_errors"), i_or(s, "rx_syscalls"), i_or(s, "tx_syscalls"));
}

static void print_counters(JsonObject *o, const char *indent)
{
	static const char *const dirs[] = {"rx", "tx"};
	JsonObject *d = json_object_get_object_member(o, "drops");
	g_autoptr(GList) keys = d ? json_object_get_members(d) : NULL;

	for (int i = 0; i < 2; i++) {
		char k[6][40];
		const char *cls[] = {"unicast", "multicast", "broadcast",
				     "local",	"external",  "tunnel"};
		for (int c = 0; c < 6; c++)
			snprintf(k[c], sizeof(k[c]), "%s_%s_packets", dirs[i], cls[c]);
		printf("%s%s: %" G_GINT64_FORMAT " packets, %" G_GINT64_FORMAT
		       " bytes; unicast %" G_GINT64_FORMAT ", multicast %" G_GINT64_FORMAT
		       ", broadcast %" G_GINT64_FORMAT "; local %" G_GINT64_FORMAT
		       ", external %" G_GINT64_FORMAT ", tunnel %" G_GINT64_FORMAT "\n",
		       indent, dirs[i], i_or(o, i ? "tx_packets" : "rx_packets"),
		       i_or(o, i ? "tx_bytes" : "rx_bytes"), i_or(o, k[0]), i_or(o, k[1]),
		       i_or(o, k[2]), i_or(o, k[3]), i_or(o, k[4]), i_or(o, k[5]));
	}
	printf("%sdrops: %" G_GINT64_FORMAT, indent, i_or(o, "drops_total"));
	for (GList *l = keys; l; l = l->next)
		if (json_object_get_int_member(d, l->data))
			printf(" %s=%" G_GINT64_FORMAT, (char *)l->data,
			       json_object_get_int_member(d, l->data));
	printf("\n");
}

static bool detail;

/* domifstat-like: one line per NIC, then one per VM. */
static void print_stats(JsonNode *res)
{
	JsonObject *r = json_node_get_object(res);
	JsonArray *a = json_object_get_array_member(r, "ports");
	JsonArray *v = json_object_get_array_member(r, "vms");

	if (detail) {
		for (guint i = 0; a && i < json_array_get_length(a); i++) {
			JsonObject *o = json_array_get_object_element(a, i);
			printf("%s (net %s, vm %s)\n", s_or(o, "name", "?"), s_or(o, "net", "?"),
			       s_or(o, "vm_name", s_or(o, "vm_uuid", "-")));
			print_counters(o, "  ");
		}
		for (guint i = 0; v && i < json_array_get_length(v); i++) {
			JsonObject *o = json_array_get_object_element(v, i);
			printf("VM %s (%s)\n", s_or(o, "vm_uuid", "?"), s_or(o, "vm_name", "-"));
			print_counters(o, "  ");
		}
		return;
	}
	printf("%-16s %-16s %12s %14s %12s %14s %10s\n", "PORT", "VM", "RX_PACKETS", "RX_BYTES",
	       "TX_PACKETS", "TX_BYTES", "DROPS");
	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		JsonObject *o = json_array_get_object_element(a, i);
		printf("%-16s %-16s %12" G_GINT64_FORMAT " %14" G_GINT64_FORMAT
		       " %12" G_GINT64_FORMAT " %14" G_GINT64_FORMAT " %10" G_GINT64_FORMAT "\n",
		       s_or(o, "name", "?"), s_or(o, "vm_name", s_or(o, "vm_uuid", "-")),
		       i_or(o, "rx_packets"), i_or(o, "rx_bytes"), i_or(o, "tx_packets"),
		       i_or(o, "tx_bytes"), i_or(o, "drops_total"));
	}
	for (guint i = 0; v && i < json_array_get_length(v); i++) {
		JsonObject *o = json_array_get_object_element(v, i);
		printf("%-16s %-16s %12" G_GINT64_FORMAT " %14" G_GINT64_FORMAT
		       " %12" G_GINT64_FORMAT " %14" G_GINT64_FORMAT " %10" G_GINT64_FORMAT "\n",
		       "(vm total)", s_or(o, "vm_name", s_or(o, "vm_uuid", "?")),
		       i_or(o, "rx_packets"), i_or(o, "rx_bytes"), i_or(o, "tx_packets"),
		       i_or(o, "tx_bytes"), i_or(o, "drops_total"));
	}
}

static void print_policy(JsonObject *o);
static void print_uplink(const char *name, JsonObject *u);

/* port show of an uplink: its link, then what the PMD itself counted on the wire. */
static void print_uplink_port(JsonObject *o)
{
	JsonObject *w =
	    json_object_has_member(o, "wire") ? json_object_get_object_member(o, "wire") : NULL;

	print_uplink(s_or(o, "name", "?"), o);
	printf("  ethdev port %" G_GINT64_FORMAT " (%s), %" G_GINT64_FORMAT
	       " queue(s)%s, host's own frames skipped %" G_GINT64_FORMAT "\n",
	       i_or(o, "ethdev_port"), s_or(o, "driver", "?"), i_or(o, "queues"),
	       b_or(o, "reflective_relay") ? ", reflective relay on" : "",
	       i_or(o, "host_frames_skipped"));
	if (w)
		printf("  wire (PMD): rx %" G_GINT64_FORMAT " packets %" G_GINT64_FORMAT
		       " bytes, tx %" G_GINT64_FORMAT " packets %" G_GINT64_FORMAT
		       " bytes, rx missed %" G_GINT64_FORMAT ", errors rx %" G_GINT64_FORMAT
		       " tx %" G_GINT64_FORMAT "\n",
		       i_or(w, "rx_packets"), i_or(w, "rx_bytes"), i_or(w, "tx_packets"),
		       i_or(w, "tx_bytes"), i_or(w, "rx_missed"), i_or(w, "rx_errors"),
		       i_or(w, "tx_errors"));
}

/* The uplink's link facts in `net show` (see vn_uplink_describe_link()). */
static void print_uplink(const char *name, JsonObject *u)
{
	JsonObject *f =
	    json_object_has_member(u, "filter") ? json_object_get_object_member(u, "filter") : NULL;
	JsonArray *ad = json_object_has_member(u, "addresses")
			    ? json_object_get_array_member(u, "addresses")
			    : NULL;

	printf("  uplink %s: %s", name, s_or(u, "devargs", "?"));
	if (s_or(u, "ifname", NULL))
		printf(" (interface %s)", s_or(u, "ifname", "?"));
	if (!json_object_has_member(u, "carrier")) {
		printf("\n");
		return;
	}
	printf(", carrier %s (%s, %" G_GINT64_FORMAT " change%s), mtu %" G_GINT64_FORMAT
	       ", mac %s\n",
	       b_or(u, "carrier") ? "on" : "OFF: not transmitting", s_or(u, "operstate", "-"),
	       i_or(u, "carrier_changes"), i_or(u, "carrier_changes") == 1 ? "" : "s",
	       i_or(u, "mtu"), s_or(u, "uplink_mac", "?"));
	printf("  addresses:");
	for (guint i = 0; ad && i < json_array_get_length(ad); i++)
		printf(" %s", json_array_get_string_element(ad, i));
	printf("%s\n", ad && json_array_get_length(ad) ? "" : " none");
	if (f) {
		JsonArray *uc = json_object_get_array_member(f, "unicast");
		printf("  receive filter (%s):", s_or(f, "method", "?"));
		for (guint i = 0; uc && i < json_array_get_length(uc); i++)
			printf(" %s", json_array_get_string_element(uc, i));
		printf("%s%s%s\n", b_or(f, "promiscuous") ? " promiscuous" : "",
		       b_or(f, "allmulticast") ? " allmulticast" : "",
		       b_or(f, "mac_lent") ? " (MAC lent by the passthru port)" : "");
	}
}

static void print_text(const char *cmd, JsonNode *res)
{
	if (!res || JSON_NODE_HOLDS_NULL(res))
		return;
	if (strcmp(cmd, "net.list") == 0) {
		JsonArray *a = json_node_get_array(res);
		printf("%-16s %-8s %6s %8s  %-9s %s\n", "NAME", "TYPE", "PORTS", "FDB", "MODE",
		       "UPLINK");
		for (guint i = 0; i < json_array_get_length(a); i++) {
			JsonObject *o = json_array_get_object_element(a, i);
			printf("%-16s %-8s %6" G_GINT64_FORMAT " %8" G_GINT64_FORMAT "  %-9s %s\n",
			       s_or(o, "name", "?"), s_or(o, "type", "?"), i_or(o, "ports"),
			       i_or(o, "fdb_entries"), s_or(o, "mode", "-"),
			       s_or(o, "uplink", "-"));
		}
	} else if (strcmp(cmd, "net.show") == 0) {
		JsonObject *o = json_node_get_object(res);
		JsonObject *f = json_object_get_object_member(o, "fdb");
		JsonArray *pn = json_object_get_array_member(o, "port_names");
		printf("network %s (%s), %" G_GINT64_FORMAT " port(s):", s_or(o, "name", "?"),
		       s_or(o, "type", "?"), i_or(o, "ports"));
		for (guint i = 0; pn && i < json_array_get_length(pn); i++)
			printf(" %s", json_array_get_string_element(pn, i));
		if (json_object_has_member(o, "mode")) /* macvtap: no learning */
			printf("\n  MAC table: %" G_GINT64_FORMAT " entries (the ports' --mac)\n",
			       i_or(f, "entries"));
		else
			printf("\n  fdb: %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT
			       " entries, aging %" G_GINT64_FORMAT " s, learned %" G_GINT64_FORMAT
			       ", moved %" G_GINT64_FORMAT ", aged %" G_GINT64_FORMAT
			       ", limit hits %" G_GINT64_FORMAT "\n",
			       i_or(f, "entries"), i_or(f, "max"), i_or(f, "aging_s"),
			       i_or(f, "learned"), i_or(f, "moved"), i_or(f, "aged"),
			       i_or(f, "limit_hits"));
		if (json_object_has_member(o, "mode"))
			printf("  macvtap mode %s, hairpin %s%s\n", s_or(o, "mode", "?"),
			       s_or(o, "hairpin", "?"), b_or(o, "nopromisc") ? ", nopromisc" : "");
		if (json_object_has_member(o, "uplink_link"))
			print_uplink(s_or(o, "uplink", "?"),
				     json_object_get_object_member(o, "uplink_link"));
	} else if (strcmp(cmd, "port.list") == 0) {
		JsonArray *a = json_node_get_array(res);
		printf("%-16s %-6s %-12s %-5s %-17s %s\n", "NAME", "KIND", "NET", "LINK", "MAC",
		       "PATH");
		for (guint i = 0; i < json_array_get_length(a); i++) {
			JsonObject *o = json_array_get_object_element(a, i);
			gboolean srv =
			    json_object_get_boolean_member_with_default(o, "server", FALSE);
			g_autofree char *where = NULL;
			if (json_object_has_member(o, "ifname")) /* tap, vnet: the device */
				where = g_strdup_printf("%s%s%s", s_or(o, "ifname", "?"),
							json_object_has_member(o, "netns") &&
								s_or(o, "netns", NULL)
							    ? " netns "
							    : "",
							s_or(o, "netns", ""));
			printf("%-16s %-6s %-12s %-5s %-17s %s%s\n", s_or(o, "name", "?"),
			       s_or(o, "kind", "?"), s_or(o, "net", "?"), s_or(o, "link", "?"),
			       s_or(o, "mac", "-"), where ? where : s_or(o, "path", "-"),
			       srv ? " (server)" : "");
		}
	} else if (strcmp(cmd, "port.show") == 0) {
		JsonObject *o = json_node_get_object(res);
		printf("port %s: kind %s, network %s, link %s, mac %s\n", s_or(o, "name", "?"),
		       s_or(o, "kind", "?"), s_or(o, "net", "?"), s_or(o, "link", "?"),
		       s_or(o, "mac", "-"));
		if (g_strcmp0(s_or(o, "kind", NULL), "uplink") == 0)
			print_uplink_port(o);
		else if (json_object_has_member(o, "ifname"))
			print_tap(o);
		else
			printf("  path %s (%s), queues %" G_GINT64_FORMAT
			       " (guest uses %" G_GINT64_FORMAT "), connects %" G_GINT64_FORMAT
			       ", disconnects %" G_GINT64_FORMAT "\n",
			       s_or(o, "path", "-"),
			       json_object_get_boolean_member_with_default(o, "server", FALSE)
				   ? "server"
				   : "client",
			       i_or(o, "queues"), i_or(o, "guest_queues"), i_or(o, "connects"),
			       i_or(o, "disconnects"));
		print_policy(o);
		if (json_object_has_member(o, "stats"))
			print_counters(json_object_get_object_member(o, "stats"), "  ");
	} else if (strcmp(cmd, "fdb.show") == 0) {
		JsonArray *a = json_node_get_array(res);
		printf("%-12s %4s %-17s %-16s %-7s %s\n", "NET", "VLAN", "MAC", "PORT", "TYPE",
		       "AGE");
		for (guint i = 0; i < json_array_get_length(a); i++) {
			JsonObject *o = json_array_get_object_element(a, i);
			printf("%-12s %4" G_GINT64_FORMAT " %-17s %-16s %-7s %" G_GINT64_FORMAT
			       "\n",
			       s_or(o, "net", "?"), i_or(o, "vlan"), s_or(o, "mac", "?"),
			       s_or(o, "port", "-"), s_or(o, "type", "?"), i_or(o, "age"));
		}
	} else if (strcmp(cmd, "fdb.flush") == 0) {
		printf("removed %" G_GINT64_FORMAT " entries\n",
		       i_or(json_node_get_object(res), "removed"));
	} else if (strcmp(cmd, "stats") == 0) {
		print_stats(res);
	} else if (strcmp(cmd, "stats.reset") == 0) {
		printf("reset %" G_GINT64_FORMAT " ledger entr%s\n",
		       i_or(json_node_get_object(res), "reset"),
		       i_or(json_node_get_object(res), "reset") == 1 ? "y" : "ies");
	} else if (strcmp(cmd, "ping") == 0) {
		printf("vnicd %s\n", s_or(json_node_get_object(res), "version", "?"));
	}
}

/* Options of `port add`, passed to vnicd as members of "args" (dashes become underscores). */
enum opt_type { OPT_STR, OPT_UINT, OPT_FLAG };
static const struct {
	const char *opt;
	enum opt_type type;
} port_opts[] = {
    {"--path", OPT_STR},    {"--server", OPT_FLAG}, {"--mac", OPT_STR},	 {"--queues", OPT_UINT},
    {"--ifname", OPT_STR},  {"--netns", OPT_STR},   {"--mtu", OPT_UINT}, {"--owner", OPT_UINT},
    {"--vm-uuid", OPT_STR}, {"--vm-name", OPT_STR},
};

/* Options of `port set`: JSON member, and the value a flag stands for (NULL: takes a value). */
static const struct {
	const char *opt, *key, *flag;
} set_opts[] = {
    {"--vlan-mode", "vlan_mode", NULL},
    {"--vlan", "vlan", NULL},
    {"--vlans", "vlans", NULL},
    {"--tpid", "tpid", NULL},
    {"--lock-mac", "lock_mac", "true"},
    {"--no-lock-mac", "lock_mac", "false"},
    {"--allowed-ip", "allowed_ip", NULL},
    {"--allow-dhcp-server", "allow_dhcp_server", "true"},
    {"--no-allow-dhcp-server", "allow_dhcp_server", "false"},
    {"--allow-ra", "allow_ra", "true"},
    {"--no-allow-ra", "allow_ra", "false"},
    {"--inbound", "inbound", NULL},
    {"--outbound", "outbound", NULL},
    {"--reflective-relay", "reflective_relay", NULL},
};

/* "on"/"off" (or true/false, yes/no) of option @opt. */
static bool parse_onoff(const char *opt, const char *v)
{
	if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes"))
		return true;
	if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no"))
		return false;
	usage_error("%s takes on or off, not '%s'", opt, v);
}

static int set_opt_index(const char *a)
{
	for (size_t k = 0; k < G_N_ELEMENTS(set_opts); k++)
		if (strcmp(a, set_opts[k].opt) == 0)
			return (int)k;
	return -1;
}

static void print_policy(JsonObject *o)
{
	JsonObject *p = json_object_get_object_member(o, "policy");
	JsonArray *v, *ips;
	static const char *const dirs[] = {"inbound", "outbound"};

	if (!p)
		return;
	printf("  policy: vlan-mode %s", s_or(p, "vlan_mode", "none"));
	if (json_object_has_member(p, "vlan") && !json_object_get_null_member(p, "vlan"))
		printf(" vlan %" G_GINT64_FORMAT, i_or(p, "vlan"));
	v = json_object_get_array_member(p, "vlans");
	if (v && json_array_get_length(v)) {
		guint n = json_array_get_length(v);
		printf(" vlans ");
		for (guint i = 0; i < n; i++) {
			gint64 lo = json_array_get_int_element(v, i), hi = lo;
			while (i + 1 < n && json_array_get_int_element(v, i + 1) == hi + 1)
				hi = json_array_get_int_element(v, ++i);
			printf(hi > lo ? "%s%" G_GINT64_FORMAT "-%" G_GINT64_FORMAT
				       : "%s%" G_GINT64_FORMAT,
			       lo == json_array_get_int_element(v, 0) ? "" : ",", lo, hi);
		}
	}
	if (json_object_get_boolean_member_with_default(p, "untagged_lan", FALSE) &&
	    strcmp(s_or(p, "vlan_mode", "none"), "none") != 0)
		printf(" +untagged");
	if (s_or(p, "tpid", NULL))
		printf(" tpid %s", s_or(p, "tpid", ""));
	printf("; lock-mac %s",
	       json_object_get_boolean_member_with_default(p, "lock_mac", FALSE) ? "on" : "off");
	ips = json_object_get_array_member(p, "allowed_ip");
	for (guint i = 0; ips && i < json_array_get_length(ips); i++)
		printf("%s%s", i ? "," : "; allowed-ip ", json_array_get_string_element(ips, i));
	for (int d = 0; d < 2; d++) {
		JsonNode *n = json_object_get_member(p, dirs[d]);
		if (n && JSON_NODE_HOLDS_OBJECT(n)) {
			JsonObject *r = json_node_get_object(n);
			printf("; %s average=%" G_GINT64_FORMAT, dirs[d], i_or(r, "average"));
			if (!json_object_get_null_member(r, "peak"))
				printf(",peak=%" G_GINT64_FORMAT, i_or(r, "peak"));
			if (!json_object_get_null_member(r, "burst"))
				printf(",burst=%" G_GINT64_FORMAT, i_or(r, "burst"));
		}
	}
	printf("\n");
}

static gint64 parse_uint(const char *opt, const char *v)
{
	guint64 n;

	if (!v || !g_ascii_string_to_unsigned(v, 10, 0, G_MAXINT32, &n, NULL))
		usage_error("%s needs a whole number, got '%s'", opt, v ? v : "");
	return (gint64)n;
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	interrupted = 1;
}

/* Ask vnicd for {"cmd": cmd, "args": {"id": id}}; exit on error. Return: the result object. */
static JsonObject *capture_call(const char *sock, const char *cmd, gint64 id, JsonParser *p)
{
	g_autofree char *line =
	    g_strdup_printf("{\"cmd\":\"%s\",\"args\":{\"id\":%" G_GINT64_FORMAT "}}\n", cmd, id);
	JsonNode *root = transact(sock, line, p);
	JsonObject *ro = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;

	if (!ro || !json_object_get_boolean_member_with_default(ro, "ok", FALSE)) {
		fprintf(stderr, "vnicctl: error: %s\n", ro ? s_or(ro, "error", "?") : "bad answer");
		exit(1);
	}
	return json_object_get_object_member(ro, "result");
}

/*
 * vnicctl capture PORT --out FILE [--count N] [--duration S] [--snaplen N]: the file is
 * opened here, with the caller's rights, and handed to vnicd; progress goes to stderr.
 */
static int run_capture(const char *sock, const char *port, const char *out, gint64 count,
		       gint64 duration, gint64 snaplen, bool json)
{
	g_autoptr(JsonParser) p = json_parser_new();
	g_autoptr(GString) req = g_string_new(NULL);
	JsonObject *ro, *st;
	JsonNode *root;
	gint64 id, last_shown = -1;
	bool tty = isatty(2);
	int fd;

	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "vnicctl: cannot open %s: %s\n", out, g_strerror(errno));
		return 1;
	}
	g_string_printf(req, "{\"cmd\":\"capture.start\",\"args\":{\"port\":");
	{
		g_autoptr(JsonNode) n = json_node_new(JSON_NODE_VALUE);
		g_autofree char *q = NULL;
		json_node_set_string(n, port);
		q = json_to_string(n, FALSE);
		g_string_append(req, q);
	}
	if (count > 0)
		g_string_append_printf(req, ",\"count\":%" G_GINT64_FORMAT, count);
	if (duration > 0)
		g_string_append_printf(req, ",\"duration\":%" G_GINT64_FORMAT, duration);
	if (snaplen > 0)
		g_string_append_printf(req, ",\"snaplen\":%" G_GINT64_FORMAT, snaplen);
	g_string_append(req, "}}\n");
	root = transact_fd(sock, req->str, p, fd);
	close(fd);
	ro = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
	if (!ro || !json_object_get_boolean_member_with_default(ro, "ok", FALSE)) {
		fprintf(stderr, "vnicctl: error: %s\n", ro ? s_or(ro, "error", "?") : "bad answer");
		unlink(out);
		return 1;
	}
	id = i_or(json_object_get_object_member(ro, "result"), "id");
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	if (count <= 0 && duration <= 0)
		fprintf(stderr, "capturing %s into %s until Ctrl-C\n", port, out);
	for (;;) {
		g_autoptr(JsonParser) sp = json_parser_new();
		gint64 secs;

		if (interrupted) {
			capture_call(sock, "capture.stop", id, sp);
			interrupted = 0;
			continue;
		}
		st = capture_call(sock, "capture.status", id, sp);
		secs = (gint64)json_object_get_double_member_with_default(st, "seconds", 0);
		if (strcmp(s_or(st, "state", "?"), "running") != 0) {
			if (tty && last_shown >= 0)
				fputc('\n', stderr);
			if (json) {
				g_autoptr(JsonGenerator) gen = json_generator_new();
				g_autofree char *text = NULL;
				g_autoptr(JsonNode) n = json_node_new(JSON_NODE_OBJECT);
				json_node_set_object(n, st);
				json_generator_set_root(gen, n);
				json_generator_set_pretty(gen, TRUE);
				text = json_generator_to_data(gen, NULL);
				printf("%s\n", text);
			} else {
				printf("capture %" G_GINT64_FORMAT
				       " of %s %s (%s): %" G_GINT64_FORMAT
				       " packets, %" G_GINT64_FORMAT
				       " bytes written to %s, %" G_GINT64_FORMAT " dropped\n",
				       id, port, s_or(st, "state", "?"), s_or(st, "reason", "-"),
				       i_or(st, "packets"), i_or(st, "bytes"), out,
				       i_or(st, "dropped"));
			}
			if (strcmp(s_or(st, "state", "?"), "done") != 0) {
				fprintf(stderr, "vnicctl: capture failed: %s\n",
					s_or(st, "error", "?"));
				return 1;
			}
			return 0;
		}
		if (tty || secs != last_shown) {
			fprintf(stderr,
				"%scapture %" G_GINT64_FORMAT ": %" G_GINT64_FORMAT
				" packets, %" G_GINT64_FORMAT " dropped, %" G_GINT64_FORMAT " s%s",
				tty ? "\r" : "", id, i_or(st, "packets"), i_or(st, "dropped"), secs,
				tty ? "   " : "\n");
			last_shown = secs;
		}
		g_usleep(200 * 1000);
	}
}

static int port_opt_index(const char *a)
{
	for (size_t k = 0; k < G_N_ELEMENTS(port_opts); k++)
		if (strcmp(a, port_opts[k].opt) == 0)
			return (int)k;
	return -1;
}

int main(int argc, char **argv)
{
	const char *sock =
	    g_getenv("VNICD_SOCKET") ? g_getenv("VNICD_SOCKET") : "/run/vnicd/vnicd.sock";
	g_autoptr(GPtrArray) pos = g_ptr_array_new();
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(JsonNode) reqroot = NULL;
	g_autofree char *req = NULL, *line = NULL;
	const char *net = NULL, *port = NULL, *cmd = NULL, *vm = NULL, *out = NULL;
	const char *uplink = NULL, *mode = NULL, *hairpin = NULL;
	bool nopromisc = false;
	gint64 count = -1, duration = -1, snaplen = -1;
	const char *popt_val[G_N_ELEMENTS(port_opts)] = {0};
	const char *sopt_val[G_N_ELEMENTS(set_opts)] = {0};
	bool any_popt = false, any_sopt = false;
	gboolean json = FALSE;
	JsonNode *root;
	JsonObject *ro;
	const char *g, *v;
	guint np;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
#define NEXT() (i + 1 < argc ? argv[++i] : (usage_error("%s needs a value", a), NULL))
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		} else if (strcmp(a, "--version") == 0) {
			printf("vnicctl %s\n", VNICD_VERSION);
			return 0;
		} else if (strcmp(a, "--socket") == 0 || strcmp(a, "-s") == 0) {
			sock = NEXT();
		} else if (strcmp(a, "--json") == 0) {
			json = TRUE;
		} else if (port_opt_index(a) >= 0) {
			int k = port_opt_index(a);
			popt_val[k] = port_opts[k].type == OPT_FLAG ? "" : NEXT();
			if (port_opts[k].type == OPT_UINT)
				parse_uint(a, popt_val[k]);
			any_popt = true;
		} else if (set_opt_index(a) >= 0) {
			int k = set_opt_index(a);
			sopt_val[k] = set_opts[k].flag ? set_opts[k].flag : NEXT();
			for (size_t j = 0; j < G_N_ELEMENTS(set_opts); j++)
				if (j != (size_t)k && sopt_val[j] &&
				    strcmp(set_opts[j].key, set_opts[k].key) == 0)
					usage_error("%s and %s contradict each other",
						    set_opts[j].opt, a);
			any_sopt = true;
		} else if (strcmp(a, "--net") == 0) {
			net = NEXT();
		} else if (strcmp(a, "--uplink") == 0) {
			uplink = NEXT();
		} else if (strcmp(a, "--mode") == 0) {
			mode = NEXT();
		} else if (strcmp(a, "--hairpin") == 0) {
			hairpin = NEXT();
		} else if (strcmp(a, "--nopromisc") == 0) {
			nopromisc = true;
		} else if (strcmp(a, "--port") == 0) {
			port = NEXT();
		} else if (strcmp(a, "--vm") == 0) {
			vm = NEXT();
		} else if (strcmp(a, "--out") == 0) {
			out = NEXT();
		} else if (strcmp(a, "--count") == 0) {
			count = parse_uint(a, NEXT());
		} else if (strcmp(a, "--duration") == 0) {
			duration = parse_uint(a, NEXT());
		} else if (strcmp(a, "--snaplen") == 0) {
			snaplen = parse_uint(a, NEXT());
		} else if (strcmp(a, "--detail") == 0) {
			detail = true;
		} else if (a[0] == '-' && a[1] == '-') {
			usage_error("unknown option '%s'", a);
		} else {
			g_ptr_array_add(pos, (gpointer)a);
		}
#undef NEXT
	}
	np = pos->len;
	if (np == 0)
		usage_error("no command given");
	g = pos->pdata[0];
	v = np > 1 ? pos->pdata[1] : NULL;
#define POS(i) ((const char *)(np > (i) ? pos->pdata[i] : NULL))
#define NEED(n, what)                                                                              \
	do {                                                                                       \
		if (np < (n))                                                                      \
			usage_error("%s", what);                                                   \
		if (np > (n))                                                                      \
			usage_error("unexpected argument '%s'", POS(n));                           \
	} while (0)

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "args");
	json_builder_begin_object(b);
#define ARG_S(k, val)                                                                              \
	do {                                                                                       \
		if (val) {                                                                         \
			json_builder_set_member_name(b, k);                                        \
			json_builder_add_string_value(b, val);                                     \
		}                                                                                  \
	} while (0)
	if (strcmp(g, "capture") == 0) {
		NEED(
		    2,
		    "usage: capture PORT --out FILE.pcapng [--count N|--duration S] [--snaplen N]");
		if (!out)
			usage_error("capture needs --out FILE.pcapng");
		if (count == 0 || duration == 0)
			usage_error("--count and --duration must be at least 1");
		return run_capture(sock, v, out, count, duration, snaplen, json);
	}
	if (out || count >= 0 || duration >= 0 || snaplen >= 0)
		usage_error("--out, --count, --duration and --snaplen belong to 'capture'");
	if (strcmp(g, "ping") == 0) {
		NEED(1, "");
		cmd = "ping";
	} else if (strcmp(g, "stats") == 0 && (!v || strcmp(v, "reset") != 0)) {
		NEED(1, "");
		cmd = "stats";
		ARG_S("port", port);
		ARG_S("vm", vm);
	} else if (strcmp(g, "stats") == 0) {
		NEED(2, "");
		if (!vm && !port)
			usage_error("usage: stats reset --vm UUID | --port NAME");
		cmd = "stats.reset";
		ARG_S("port", port);
		ARG_S("vm", vm);
	} else if (strcmp(g, "net") && strcmp(g, "port") && strcmp(g, "fdb") &&
		   strcmp(g, "capture")) {
		usage_error("unknown command '%s'", g);
	} else if (!v) {
		usage_error("'%s' needs a subcommand", g);
	} else if (strcmp(g, "net") == 0) {
		if (strcmp(v, "add") == 0) {
			NEED(4, "usage: net add NAME bridge|macvtap [--uplink DEVARGS] [--mode M] "
				"[--hairpin H] [--nopromisc]");
			cmd = "net.add";
			ARG_S("name", POS(2));
			ARG_S("type", POS(3));
			ARG_S("uplink", uplink);
			ARG_S("mode", mode);
			ARG_S("hairpin", hairpin);
			if (nopromisc) {
				json_builder_set_member_name(b, "nopromisc");
				json_builder_add_boolean_value(b, TRUE);
			}
		} else if (strcmp(v, "set") == 0) {
			NEED(3, "usage: net set NAME [--mode vepa|bridge|private|passthru] "
				"[--hairpin external|emulated]");
			if (!mode && !hairpin)
				usage_error("net set needs --mode and/or --hairpin");
			cmd = "net.set";
			ARG_S("name", POS(2));
			ARG_S("mode", mode);
			ARG_S("hairpin", hairpin);
		} else if (strcmp(v, "del") == 0) {
			NEED(3, "usage: net del NAME");
			cmd = "net.del";
			ARG_S("name", POS(2));
		} else if (strcmp(v, "list") == 0) {
			NEED(2, "");
			cmd = "net.list";
		} else if (strcmp(v, "show") == 0) {
			NEED(3, "usage: net show NAME");
			cmd = "net.show";
			ARG_S("name", POS(2));
		}
	} else if (strcmp(g, "port") == 0) {
		if (strcmp(v, "add") == 0) {
			NEED(4, "usage: port add NAME vhost --path SOCK [--server] [--mac MAC] "
				"[--queues N] [--net NET]");
			cmd = "port.add";
			ARG_S("name", POS(2));
			ARG_S("kind", POS(3));
			ARG_S("net", net);
			for (size_t k = 0; k < G_N_ELEMENTS(port_opts); k++) {
				g_autofree char *key = NULL;
				if (!popt_val[k])
					continue;
				key = g_strdelimit(g_strdup(port_opts[k].opt + 2), "-", '_');
				json_builder_set_member_name(b, key);
				if (port_opts[k].type == OPT_FLAG)
					json_builder_add_boolean_value(b, TRUE);
				else if (port_opts[k].type == OPT_UINT)
					json_builder_add_int_value(
					    b, parse_uint(port_opts[k].opt, popt_val[k]));
				else
					json_builder_add_string_value(b, popt_val[k]);
			}
		} else if (strcmp(v, "del") == 0) {
			NEED(3, "usage: port del NAME");
			cmd = "port.del";
			ARG_S("name", POS(2));
		} else if (strcmp(v, "set") == 0) {
			NEED(3, "usage: port set NAME [--vlan-mode MODE] [--vlan N] [--vlans LIST] "
				"...");
			if (!any_sopt)
				usage_error(
				    "port set needs at least one setting (see vnicctl --help)");
			cmd = "port.set";
			ARG_S("name", POS(2));
			for (size_t k = 0; k < G_N_ELEMENTS(set_opts); k++) {
				guint64 num;
				if (!sopt_val[k])
					continue;
				json_builder_set_member_name(b, set_opts[k].key);
				if (set_opts[k].flag)
					json_builder_add_boolean_value(
					    b, strcmp(set_opts[k].flag, "true") == 0);
				else if (strcmp(set_opts[k].key, "reflective_relay") == 0)
					json_builder_add_boolean_value(
					    b, parse_onoff(set_opts[k].opt, sopt_val[k]));
				else if (strcmp(set_opts[k].key, "vlan") == 0 &&
					 g_ascii_string_to_unsigned(sopt_val[k], 10, 0, 65535, &num,
								    NULL))
					json_builder_add_int_value(b, (gint64)num);
				else
					json_builder_add_string_value(b, sopt_val[k]);
			}
		} else if (strcmp(v, "list") == 0) {
			NEED(2, "");
			cmd = "port.list";
		} else if (strcmp(v, "show") == 0) {
			NEED(3, "usage: port show NAME");
			cmd = "port.show";
			ARG_S("name", POS(2));
		}
	} else if (strcmp(g, "fdb") == 0) {
		if (strcmp(v, "show") == 0) {
			NEED(2, "");
			cmd = "fdb.show";
			ARG_S("net", net);
		} else if (strcmp(v, "add") == 0) {
			NEED(4, "usage: fdb add MAC PORT");
			cmd = "fdb.add";
			ARG_S("mac", POS(2));
			ARG_S("port", POS(3));
		} else if (strcmp(v, "flush") == 0) {
			NEED(2, "");
			cmd = "fdb.flush";
			ARG_S("net", net);
		}
	}
	if (!cmd)
		usage_error("unknown command '%s%s%s'", g, v ? " " : "", v ? v : "");
	if (any_popt && strcmp(cmd, "port.add") != 0)
		usage_error("--path, --server, --mac, --queues, --ifname, --netns, --mtu, --owner, "
			    "--vm-uuid and --vm-name belong to 'port add'");
	if (any_sopt && strcmp(cmd, "port.set") != 0)
		usage_error("--vlan-mode, --vlan, --vlans, --tpid, --lock-mac, --allowed-ip, "
			    "--allow-dhcp-server, --allow-ra, --inbound, --outbound and "
			    "--reflective-relay belong to 'port set'");
	if ((vm || port) && strncmp(cmd, "stats", 5) != 0)
		usage_error("--vm and --port belong to 'stats'");
	if ((uplink || nopromisc) && strcmp(cmd, "net.add") != 0)
		usage_error("--uplink and --nopromisc belong to 'net add'");
	if ((mode || hairpin) && strcmp(cmd, "net.add") != 0 && strcmp(cmd, "net.set") != 0)
		usage_error("--mode and --hairpin belong to 'net add' and 'net set'");
	if (net && strcmp(cmd, "port.add") && strcmp(cmd, "fdb.show") && strcmp(cmd, "fdb.flush"))
		usage_error("--net does not apply to '%s %s'", g, v ? v : "");
	json_builder_end_object(b);
	json_builder_set_member_name(b, "cmd");
	json_builder_add_string_value(b, cmd);
	json_builder_end_object(b);
	reqroot = json_builder_get_root(b);
	json_generator_set_root(gen, reqroot);
	req = json_generator_to_data(gen, NULL);
	line = g_strdup_printf("%s\n", req);

	root = transact(sock, line, parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		fprintf(stderr, "vnicctl: malformed answer from vnicd\n");
		return 1;
	}
	ro = json_node_get_object(root);
	if (!json_object_get_boolean_member_with_default(ro, "ok", FALSE)) {
		fprintf(stderr, "vnicctl: error: %s\n", s_or(ro, "error", "unknown error"));
		return 1;
	}
	if (json) {
		g_autoptr(JsonGenerator) pg = json_generator_new();
		g_autofree char *text = NULL;
		JsonNode *res = json_object_get_member(ro, "result");
		json_generator_set_root(pg, res);
		json_generator_set_pretty(pg, TRUE);
		text = json_generator_to_data(pg, NULL);
		printf("%s\n", text);
	} else {
		print_text(cmd, json_object_get_member(ro, "result"));
	}
	return 0;
}
