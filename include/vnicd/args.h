/* SPDX-License-Identifier: MIT */
/* Typed access to the "args" object of control requests (and of persisted port specs). */
#ifndef VNICD_ARGS_H
#define VNICD_ARGS_H

#include <stdbool.h>

#include <glib.h>
#include <json-glib/json-glib.h>

/**
 * vn_arg_str() - read string member @key of @a (which may be NULL) into *@out; *@out is
 * NULL when absent or null. Return: 0, or -EINVAL with @err set when it is required and
 * absent, or not a string.
 */
int vn_arg_str(JsonObject *a, const char *key, bool required, const char **out, GError **err);

/** vn_arg_bool() - like vn_arg_str() for a boolean; *@out is untouched when absent. */
int vn_arg_bool(JsonObject *a, const char *key, bool *out, GError **err);

/**
 * vn_arg_uint() - like vn_arg_str() for a whole number in [@min, @max]; *@out is untouched
 * when absent. Return: 0, or -EINVAL (not a number, out of range) with @err set.
 */
int vn_arg_uint(JsonObject *a, const char *key, guint64 min, guint64 max, guint64 *out,
		GError **err);

/**
 * vn_args_only() - Return: 0 if every member of @a is in one of the NULL-terminated lists
 * @k1 and @k2 (either may be NULL); else -EINVAL naming the first stray member in @err,
 * with @what ("vhost ports") in the message.
 */
/** vn_key_listed() - Return: true if @k is in the NULL-terminated list @l (NULL: empty). */
bool vn_key_listed(const char *k, const char *const *l);

int vn_args_only(JsonObject *a, const char *const *k1, const char *const *k2, const char *what,
		 GError **err);

/**
 * vn_obj_str() - Return: string member @key of @o (which may be NULL), or NULL when it is
 * absent, null or not a string. The string belongs to @o. Thread: any.
 */
const char *vn_obj_str(JsonObject *o, const char *key);

/** vn_json_is() - Return: whether @n (which may be NULL) is a plain value of type @t. */
bool vn_json_is(JsonNode *n, GType t);

/** vn_json_str() - add member @k = @v (null when @v is NULL) to the open object in @b. */
void vn_json_str(JsonBuilder *b, const char *k, const char *v);

/** vn_json_int() - add member @k = @v to the open object in @b. */
void vn_json_int(JsonBuilder *b, const char *k, gint64 v);

/** vn_json_bool() - add member @k = @v to the open object in @b. */
void vn_json_bool(JsonBuilder *b, const char *k, bool v);

/** VN_FAIL() - set *@err (G_IO_ERROR_FAILED) from the printf-style rest and return -@code. */
#define VN_FAIL(err, code, ...)                                                                    \
	do {                                                                                       \
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, __VA_ARGS__);                      \
		return -(code);                                                                    \
	} while (0)

#endif
