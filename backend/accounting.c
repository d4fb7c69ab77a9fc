/* SPDX-License-Identifier: MIT */
/* The accounting ledger: per-(VM, port) totals, bounded, written atomically, read back. */
#include <errno.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "vnicd/accounting.h"
#include "vnicd/args.h"
#include "vnicd/fileio.h"
#include "vnicd/log.h"

#define LEDGER_VERSION 1

struct vn_ledger {
	GPtrArray *entries;
	unsigned max_entries;
	uint64_t evictions, limit_hits;
	gint64 gen; /* of the last text made or read: each text takes the next */
};

static void entry_free(struct vn_ledger_entry *e)
{
	g_free(e->port);
	g_free(e->vm_uuid);
	g_free(e->vm_name);
	g_free(e);
}

struct vn_ledger *vn_ledger_new(unsigned max_entries)
{
	struct vn_ledger *l = g_new0(struct vn_ledger, 1);

	l->entries = g_ptr_array_new_with_free_func((GDestroyNotify)entry_free);
	l->max_entries = max_entries;
	return l;
}

void vn_ledger_free(struct vn_ledger *l)
{
	if (!l)
		return;
	g_ptr_array_free(l->entries, TRUE);
	g_free(l);
}

GPtrArray *vn_ledger_entries(struct vn_ledger *l)
{
	return l->entries;
}

static struct vn_ledger_entry *find(struct vn_ledger *l, const char *uuid, const char *port)
{
	for (guint i = 0; i < l->entries->len; i++) {
		struct vn_ledger_entry *e = l->entries->pdata[i];
		if (strcmp(e->port, port) == 0 && strcmp(e->vm_uuid, uuid) == 0)
			return e;
	}
	return NULL;
}

struct vn_ledger_entry *vn_ledger_attach(struct vn_ledger *l, const char *vm_uuid, const char *port,
					 const char *vm_name)
{
	const char *uuid = vm_uuid ? vm_uuid : "";
	struct vn_ledger_entry *e = find(l, uuid, port);

	if (!e) {
		if (l->entries->len >= l->max_entries) {
			struct vn_ledger_entry *oldest = NULL;
			for (guint i = 0; i < l->entries->len; i++) {
				struct vn_ledger_entry *o = l->entries->pdata[i];
				if (!o->live && (!oldest || o->updated < oldest->updated))
					oldest = o;
			}
			if (oldest) {
				VN_WARN("ledger full (%u entries): dropping the totals of port %s "
					"(VM %s), removed since %" G_GINT64_FORMAT,
					l->max_entries, oldest->port,
					*oldest->vm_uuid ? oldest->vm_uuid : "-", oldest->updated);
				g_ptr_array_remove(l->entries, oldest);
				l->evictions++;
			} else {
				l->limit_hits++;
			}
		}
		e = g_new0(struct vn_ledger_entry, 1);
		e->port = g_strdup(port);
		e->vm_uuid = g_strdup(uuid);
		e->vm_name = g_strdup("");
		g_ptr_array_add(l->entries, e);
	}
	if (vm_name && *vm_name) {
		g_free(e->vm_name);
		e->vm_name = g_strdup(vm_name);
	}
	e->live = true;
	e->updated = g_get_real_time() / G_USEC_PER_SEC;
	return e;
}

void vn_ledger_detach(struct vn_ledger *l, struct vn_ledger_entry *e,
		      const struct vn_port_counters *live)
{
	vn_counters_add(&e->base, live);
	e->live = false;
	e->updated = g_get_real_time() / G_USEC_PER_SEC;
}

void vn_ledger_remove(struct vn_ledger *l, struct vn_ledger_entry *e)
{
	g_ptr_array_remove(l->entries, e);
}

void vn_ledger_get_stats(const struct vn_ledger *l, struct vn_ledger_stats *st)
{
	st->entries = l->entries->len;
	st->max_entries = l->max_entries;
	st->evictions = l->evictions;
	st->limit_hits = l->limit_hits;
}

