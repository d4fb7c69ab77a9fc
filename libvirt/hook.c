/* SPDX-License-Identifier: MIT */
/* vnicd-libvirt-hook: libvirt's qemu hook; makes vnicd's ports follow a guest's life cycle. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "hook.h"
#include "vnicd-config.h"
#include "vnicd/domxml.h"

/*
 * What each libvirt hook operation does (libvirt 9.0, see the README's "libvirt" section):
 * start = prepare -> start -> started; destroy = stopped -> release; a refused start =
 * prepare -> stopped -> release; libvirtd restart = reconnect per running guest. A strict
 * operation fails (exit 1, one line on stderr, libvirt refuses the start); the others never
 * fail: libvirt would kill a running guest, or nothing can be done about it any more.
 */
enum hook_action {
	ACT_NONE,     /* nothing to do */
	ACT_CREATE,   /* make the ports and their policy (idempotent) */
	ACT_REMOVE,   /* remove the ports (their accounting stays in vnicd's ledger) */
	ACT_ANNOUNCE, /* migrate/restore (before QEMU runs here): the ports as ACT_CREATE, and
			 vnicd announces the guest's MACs when it connects (port.announce); the
			 XML is accepted unchanged (nothing on stdout) */
};

static const struct hook_op {
	const char *name;
	enum hook_action act;
	bool strict;
} hook_ops[] = {
    {"prepare", ACT_CREATE, true},    {"start", ACT_CREATE, true},
    {"reconnect", ACT_CREATE, false}, {"attach", ACT_CREATE, false},
    {"stopped", ACT_REMOVE, false},   {"release", ACT_REMOVE, false},
    {"migrate", ACT_ANNOUNCE, false}, {"restore", ACT_ANNOUNCE, false},
};

