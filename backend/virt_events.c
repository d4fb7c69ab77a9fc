/* SPDX-License-Identifier: MIT */
/* vnicd's libvirt listener: connection with backoff, events, and the worker for libvirt calls. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "virt_priv.h"
#include "vnicd/log.h"
#include "vnicd/virt_loop.h"

/* What the worker thread is asked to do. */
enum job_kind { J_CONNECT, J_DOMAIN, J_METADATA, J_DISCONNECT };

struct job {
	enum job_kind kind;
	char uuid[VIR_UUID_STRING_BUFLEN];
};

/* What it answers, applied on the control thread. */
enum res_kind { R_CONNECTED, R_CONNECT_FAILED, R_DOMAIN, R_DOMAIN_GONE, R_METADATA, R_NONE };

struct res {
	struct vn_virt *v; /* a reference */
	enum res_kind kind;
	char uuid[VIR_UUID_STRING_BUFLEN];
	char *text;	  /* R_DOMAIN: XML, R_METADATA: the element (NULL: removed),
			     R_CONNECT_FAILED: libvirt's message */
	GPtrArray *snaps; /* R_CONNECTED: struct virt_snap * */
	unsigned libvirt_errors;
};

static struct vn_virt *the_listener; /* for libvirt.status */
static struct vn_virt *abandoned;    /* stopped while its worker waited on libvirtd */

static const char *const sockets_system[] = {"/run/libvirt/libvirt-sock",
					     "/run/libvirt/virtqemud-sock", NULL};

static void virt_free(gpointer p)
{
	struct vn_virt *v = p;

	g_free(v->uri);
	g_hash_table_unref(v->doms);
	g_hash_table_unref(v->moved);
	g_mutex_clear(&v->jobs_lock);
	g_cond_clear(&v->jobs_done);
}

static void virt_unref(gpointer p)
{
	g_rc_box_release_full(p, virt_free);
}

static void snap_free(gpointer p)
{
	struct virt_snap *s = p;

	g_free(s->xml);
	g_free(s);
}

static void res_free(gpointer p)
{
	struct res *r = p;

	g_free(r->text);
	if (r->snaps)
		g_ptr_array_unref(r->snaps);
	g_rc_box_release_full(r->v, virt_free);
	g_free(r);
}

/* libvirt prints every error on stderr unless told otherwise; vnicd logs its own lines. */
static void quiet_errors(void *ud, virErrorPtr e)
{
}

static void queue_job(struct vn_virt *v, enum job_kind kind, const char *uuid)
{
	struct job *j = g_new0(struct job, 1);

	j->kind = kind;
	if (uuid)
		g_strlcpy(j->uuid, uuid, sizeof(j->uuid));
	g_mutex_lock(&v->jobs_lock);
	v->jobs_pending++;
	g_mutex_unlock(&v->jobs_lock);
	g_thread_pool_push(v->pool, j, NULL);
}

/* ---- control thread: results, retries, events ---- */

static gboolean on_retry(gpointer ud);

static void schedule_connect(struct vn_virt *v, unsigned delay_s)
{
	if (v->stopping || v->retry_src)
		return;
	v->retry_src = g_timeout_add_seconds(delay_s, on_retry, v);
}

static bool socket_present(void)
{
	for (const char *const *p = sockets_system; *p; p++)
		if (access(*p, F_OK) == 0)
			return true;
	return false;
}

static gboolean on_retry(gpointer ud)
{
	struct vn_virt *v = ud;

	v->retry_src = 0;
	if (v->auto_mode && !socket_present()) { /* no libvirtd: quiet, look again later */
		schedule_connect(v, v->backoff_s);
		v->backoff_s = MIN(v->backoff_s * 2, VN_VIRT_AUTO_POLL_S);
		return G_SOURCE_REMOVE;
	}
	v->close_pending = false;
	queue_job(v, J_CONNECT, NULL);
	return G_SOURCE_REMOVE;
}

