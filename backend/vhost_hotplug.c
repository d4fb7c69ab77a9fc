/* SPDX-License-Identifier: MIT */
/* Provisional vhost-user client ports for sockets QEMU binds in watched directories. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>
#include <json-glib/json-glib.h>

#include "vnicd/ctl.h"
#include "vnicd/log.h"
#include "vnicd/vhost_hotplug.h"

struct vn_hotplug {
	struct vn_switch *sw;
	int fd;				 /* inotify */
	guint src;			 /* its GLib source */
	char *dirs[VN_HOTPLUG_MAX_DIRS]; /* by watch descriptor slot */
	int wd[VN_HOTPLUG_MAX_DIRS];
	unsigned ndirs;
	GHashTable *ports; /* socket path -> provisional port name (both owned) */
};

bool vn_hotplug_port_is_provisional(const char *name)
{
	return g_str_has_prefix(name, VN_HOTPLUG_PREFIX);
}

/* Run request {"cmd": @cmd, "args": @args (consumed)}; Return: true when vnicd accepted it. */
static bool request(struct vn_hotplug *hp, const char *cmd, JsonObject *args, char **errmsg)
{
	g_autoptr(JsonObject) o = json_object_new();
	g_autoptr(JsonNode) root = json_node_new(JSON_NODE_OBJECT);
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonParser) p = json_parser_new();
	g_autofree char *line = NULL, *resp = NULL;
	JsonObject *r;

	json_object_set_string_member(o, "cmd", cmd);
	json_object_set_object_member(o, "args", args);
	json_node_set_object(root, o);
	json_generator_set_root(gen, root);
	line = json_generator_to_data(gen, NULL);
	resp = vn_ctl_handle_line(hp->sw, line, strlen(line));
	if (!json_parser_load_from_data(p, resp, -1, NULL) ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
		return false;
	r = json_node_get_object(json_parser_get_root(p));
	if (json_object_get_boolean_member_with_default(r, "ok", FALSE))
		return true;
	if (errmsg)
		*errmsg = g_strdup(json_object_get_string_member_with_default(r, "error", "?"));
	return false;
}

/* The provisional port's name for socket file @base: hp-<base without .sock>, cleaned. */
static char *port_name(const char *base)
{
	g_autofree char *s = g_strdup(base);
	char *name;

	if (g_str_has_suffix(s, ".sock"))
		s[strlen(s) - 5] = 0;
	for (char *c = s; *c; c++)
		if (!g_ascii_isalnum(*c) && !strchr("_.-", *c))
			*c = '_';
	name = g_strdup_printf(VN_HOTPLUG_PREFIX "%s", s);
	if (strlen(name) > 31)
		name[31] = 0;
	return name;
}

/* A new socket @path (file name @base) appeared: connect a provisional port to it. */
static void socket_added(struct vn_hotplug *hp, const char *path, const char *base)
{
	g_autofree char *name = port_name(base);
	g_autofree char *err = NULL;
	struct stat st;
	JsonObject *a, *pol;

	if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode) ||
	    g_hash_table_contains(hp->ports, path))
		return;
	a = json_object_new();
	json_object_set_string_member(a, "name", name);
	json_object_set_string_member(a, "kind", "vhost");
	json_object_set_string_member(a, "path", path);
	json_object_set_string_member(a, "mac", VN_HOTPLUG_MAC);
	pol = json_object_new();
	json_object_set_string_member(pol, "vlan_mode", "access");
	json_object_set_int_member(pol, "vlan", VN_HOTPLUG_VLAN);
	json_object_set_boolean_member(pol, "lock_mac", TRUE);
	json_object_set_object_member(a, "policy", pol);
	if (!request(hp, "port.add", a, &err)) {
		/* most often: a port (made by the hook or by hand) uses the path already */
		VN_DBG("hotplug: %s: no provisional port: %s", path, err ? err : "?");
		return;
	}
	g_hash_table_insert(hp->ports, g_strdup(path), g_strdup(name));
	VN_INFO("hotplug: vhost-user socket %s appeared: provisional port %s connects to it "
		"(quarantined until libvirt's DEVICE_ADDED names its NIC)",
		path, name);
}