char *vn_ledger_text(struct vn_ledger *l,
		     void (*totals)(struct vn_ledger_entry *e, struct vn_port_counters *out,
				    void *ud),
		     void *ud, gsize *len)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) g = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	const struct vn_counter_field *f;
	size_t nf;

	f = vn_counter_fields(&nf);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "version");
	json_builder_add_int_value(b, LEDGER_VERSION);
	json_builder_set_member_name(b, "generation");
	json_builder_add_int_value(b, ++l->gen);
	json_builder_set_member_name(b, "written");
	json_builder_add_int_value(b, g_get_real_time() / G_USEC_PER_SEC);
	json_builder_set_member_name(b, "entries");
	json_builder_begin_array(b);
	for (guint i = 0; i < l->entries->len; i++) {
		struct vn_ledger_entry *e = l->entries->pdata[i];
		struct vn_port_counters c;

		totals(e, &c, ud);
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "port");
		json_builder_add_string_value(b, e->port);
		json_builder_set_member_name(b, "vm_uuid");
		json_builder_add_string_value(b, e->vm_uuid);
		json_builder_set_member_name(b, "vm_name");
		json_builder_add_string_value(b, e->vm_name);
		json_builder_set_member_name(b, "updated");
		json_builder_add_int_value(b, e->updated);
		json_builder_set_member_name(b, "counters");
		json_builder_begin_object(b);
		for (size_t k = 0; k < nf; k++) {
			json_builder_set_member_name(b, f[k].name);
			json_builder_add_int_value(b, (gint64)vn_counter_get(&c, &f[k]));
		}
		json_builder_end_object(b);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(g, root);
	return json_generator_to_data(g, len);
}

void vn_ledger_generation_at_least(struct vn_ledger *l, gint64 gen)
{
	l->gen = MAX(l->gen, gen);
}

int vn_ledger_write(struct vn_ledger *l, const char *path,
		    void (*totals)(struct vn_ledger_entry *e, struct vn_port_counters *out,
				   void *ud),
		    void *ud, GError **err)
{
	gsize len = 0;
	g_autofree char *text = vn_ledger_text(l, totals, ud, &len);

	return vn_file_write_atomic(path, text, len, err);
}

int vn_ledger_read(struct vn_ledger *l, const char *path, GError **err)
{
	g_autoptr(JsonParser) p = json_parser_new();
	g_autoptr(GPtrArray) fresh = g_ptr_array_new_with_free_func((GDestroyNotify)entry_free);
	g_autoptr(GError) perr = NULL;
	const struct vn_counter_field *f;
	JsonNode *root, *en;
	JsonObject *o;
	JsonArray *a;
	size_t nf;

	if (!g_file_test(path, G_FILE_TEST_EXISTS))
		return -ENOENT;
	f = vn_counter_fields(&nf);
	if (!json_parser_load_from_file(p, path, &perr)) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s", perr->message);
		return -EINVAL;
	}
	root = json_parser_get_root(p);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root))
		goto bad;
	o = json_node_get_object(root);
	if (json_object_get_int_member_with_default(o, "version", 0) != LEDGER_VERSION)
		goto bad;
	en = json_object_get_member(o, "entries");
	if (!en || !JSON_NODE_HOLDS_ARRAY(en))
		goto bad;
	a = json_node_get_array(en);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *n = json_array_get_element(a, i);
		JsonObject *eo, *co;
		JsonNode *cn;
		const char *port, *uuid, *name;
		struct vn_ledger_entry *e;

		if (!JSON_NODE_HOLDS_OBJECT(n))
			goto bad;
		eo = json_node_get_object(n);
		cn = json_object_get_member(eo, "counters");
		port = vn_obj_str(eo, "port");
		uuid = vn_obj_str(eo, "vm_uuid");
		name = vn_obj_str(eo, "vm_name");
		if (!port || !uuid || !name || !cn || !JSON_NODE_HOLDS_OBJECT(cn))
			goto bad;
		co = json_node_get_object(cn);
		e = g_new0(struct vn_ledger_entry, 1);
		e->port = g_strdup(port);
		e->vm_uuid = g_strdup(uuid);
		e->vm_name = g_strdup(name);
		e->updated = json_object_get_int_member_with_default(eo, "updated", 0);
		g_ptr_array_add(fresh, e);
		for (size_t k = 0; k < nf; k++) {
			JsonNode *v = json_object_get_member(co, f[k].name);
			if (!v)
				continue; /* a counter newer than the file: starts at 0 */
			if (!vn_json_is(v, G_TYPE_INT64) || json_node_get_int(v) < 0)
				goto bad;
			vn_counter_set(&e->base, &f[k], (uint64_t)json_node_get_int(v));
		}
	}
	l->gen = MAX(l->gen, vn_json_generation(root));
	g_ptr_array_set_size(l->entries, 0);
	while (fresh->len)
		g_ptr_array_add(l->entries, g_ptr_array_steal_index(fresh, 0));
	return 0;
bad:
	g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
		    "not a vnicd ledger (version %d) or damaged", LEDGER_VERSION);
	return -EINVAL;
}

bool vn_uuid_valid(const char *s)
{
	static const int groups[] = {8, 4, 4, 4, 12};
	const char *p = s;

	for (int g = 0; g < 5; g++) {
		for (int i = 0; i < groups[g]; i++, p++)
			if (!g_ascii_isxdigit(*p))
				return false;
		if (g < 4 && *p++ != '-')
			return false;
	}
	return *p == '\0';
}