static void connect_failed(struct vn_virt *v, const char *msg)
{
	v->st.connect_failures++;
	if (v->auto_mode)
		VN_DBG("libvirt: cannot connect to %s: %s", v->uri, msg);
	else
		VN_LOG_RL(VN_LOG_WARN, "libvirt: cannot connect to %s: %s (retrying in %u s)",
			  v->uri, msg, v->backoff_s);
	schedule_connect(v, v->backoff_s);
	v->backoff_s = MIN(v->backoff_s * 2, VN_VIRT_BACKOFF_MAX_S);
}

static void connection_lost(struct vn_virt *v, const char *why);

static gboolean apply_res(gpointer ud)
{
	struct res *r = ud;
	struct vn_virt *v = r->v;

	if (v->stopping)
		return G_SOURCE_REMOVE;
	v->st.libvirt_errors += r->libvirt_errors;
	switch (r->kind) {
	case R_CONNECTED:
		v->connected = true;
		v->st.connects++;
		v->backoff_s = 1;
		VN_INFO("libvirt: connected to %s, %u running domain(s)", v->uri, r->snaps->len);
		virt_reconcile(v, r->snaps);
		if (v->close_pending) /* it closed while the worker was still scanning */
			connection_lost(v, "closed during the scan");
		break;
	case R_CONNECT_FAILED:
		connect_failed(v, r->text ? r->text : "?");
		break;
	case R_DOMAIN:
		virt_apply_domain(v, r->uuid, r->text);
		if (g_hash_table_remove(v->moved, r->uuid))
			virt_announce_domain(v, r->uuid);
		break;
	case R_DOMAIN_GONE:
		virt_domain_gone(v, r->uuid);
		break;
	case R_METADATA:
		if (!virt_apply_metadata(v, r->uuid, r->text))
			queue_job(v, J_DOMAIN, r->uuid);
		break;
	case R_NONE:
		break;
	}
	return G_SOURCE_REMOVE;
}

/* Connection lost (libvirtd restarted or went away): drop it, reconnect, re-scan. */
static void connection_lost(struct vn_virt *v, const char *why)
{
	if (!v->connected || v->stopping)
		return;
	v->connected = false;
	v->st.disconnects++;
	VN_WARN("libvirt: connection to %s %s: reconnecting", v->uri, why);
	queue_job(v, J_DISCONNECT, NULL);
	v->backoff_s = 1;
	schedule_connect(v, 1);
}

static gboolean on_closed(gpointer ud)
{
	struct vn_virt *v = ud;

	if (!v->connected)
		v->close_pending = true; /* before its R_CONNECTED: handled there */
	connection_lost(v, "closed");
	return G_SOURCE_REMOVE;
}

/* libvirt's close callback: may run on whichever thread saw the socket close. */
static void close_cb(virConnectPtr conn, int reason, void *opaque)
{
	struct vn_virt *v = opaque;

	g_idle_add_full(G_PRIORITY_DEFAULT, on_closed, g_rc_box_acquire(v), virt_unref);
}

static bool dom_uuid(virDomainPtr dom, char *uuid)
{
	return virDomainGetUUIDString(dom, uuid) == 0;
}

static int lifecycle_cb(virConnectPtr c, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct vn_virt *v = opaque;
	char uuid[VIR_UUID_STRING_BUFLEN];

	v->st.events++;
	if (v->stopping || !dom_uuid(dom, uuid))
		return 0;
	VN_DBG("libvirt: domain %s (%s) event %d/%d", virDomainGetName(dom), uuid, event, detail);
	switch (event) {
	case VIR_DOMAIN_EVENT_STARTED:
	case VIR_DOMAIN_EVENT_RESUMED:
		/* it runs here after a migration or a restore: announce it (the hook may have) */
		if ((event == VIR_DOMAIN_EVENT_STARTED &&
		     (detail == VIR_DOMAIN_EVENT_STARTED_MIGRATED ||
		      detail == VIR_DOMAIN_EVENT_STARTED_RESTORED ||
		      detail == VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT)) ||
		    (event == VIR_DOMAIN_EVENT_RESUMED &&
		     detail == VIR_DOMAIN_EVENT_RESUMED_MIGRATED))
			g_hash_table_add(v->moved, g_strdup(uuid));
		queue_job(v, J_DOMAIN, uuid);
		break;
	case VIR_DOMAIN_EVENT_STOPPED:
		virt_domain_gone(v, uuid);
		break;
	default:
		break;
	}
	return 0;
}