/* A message on stderr (libvirt shows it when the hook fails) and in syslog. */
static void say(int prio, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void say(int prio, const char *fmt, ...)
{
	g_autofree char *m = NULL;
	va_list ap;

	va_start(ap, fmt);
	m = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_strdelimit(m, "\n", ' '); /* one line */
	fprintf(stderr, "%s: %s\n", HOOK_PROG, m);
	syslog(prio, "%s", m);
}

/* The whole of stdin, at most VN_DOMXML_MAX_XML + 1 bytes (so too long is noticed). */
static GString *read_stdin(void)
{
	GString *s = g_string_new(NULL);
	char buf[65536];
	ssize_t n;

	while (s->len <= VN_DOMXML_MAX_XML && (n = read(0, buf, sizeof(buf))) != 0) {
		if (n < 0)
			break;
		g_string_append_len(s, buf, n);
	}
	return s;
}

/* String member @k of object node @n, or "" (absent, null, not a string). */
static const char *res_str(JsonNode *n, const char *k)
{
	JsonObject *o = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
	JsonNode *v = o ? json_object_get_member(o, k) : NULL;

	return v && JSON_NODE_HOLDS_VALUE(v) && json_node_get_value_type(v) == G_TYPE_STRING
		   ? json_node_get_string(v)
		   : "";
}

/* Is port @shown (port.show's result) what @nic of @dom asks for? */
static bool port_matches(JsonNode *shown, const struct vn_domxml *dom,
			 const struct vn_domxml_nic *nic)
{
	JsonObject *o = json_node_get_object(shown);
	bool vhost = nic->type == VN_DOMXML_VHOSTUSER;
	const char *net = nic->policy ? nic->policy->network : VN_DOMXML_DEFAULT_NET;
	gint64 queues = json_object_get_int_member_with_default(o, "queues", 1);

	if (strcmp(res_str(shown, "kind"), vhost ? "vhost" : "vnet") ||
	    strcmp(res_str(shown, "net"), net) || strcmp(res_str(shown, "vm_uuid"), dom->uuid) ||
	    strcmp(res_str(shown, "mac"), nic->mac) || queues != (nic->queues ? nic->queues : 1))
		return false;
	if (nic->mtu && json_object_get_int_member_with_default(o, "mtu", 0) != nic->mtu)
		return false;
	if (!vhost)
		return !strcmp(res_str(shown, "ifname"), nic->ifname);
	if (!nic->mtu && json_object_get_int_member_with_default(o, "mtu", 0) != 0)
		return false;
	return !strcmp(res_str(shown, "path"), nic->path) &&
	       json_object_get_boolean_member_with_default(o, "server", FALSE) == nic->vnicd_server;
}

/* Send @req (consumed); Return: its result, or NULL with @err. */
static JsonNode *call(struct hook_conn *c, JsonNode *req, GError **err)
{
	JsonNode *res = hook_call(c, req, err);

	json_node_unref(req);
	return res;
}

/* port.show of @name: its result, or NULL (no such port, or @err set on a transport error). */
static JsonNode *show(struct hook_conn *c, const char *name, GError **err)
{
	JsonNode *req = json_from_string("{\"cmd\":\"port.show\",\"args\":{}}", NULL);
	g_autoptr(GError) e = NULL;
	JsonNode *res;

	json_object_set_string_member(
	    json_object_get_object_member(json_node_get_object(req), "args"), "name", name);
	res = call(c, req, &e);
	if (!res && e && e->code != G_IO_ERROR_FAILED)
		g_propagate_error(err, g_steal_pointer(&e));
	return res;
}

/*
 * Make @nic's port exist as @dom asks (an existing port with other settings, e.g. left over
 * from an earlier run of another guest, is replaced) and give it its policy.
 * Return: 0, or -1 with @err naming the port.
 */
static int ensure_port(struct hook_conn *c, const struct vn_domxml *dom,
		       const struct vn_domxml_nic *nic, GError **err)
{
	g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) e = NULL;
	g_autoptr(JsonNode) shown = show(c, nic->port, &e);
	g_autoptr(JsonNode) r = NULL;
	bool add = true;

	if (e)
		goto fail;
	if (shown && port_matches(shown, dom, nic)) {
		add = false;
	} else if (shown) {
		say(LOG_NOTICE, "port %s exists with other settings: replacing it", nic->port);
		if (!(r = call(c, vn_domxml_port_del(nic), &e)))
			goto fail;
		g_clear_pointer(&r, json_node_unref);
	}
	if (add && !(r = call(c, vn_domxml_port_add(dom, nic, notes), &e)))
		goto fail;
	g_clear_pointer(&r, json_node_unref);
	if (!(r = call(c, vn_domxml_port_set(nic), &e)))
		goto fail;
	for (guint i = 0; i < notes->len; i++)
		say(LOG_NOTICE, "note: %s", (char *)notes->pdata[i]);
	return 0;
fail:
	g_set_error(err, e->domain, e->code, "port %s: %s", nic->port, e->message);
	return -1;
}

/* port.announce of @nic's port. Return: 0, or -1 with @err naming the port. */
static int announce_port(struct hook_conn *c, const struct vn_domxml_nic *nic, GError **err)
{
	JsonNode *req = json_from_string("{\"cmd\":\"port.announce\",\"args\":{}}", NULL);
	g_autoptr(GError) e = NULL;
	g_autoptr(JsonNode) r = NULL;

	json_object_set_string_member(
	    json_object_get_object_member(json_node_get_object(req), "args"), "name", nic->port);
	if (!(r = call(c, req, &e))) {
		g_set_error(err, e->domain, e->code, "port %s: %s", nic->port, e->message);
		return -1;
	}
	return 0;
}

