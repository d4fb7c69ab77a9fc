/* SPDX-License-Identifier: MIT */
/* libFuzzer target: libvirt domain XML and policy metadata, and the requests built from them. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vnicd/domxml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every request of every NIC of @d, as lines: they must be one line each. */
static void requests(struct vn_domxml *d)
{
	g_autoptr(GPtrArray) reqs = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
	g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < d->nics->len; i++) {
		const struct vn_domxml_nic *nic = d->nics->pdata[i];
		if (!*nic->port || strlen(nic->port) >= VN_DOMXML_PORT_MAX)
			__builtin_trap();
		if (nic->alias && vn_domxml_find_alias(d, nic->alias) == NULL)
			__builtin_trap();
		vn_domxml_nic_requests(d, nic, reqs, notes);
		g_ptr_array_add(reqs, vn_domxml_port_del(nic));
	}
	for (guint i = 0; i < reqs->len; i++) {
		g_autofree char *line = vn_domxml_request_line(reqs->pdata[i]);
		if (strchr(line, '\n'))
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char base[] =
	    "<domain><name>f</name><uuid>11111111-2222-3333-4444-555555555555</uuid><devices>"
	    "<interface type='ethernet'><mac address='52:54:00:aa:04:01'/><target dev='e0'/>"
	    "</interface><interface type='vhostuser'><mac address='52:54:00:aa:03:01'/>"
	    "<source type='unix' path='/run/vnicd/f.sock' mode='client'/></interface>"
	    "</devices></domain>";
	g_autoptr(GError) err = NULL;
	struct vn_domxml *d = vn_domxml_parse((const char *)data, size, &err);

	if (d) {
		requests(d);
		vn_domxml_free(d);
	} else if (!err) {
		__builtin_trap(); /* a failure always says why */
	}
	g_clear_error(&err);
	/* the same bytes as what virDomainGetMetadata() returns, on a domain with NICs */
	d = vn_domxml_parse(base, sizeof(base) - 1, NULL);
	if (!d)
		__builtin_trap();
	if (vn_domxml_set_metadata(d, (const char *)data, size, &err) == 0)
		requests(d);
	vn_domxml_free(d);
	return 0;
}