static void device_added_cb(virConnectPtr c, virDomainPtr dom, const char *alias, void *opaque)
{
	struct vn_virt *v = opaque;
	char uuid[VIR_UUID_STRING_BUFLEN];

	v->st.events++;
	if (!v->stopping && dom_uuid(dom, uuid))
		queue_job(v, J_DOMAIN, uuid);
}

static void device_removed_cb(virConnectPtr c, virDomainPtr dom, const char *alias, void *opaque)
{
	struct vn_virt *v = opaque;
	char uuid[VIR_UUID_STRING_BUFLEN];

	v->st.events++;
	if (!v->stopping && alias && dom_uuid(dom, uuid))
		virt_device_removed(v, uuid, alias);
}

static void metadata_cb(virConnectPtr c, virDomainPtr dom, int type, const char *nsuri,
			void *opaque)
{
	struct vn_virt *v = opaque;
	char uuid[VIR_UUID_STRING_BUFLEN];

	v->st.events++;
	if (v->stopping || type != VIR_DOMAIN_METADATA_ELEMENT || !nsuri ||
	    strcmp(nsuri, VN_DOMXML_NS) != 0 || !dom_uuid(dom, uuid))
		return;
	queue_job(v, J_METADATA, uuid);
}

/* ---- worker thread: every call that talks to libvirtd ---- */

static void post(struct vn_virt *v, struct res *r)
{
	r->v = g_rc_box_acquire(v);
	g_idle_add_full(G_PRIORITY_DEFAULT, apply_res, r, res_free);
}

static void w_disconnect(struct vn_virt *v)
{
	if (!v->conn)
		return;
	for (unsigned i = 0; i < G_N_ELEMENTS(v->cb_ids); i++)
		if (v->cb_ids[i] >= 0)
			virConnectDomainEventDeregisterAny(v->conn, v->cb_ids[i]);
	virConnectUnregisterCloseCallback(v->conn, close_cb);
	virConnectClose(v->conn);
	v->conn = NULL;
}

/* Register the four event callbacks. Return: false when not even lifecycle events come. */
static bool w_register(struct vn_virt *v, struct res *r)
{
	static const int ids[] = {VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
				  VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
				  VIR_DOMAIN_EVENT_ID_METADATA_CHANGE};
	const virConnectDomainEventGenericCallback cbs[] = {
	    VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb), VIR_DOMAIN_EVENT_CALLBACK(device_added_cb),
	    VIR_DOMAIN_EVENT_CALLBACK(device_removed_cb), VIR_DOMAIN_EVENT_CALLBACK(metadata_cb)};

	for (unsigned i = 0; i < G_N_ELEMENTS(ids); i++) {
		v->cb_ids[i] =
		    virConnectDomainEventRegisterAny(v->conn, NULL, ids[i], cbs[i], v, NULL);
		if (v->cb_ids[i] < 0) {
			r->libvirt_errors++;
			VN_WARN("libvirt: event %d not available: %s", ids[i],
				virGetLastErrorMessage());
		}
	}
	return v->cb_ids[0] >= 0;
}