/* Socket @path went away: remove its provisional port if that is still there. */
static void socket_removed(struct vn_hotplug *hp, const char *path)
{
	const char *name = g_hash_table_lookup(hp->ports, path);
	JsonObject *a;

	if (!name)
		return;
	a = json_object_new();
	json_object_set_string_member(a, "name", name);
	if (request(hp, "port.del", a, NULL))
		VN_INFO("hotplug: %s went away: provisional port %s removed", path, name);
	g_hash_table_remove(hp->ports, path);
}

static gboolean on_inotify(gint fd, GIOCondition cond, gpointer ud)
{
	struct vn_hotplug *hp = ud;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	(void)cond;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			for (unsigned i = 0; i < hp->ndirs && ev->len; i++) {
				g_autofree char *path = NULL;
				if (hp->wd[i] != ev->wd)
					continue;
				path = g_build_filename(hp->dirs[i], ev->name, NULL);
				if (ev->mask & (IN_CREATE | IN_MOVED_TO))
					socket_added(hp, path, ev->name);
				else if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
					socket_removed(hp, path);
			}
		}
	}
	return G_SOURCE_CONTINUE;
}

/*
 * Provisional ports restored from the state file (vnicd restarted): follow those whose
 * socket is still there, remove the others.
 */
static void adopt_restored(struct vn_hotplug *hp)
{
	g_autoptr(JsonParser) p = json_parser_new();
	g_autofree char *resp = NULL;
	const char *line = "{\"cmd\":\"port.list\"}";
	JsonNode *res;
	JsonArray *a;

	resp = vn_ctl_handle_line(hp->sw, line, strlen(line));
	if (!json_parser_load_from_data(p, resp, -1, NULL) ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
		return;
	res = json_object_get_member(json_node_get_object(json_parser_get_root(p)), "result");
	if (!res || !JSON_NODE_HOLDS_ARRAY(res))
		return;
	a = json_node_get_array(res);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonObject *o = json_array_get_object_element(a, i);
		const char *name = json_object_get_string_member_with_default(o, "name", "");
		const char *path = json_object_get_string_member_with_default(o, "path", NULL);
		struct stat st;
		JsonObject *args;
		if (!vn_hotplug_port_is_provisional(name) || !path ||
		    json_object_get_string_member_with_default(o, "vm_uuid", NULL))
			continue;
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
			g_hash_table_insert(hp->ports, g_strdup(path), g_strdup(name));
			continue;
		}
		args = json_object_new();
		json_object_set_string_member(args, "name", name);
		if (request(hp, "port.del", args, NULL))
			VN_INFO("hotplug: %s is gone: provisional port %s removed", path, name);
	}
}

struct vn_hotplug *vn_hotplug_start(struct vn_switch *sw, const char *dirs)
{
	g_auto(GStrv) v = g_strsplit(dirs ? dirs : "", ";", -1);
	struct vn_hotplug *hp;

	if (!dirs || !*dirs)
		return NULL;
	hp = g_new0(struct vn_hotplug, 1);
	hp->sw = sw;
	hp->ports = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	hp->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (hp->fd < 0) {
		VN_WARN("hotplug: inotify: %s: vhost_hotplug_dirs not watched", g_strerror(errno));
		vn_hotplug_stop(hp);
		return NULL;
	}
	for (unsigned i = 0; v[i] && hp->ndirs < VN_HOTPLUG_MAX_DIRS; i++) {
		int wd;
		g_strstrip(v[i]);
		if (!*v[i])
			continue;
		wd = inotify_add_watch(
		    hp->fd, v[i], IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR);
		if (wd < 0) {
			VN_WARN("hotplug: cannot watch %s: %s", v[i], g_strerror(errno));
			continue;
		}
		hp->dirs[hp->ndirs] = g_strdup(v[i]);
		hp->wd[hp->ndirs++] = wd;
		VN_INFO("hotplug: watching %s for vhost-user sockets QEMU binds", v[i]);
	}
	hp->src = g_unix_fd_add(hp->fd, G_IO_IN, on_inotify, hp);
	adopt_restored(hp);
	return hp;
}

void vn_hotplug_stop(struct vn_hotplug *hp)
{
	if (!hp)
		return;
	if (hp->src)
		g_source_remove(hp->src);
	if (hp->fd >= 0)
		close(hp->fd);
	for (unsigned i = 0; i < hp->ndirs; i++)
		g_free(hp->dirs[i]);
	g_hash_table_unref(hp->ports);
	g_free(hp);
}