/* Remove @nic's port when it is @dom's (labelled with its UUID). Return: 0, or -1 (@err). */
static int remove_port(struct hook_conn *c, const struct vn_domxml *dom,
		       const struct vn_domxml_nic *nic, GError **err)
{
	g_autoptr(GError) e = NULL;
	g_autoptr(JsonNode) shown = show(c, nic->port, &e);
	g_autoptr(JsonNode) r = NULL;

	if (e) {
		g_set_error(err, e->domain, e->code, "port %s: %s", nic->port, e->message);
		return -1;
	}
	if (!shown)
		return 0; /* gone already (release after stopped) */
	if (strcmp(res_str(shown, "vm_uuid"), dom->uuid)) {
		say(LOG_WARNING, "port %s is not guest %s's (vm_uuid '%s'): left in place",
		    nic->port, dom->uuid, res_str(shown, "vm_uuid"));
		return 0;
	}
	if (!(r = call(c, vn_domxml_port_del(nic), &e))) {
		g_set_error(err, e->domain, e->code, "port %s: %s", nic->port, e->message);
		return -1;
	}
	return 0;
}

/* Is @nic an ethernet NIC vnicd may serve without the metadata naming it? */
static bool adoptable(const struct vn_domxml_nic *nic)
{
	return nic->type == VN_DOMXML_ETHERNET && !nic->policy && *nic->ifname;
}

/*
 * Ethernet NICs the metadata does not name whose target is a vnet port made outside libvirt
 * (`vnicctl port add NAME vnet --ifname IF`): that port gets what libvirt's <vlan> and
 * <bandwidth> state and is otherwise left as it is (no labels: they are set when a port is
 * made; not removed when the guest stops). Best effort: problems are logged.
 */
static void adopt_ethernet(struct hook_conn *c, const struct vn_domxml *dom)
{
	g_autoptr(GError) e = NULL;
	g_autoptr(JsonNode) list = NULL;
	JsonArray *a;

	for (guint i = 0; i < dom->all->len && !list; i++)
		if (adoptable(dom->all->pdata[i]) &&
		    !(list = call(c, json_from_string("{\"cmd\":\"port.list\"}", NULL), &e)))
			return;
	if (!list || !JSON_NODE_HOLDS_ARRAY(list))
		return;
	a = json_node_get_array(list);
	for (guint i = 0; i < dom->all->len; i++) {
		const struct vn_domxml_nic *nic = dom->all->pdata[i];
		for (guint k = 0; adoptable(nic) && k < json_array_get_length(a); k++) {
			JsonNode *p = json_array_get_element(a, k);
			g_autoptr(JsonNode) r = NULL;
			JsonNode *req;
			if (strcmp(res_str(p, "kind"), "vnet") ||
			    strcmp(res_str(p, "ifname"), nic->ifname))
				continue;
			req = vn_domxml_port_set_libvirt(nic, res_str(p, "name"));
			if (req && !(r = call(c, req, &e))) {
				say(LOG_WARNING, "vnet port %s (%s): %s", res_str(p, "name"),
				    nic->ifname, e->message);
				g_clear_error(&e);
			}
		}
	}
}

/* Run @op for @dom on vnicd at @sock. Return: the exit status. */
static int run_op(const struct hook_op *op, const struct vn_domxml *dom, const char *sock)
{
	g_autoptr(GError) err = NULL;
	struct hook_conn *c;
	bool adopt = false;
	int failed = 0;

	for (guint i = 0; i < dom->all->len && !adopt; i++)
		adopt = op->act == ACT_CREATE && adoptable(dom->all->pdata[i]);
	if (!dom->nics->len && !adopt)
		return 0; /* not a guest of vnicd's: never depend on vnicd */
	c = hook_connect(sock, &err);
	if (!c && !dom->nics->len)
		return 0; /* only NICs that may be on vnet ports: best effort */
	if (!c) {
		say(op->strict ? LOG_ERR : LOG_WARNING, "%s %s: %s%s", op->name, dom->name,
		    err->message, op->strict ? "" : " (nothing done)");
		return op->strict ? 1 : 0;
	}
	for (guint i = 0; i < dom->nics->len; i++) {
		const struct vn_domxml_nic *nic = dom->nics->pdata[i];
		int rc = op->act == ACT_REMOVE ? remove_port(c, dom, nic, &err)
					       : ensure_port(c, dom, nic, &err);
		if (rc == 0 && op->act == ACT_ANNOUNCE)
			rc = announce_port(c, nic, &err);
		if (rc == 0)
			continue;
		say(op->strict ? LOG_ERR : LOG_WARNING, "%s %s: %s", op->name, dom->name,
		    err->message);
		failed++;
		if (op->strict || err->code != G_IO_ERROR_FAILED) /* stop, or vnicd went away */
			break;
		g_clear_error(&err);
	}
	if (!failed && adopt)
		adopt_ethernet(c, dom);
	hook_close(c);
	return failed && op->strict ? 1 : 0;
}