/* Every running domain's live XML. */
static GPtrArray *w_scan(struct vn_virt *v, struct res *r)
{
	GPtrArray *snaps = g_ptr_array_new_with_free_func(snap_free);
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(v->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

	if (n < 0) {
		r->libvirt_errors++;
		VN_WARN("libvirt: listing domains: %s", virGetLastErrorMessage());
		return snaps;
	}
	for (int i = 0; i < n; i++) {
		struct virt_snap *s = g_new0(struct virt_snap, 1);
		if (snaps->len < VN_VIRT_MAX_DOMAINS && dom_uuid(doms[i], s->uuid) &&
		    (s->xml = virDomainGetXMLDesc(doms[i], 0))) {
			g_ptr_array_add(snaps, s);
		} else {
			r->libvirt_errors++; /* gone meanwhile, or too many */
			snap_free(s);
		}
		virDomainFree(doms[i]);
	}
	free(doms);
	return snaps;
}

static void w_connect(struct vn_virt *v)
{
	struct res *r = g_new0(struct res, 1);

	w_disconnect(v);
	v->conn = virConnectOpen(v->uri);
	if (v->conn && virConnectRegisterCloseCallback(v->conn, close_cb, v, NULL) < 0)
		r->libvirt_errors++;
	/* a libvirtd that hangs is a closed connection after 5 s x 3 unanswered probes (remote
	 * URIs; local drivers such as test:/// have no keep-alive and say so) */
	if (v->conn && virConnectSetKeepAlive(v->conn, 5, 3) < 0)
		virResetLastError();
	if (!v->conn || !w_register(v, r)) {
		r->kind = R_CONNECT_FAILED;
		r->text = g_strdup(virGetLastErrorMessage());
		w_disconnect(v);
		post(v, r);
		return;
	}
	r->kind = R_CONNECTED;
	r->snaps = w_scan(v, r);
	post(v, r);
}

static void w_domain(struct vn_virt *v, const struct job *j)
{
	struct res *r = g_new0(struct res, 1);
	virDomainPtr d = v->conn ? virDomainLookupByUUIDString(v->conn, j->uuid) : NULL;

	g_strlcpy(r->uuid, j->uuid, sizeof(r->uuid));
	if (!v->conn) {
		r->kind = R_NONE;
	} else if ((!d && virGetLastErrorCode() == VIR_ERR_NO_DOMAIN) ||
		   (d && virDomainIsActive(d) == 0)) {
		r->kind = R_DOMAIN_GONE;
	} else if (d && (r->text = virDomainGetXMLDesc(d, 0))) {
		r->kind = R_DOMAIN;
	} else {
		r->kind = R_NONE; /* an RPC error: the next event or reconnect catches up */
		r->libvirt_errors++;
	}
	if (d)
		virDomainFree(d);
	post(v, r);
}

static void w_metadata(struct vn_virt *v, const struct job *j)
{
	struct res *r = g_new0(struct res, 1);
	virDomainPtr d = v->conn ? virDomainLookupByUUIDString(v->conn, j->uuid) : NULL;

	g_strlcpy(r->uuid, j->uuid, sizeof(r->uuid));
	r->kind = R_NONE;
	if (d) {
		r->text = virDomainGetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, VN_DOMXML_NS,
					       VIR_DOMAIN_AFFECT_LIVE);
		if (r->text || virGetLastErrorCode() == VIR_ERR_NO_DOMAIN_METADATA)
			r->kind = R_METADATA; /* NULL text: the policy was removed */
		else
			r->libvirt_errors++;
		virDomainFree(d);
	} else if (v->conn) {
		r->libvirt_errors++;
	}
	post(v, r);
}

static void worker(gpointer data, gpointer ud)
{
	struct job *j = data;
	struct vn_virt *v = ud;

	virResetLastError();
	switch (j->kind) {
	case J_CONNECT:
		w_connect(v);
		break;
	case J_DOMAIN:
		w_domain(v, j);
		break;
	case J_METADATA:
		w_metadata(v, j);
		break;
	case J_DISCONNECT:
		w_disconnect(v);
		break;
	}
	g_free(j);
	g_mutex_lock(&v->jobs_lock);
	v->jobs_pending--;
	g_cond_broadcast(&v->jobs_done);
	g_mutex_unlock(&v->jobs_lock);
}

/* ---- API ---- */

struct vn_virt *vn_virt_start(struct vn_switch *sw, const char *uri)
{
	struct vn_virt *v;

	if (uri && !*uri) {
		VN_INFO("libvirt: listener off (libvirt_uri is empty)");
		return NULL;
	}
	vn_virt_loop_register();
	virSetErrorFunc(NULL, quiet_errors);
	v = g_rc_box_new0(struct vn_virt);
	v->sw = sw;
	v->auto_mode = uri == NULL;
	v->uri = g_strdup(uri ? uri : VN_VIRT_AUTO_URI);
	v->backoff_s = 1;
	v->doms = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, virt_dom_free);
	v->moved = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (unsigned i = 0; i < G_N_ELEMENTS(v->cb_ids); i++)
		v->cb_ids[i] = -1;
	g_mutex_init(&v->jobs_lock);
	g_cond_init(&v->jobs_done);
	/* the worker's own reference: dropped by vn_virt_stop() once it has finished */
	v->pool = g_thread_pool_new(worker, g_rc_box_acquire(v), 1, FALSE, NULL);
	the_listener = v;
	if (v->auto_mode && !socket_present()) {
		VN_INFO("libvirt: no libvirtd socket yet; the listener connects to %s when one "
			"appears",
			v->uri);
		schedule_connect(v, v->backoff_s);
	} else {
		queue_job(v, J_CONNECT, NULL);
	}
	return v;
}

