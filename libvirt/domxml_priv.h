/* SPDX-License-Identifier: MIT */
/* Private interfaces of domxml*.c: XML helpers and the policy-metadata parser (domxml_meta.c). */
#ifndef VNICD_DOMXML_PRIV_H
#define VNICD_DOMXML_PRIV_H

#include <errno.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "vnicd/domxml.h"

/* Set @err (a GError ** in scope) from the printf-style arguments and return -EINVAL. */
#define FAIL(...)                                                                                  \
	do {                                                                                       \
		g_set_error(err, VN_DOMXML_ERROR, 0, __VA_ARGS__);                                 \
		return -EINVAL;                                                                    \
	} while (0)

/** dx_policy_free() - free a struct vn_domxml_policy (NULL is fine). */
void dx_policy_free(gpointer p);

/** dx_is_elem() - is @n an element @name in VN_DOMXML_NS (or, when @bare_ok, in none)? */
bool dx_is_elem(xmlNode *n, const char *name, bool bare_ok);

/** dx_is_lv() - is @n an element of libvirt's own (no namespace) named @name? */
bool dx_is_lv(xmlNode *n, const char *name);

/** dx_attr() - Return: attribute @name (no namespace) of @n as a new string, or NULL. */
char *dx_attr(xmlNode *n, const char *name);

/** dx_text() - Return: the text content of @n, trimmed, as a new string. */
char *dx_text(xmlNode *n);

/**
 * dx_attrs_known() - Return: 0 if every attribute of @n without a namespace is in the
 * NULL-terminated @known, else -EINVAL naming it.
 */
int dx_attrs_known(xmlNode *n, const char *const *known, GError **err);

/**
 * dx_parse_uint() - a whole number in [@min, @max] from @s into *@out (@s NULL: absent,
 * *@out untouched). Return: 0, or -EINVAL naming @what.
 */
int dx_parse_uint(const char *s, guint64 min, guint64 max, guint64 *out, const char *what,
		  GError **err);

/** dx_parse_bool() - yes/no, true/false, on/off as dx_parse_uint() does numbers. */
int dx_parse_bool(const char *s, bool *out, const char *what, GError **err);

/**
 * dx_parse_mac() - a unicast MAC "aa:bb:cc:dd:ee:ff" (any case) from @s into @out in lower
 * case. Return: 0, or -EINVAL naming @what.
 */
int dx_parse_mac(const char *s, char out[VN_DOMXML_MAC_LEN], const char *what, GError **err);

/**
 * dx_parse_bandwidth() - the inbound/outbound children of a <bandwidth> into @in/@out;
 * @ours: the metadata's (unknown elements and attributes are errors), else libvirt's.
 */
int dx_parse_bandwidth(xmlNode *bw, struct vn_domxml_rate *in, struct vn_domxml_rate *out,
		       bool ours, GError **err);

/**
 * dx_meta_policy() - the <policy> element @root into @out (struct vn_domxml_policy *, at
 * most VN_DOMXML_MAX_NICS); @bare_ok: @root and its children may have no namespace (what
 * virDomainGetMetadata() returns). Return: 0, or -EINVAL with @err.
 */
int dx_meta_policy(xmlNode *root, bool bare_ok, GPtrArray *out, GError **err);

#endif
