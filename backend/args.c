/* SPDX-License-Identifier: MIT */
/* Typed, error-reporting accessors for JSON request arguments. */
#include <errno.h>
#include <string.h>

#include "vnicd/args.h"

static JsonNode *member(JsonObject *a, const char *key)
{
	JsonNode *n = a ? json_object_get_member(a, key) : NULL;

	return n && !JSON_NODE_HOLDS_NULL(n) ? n : NULL;
}

int vn_arg_str(JsonObject *a, const char *key, bool required, const char **out, GError **err)
{
	JsonNode *n = member(a, key);

	*out = NULL;
	if (!n) {
		if (!required)
			return 0;
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "missing argument '%s'",
			    key);
		return -EINVAL;
	}
	if (!vn_json_is(n, G_TYPE_STRING)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "argument '%s' must be a string", key);
		return -EINVAL;
	}
	*out = json_node_get_string(n);
	return 0;
}

int vn_arg_bool(JsonObject *a, const char *key, bool *out, GError **err)
{
	JsonNode *n = member(a, key);

	if (!n)
		return 0;
	if (!vn_json_is(n, G_TYPE_BOOLEAN)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "argument '%s' must be true or false", key);
		return -EINVAL;
	}
	*out = json_node_get_boolean(n);
	return 0;
}

int vn_arg_uint(JsonObject *a, const char *key, guint64 min, guint64 max, guint64 *out,
		GError **err)
{
	JsonNode *n = member(a, key);
	gint64 v;

	if (!n)
		return 0;
	if (!vn_json_is(n, G_TYPE_INT64)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "argument '%s' must be a whole number", key);
		return -EINVAL;
	}
	v = json_node_get_int(n);
	if (v < 0 || (guint64)v < min || (guint64)v > max) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s %" G_GINT64_FORMAT " is out of range (%" G_GUINT64_FORMAT
			    "..%" G_GUINT64_FORMAT ")",
			    key, v, min, max);
		return -EINVAL;
	}
	*out = (guint64)v;
	return 0;
}

bool vn_key_listed(const char *k, const char *const *l)
{
	for (; l && *l; l++)
		if (strcmp(*l, k) == 0)
			return true;
	return false;
}

int vn_args_only(JsonObject *a, const char *const *k1, const char *const *k2, const char *what,
		 GError **err)
{
	g_autoptr(GList) keys = a ? json_object_get_members(a) : NULL;

	for (GList *l = keys; l; l = l->next) {
		const char *k = l->data;
		if (!vn_key_listed(k, k1) && !vn_key_listed(k, k2)) {
			g_autofree char *opt = g_strdelimit(g_strdup(k), "_", '-');
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "option --%s does not apply to %s", opt, what);
			return -EINVAL;
		}
	}
	return 0;
}

const char *vn_obj_str(JsonObject *o, const char *key)
{
	JsonNode *n = o ? json_object_get_member(o, key) : NULL;

	return vn_json_is(n, G_TYPE_STRING) ? json_node_get_string(n) : NULL;
}

bool vn_json_is(JsonNode *n, GType t)
{
	return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == t;
}

void vn_json_str(JsonBuilder *b, const char *k, const char *v)
{
	json_builder_set_member_name(b, k);
	if (v)
		json_builder_add_string_value(b, v);
	else
		json_builder_add_null_value(b);
}

void vn_json_int(JsonBuilder *b, const char *k, gint64 v)
{
	json_builder_set_member_name(b, k);
	json_builder_add_int_value(b, v);
}

void vn_json_bool(JsonBuilder *b, const char *k, bool v)
{
	json_builder_set_member_name(b, k);
	json_builder_add_boolean_value(b, v);
}