/* Wait until the worker has no job left, at most @seconds. Return: true when it has none. */
static bool wait_jobs(struct vn_virt *v, unsigned seconds)
{
	gint64 end = g_get_monotonic_time() + seconds * G_USEC_PER_SEC;
	bool idle;

	g_mutex_lock(&v->jobs_lock);
	while (v->jobs_pending && g_cond_wait_until(&v->jobs_done, &v->jobs_lock, end))
		;
	idle = v->jobs_pending == 0;
	g_mutex_unlock(&v->jobs_lock);
	return idle;
}

void vn_virt_stop(struct vn_virt *v)
{
	if (!v)
		return;
	v->stopping = true;
	if (the_listener == v)
		the_listener = NULL;
	if (v->retry_src)
		g_source_remove(v->retry_src);
	v->retry_src = 0;
	queue_job(v, J_DISCONNECT, NULL);
	if (wait_jobs(v, VN_VIRT_STOP_WAIT_S)) {
		g_thread_pool_free(v->pool, FALSE, TRUE);
		g_rc_box_release_full(v, virt_free); /* the worker's */
	} else {
		/* a libvirtd that does not answer must not hold vnicd's shutdown (the state is
		 * saved after this): the worker keeps its reference and finishes on its own */
		VN_WARN("libvirt: %s does not answer; not waiting for it", v->uri);
		g_thread_pool_free(v->pool, FALSE, FALSE); /* the queued disconnect runs later */
		abandoned = v;
	}
	v->pool = NULL;
	g_rc_box_release_full(v, virt_free);
}

void vn_virt_get_stats(struct vn_virt *v, struct vn_virt_stats *st)
{
	*st = v->st;
	st->connected = v->connected;
	st->domains = g_hash_table_size(v->doms);
}

void vn_virt_reconnect(struct vn_virt *v)
{
	if (v->connected) {
		connection_lost(v, "dropped on request");
	} else if (v->retry_src) {
		g_source_remove(v->retry_src);
		v->retry_src = 0;
		queue_job(v, J_CONNECT, NULL);
	}
}

/* Add the counters of @st to the open object of @b. */
static void json_counters(const struct vn_virt_stats *st, JsonBuilder *b)
{
	const struct {
		const char *name;
		uint64_t val;
	} counters[] = {
	    {"connects", st->connects},
	    {"connect_failures", st->connect_failures},
	    {"disconnects", st->disconnects},
	    {"events", st->events},
	    {"reconciles", st->reconciles},
	    {"requests", st->requests},
	    {"requests_failed", st->requests_failed},
	    {"xml_errors", st->xml_errors},
	    {"conflicts", st->conflicts},
	    {"libvirt_errors", st->libvirt_errors},
	    {"domains", st->domains},
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(counters); i++) {
		json_builder_set_member_name(b, counters[i].name);
		json_builder_add_int_value(b, (gint64)counters[i].val);
	}
}

void vn_virt_json_status(JsonBuilder *b)
{
	struct vn_virt *v = the_listener;
	struct vn_virt_stats st;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "enabled");
	json_builder_add_boolean_value(b, v != NULL);
	if (v) {
		vn_virt_get_stats(v, &st);
		json_builder_set_member_name(b, "uri");
		json_builder_add_string_value(b, v->uri);
		json_builder_set_member_name(b, "auto");
		json_builder_add_boolean_value(b, v->auto_mode);
		json_builder_set_member_name(b, "connected");
		json_builder_add_boolean_value(b, st.connected);
		json_counters(&st, b);
	}
	json_builder_end_object(b);
}