static int usage(int rc)
{
	fprintf(rc ? stderr : stdout,
		"usage: %s [--socket PATH] [--config FILE] qemu DOMAIN OPERATION SUBOPERATION -\n"
		"         (as libvirt runs it, the domain XML on stdin)\n"
		"       %s install [--hooks-dir DIR] [--socket PATH]\n"
		"         (make it libvirt's qemu hook: DIR/qemu, default %s; an existing\n"
		"         hook is moved to DIR/qemu.d/ and still runs)\n",
		HOOK_PROG, HOOK_PROG, HOOK_DEFAULT_DIR);
	return rc;
}

/* The `install` subcommand's options. */
static int main_install(int argc, char **argv)
{
	const char *dir = NULL, *sock = NULL;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--hooks-dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			sock = argv[++i];
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage(0);
		else
			return usage(2);
	}
	return hook_install(dir, sock);
}

int main(int argc, char **argv)
{
	const char *sock_opt = NULL, *config = NULL;
	g_autofree char *sock = NULL;
	g_autoptr(GString) xml = NULL;
	g_autoptr(vn_domxml) dom = NULL;
	g_autoptr(GError) err = NULL;
	const struct hook_op *op = NULL;
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	bool as_qemu = !strcmp(base, "qemu");
	const char *driver = as_qemu ? "qemu" : NULL;
	int i = 1;

	if (argc >= 2 && !strcmp(argv[1], "install"))
		return main_install(argc, argv);
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return usage(0);
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("%s %s\n", HOOK_PROG, VNICD_VERSION);
		return 0;
	}
	for (; i + 1 < argc && g_str_has_prefix(argv[i], "--"); i += 2) {
		if (!strcmp(argv[i], "--socket"))
			sock_opt = argv[i + 1];
		else if (!strcmp(argv[i], "--config"))
			config = argv[i + 1];
		else
			return usage(2);
	}
	/* libvirtd runs hooks/qemu DOMAIN OP SUBOP -: run as (a link named) qemu, the driver
	 * is our name; otherwise it is the first argument */
	if (!as_qemu && i < argc)
		driver = argv[i++];
	if (!driver || argc - i < 2)
		return usage(2);
	openlog(HOOK_PROG, LOG_PID, LOG_DAEMON);
	if (strcmp(driver, "qemu")) /* another driver's hook (network, lxc): not ours */
		return 0;
	for (size_t k = 0; k < G_N_ELEMENTS(hook_ops); k++)
		if (!strcmp(hook_ops[k].name, argv[i + 1]))
			op = &hook_ops[k];
	xml = read_stdin(); /* always: libvirt writes it whatever the operation */
	if (!op || op->act == ACT_NONE)
		return 0;
	dom = vn_domxml_parse(xml->str, xml->len, &err);
	if (!dom) {
		say(op->strict ? LOG_ERR : LOG_WARNING, "%s %s: %s", op->name, argv[i],
		    err->message);
		return op->strict ? 1 : 0;
	}
	sock = hook_socket_path(sock_opt, config);
	return run_op(op, dom, sock);
}
