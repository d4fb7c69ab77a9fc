/* SPDX-License-Identifier: MIT */
/* libvirt's event-loop callbacks (watches, timers) as GLib sources of the default context. */
#include <stdbool.h>

#include <glib-unix.h>
#include <glib.h>
#include <libvirt/libvirt.h>

#include "vnicd/log.h"
#include "vnicd/virt_loop.h"

/* One libvirt watch or timer. Freed by free_later() from the loop once removed, so a
 * pointer a dispatching source holds stays valid until that dispatch has returned. */
struct vl_ev {
	int id;
	bool timer;
	bool removed;
	int fd;		 /* watch */
	int events;	 /* watch: VIR_EVENT_HANDLE_* (0: disabled) */
	int interval_ms; /* timer: -1 disabled, 0 every iteration */
	virEventHandleCallback hcb;
	virEventTimeoutCallback tcb;
	void *opaque;
	virFreeCallback ff;
	GSource *src; /* NULL while disabled */
};

static GMutex vl_lock;
static GHashTable *vl_evs; /* id -> struct vl_ev *, under vl_lock */
static int vl_next_id = 1;

static GIOCondition to_cond(int events)
{
	GIOCondition c = 0;

	if (events & VIR_EVENT_HANDLE_READABLE)
		c |= G_IO_IN;
	if (events & VIR_EVENT_HANDLE_WRITABLE)
		c |= G_IO_OUT;
	if (events & VIR_EVENT_HANDLE_ERROR)
		c |= G_IO_ERR;
	if (events & VIR_EVENT_HANDLE_HANGUP)
		c |= G_IO_HUP;
	return c;
}

static int to_events(GIOCondition c)
{
	int e = 0;

	if (c & G_IO_IN)
		e |= VIR_EVENT_HANDLE_READABLE;
	if (c & G_IO_OUT)
		e |= VIR_EVENT_HANDLE_WRITABLE;
	if (c & (G_IO_ERR | G_IO_NVAL))
		e |= VIR_EVENT_HANDLE_ERROR;
	if (c & G_IO_HUP)
		e |= VIR_EVENT_HANDLE_HANGUP;
	return e;
}

static gboolean watch_dispatch(gint fd, GIOCondition cond, gpointer ud)
{
	struct vl_ev *ev = ud;
	virEventHandleCallback cb;
	void *opaque;
	int id;

	g_mutex_lock(&vl_lock);
	cb = ev->removed ? NULL : ev->hcb;
	opaque = ev->opaque;
	id = ev->id;
	g_mutex_unlock(&vl_lock);
	if (cb)
		cb(id, fd, to_events(cond), opaque);
	return G_SOURCE_CONTINUE;
}

static gboolean timer_dispatch(gpointer ud)
{
	struct vl_ev *ev = ud;
	virEventTimeoutCallback cb;
	void *opaque;
	int id;

	g_mutex_lock(&vl_lock);
	cb = ev->removed ? NULL : ev->tcb;
	opaque = ev->opaque;
	id = ev->id;
	g_mutex_unlock(&vl_lock);
	if (cb)
		cb(id, opaque);
	return G_SOURCE_CONTINUE;
}

/* (Re)create @ev's source for its current events/interval. Called with vl_lock held. */
static void ev_arm(struct vl_ev *ev)
{
	if (ev->src) {
		g_source_destroy(ev->src);
		g_source_unref(ev->src);
		ev->src = NULL;
	}
	if (ev->timer) {
		if (ev->interval_ms < 0)
			return;
		ev->src = ev->interval_ms == 0 ? g_idle_source_new()
					       : g_timeout_source_new((guint)ev->interval_ms);
		g_source_set_callback(ev->src, timer_dispatch, ev, NULL);
	} else {
		if (!ev->events)
			return;
		ev->src = g_unix_fd_source_new(ev->fd, to_cond(ev->events));
		g_source_set_callback(ev->src, G_SOURCE_FUNC(watch_dispatch), ev, NULL);
	}
	g_source_set_name(ev->src, ev->timer ? "libvirt-timer" : "libvirt-watch");
	g_source_attach(ev->src, NULL);
}

static int ev_add(struct vl_ev *ev)
{
	g_mutex_lock(&vl_lock);
	if (!vl_evs)
		vl_evs = g_hash_table_new(g_direct_hash, g_direct_equal);
	ev->id = vl_next_id++;
	g_hash_table_insert(vl_evs, GINT_TO_POINTER(ev->id), ev);
	ev_arm(ev);
	g_mutex_unlock(&vl_lock);
	return ev->id;
}

static gboolean free_later(gpointer ud)
{
	struct vl_ev *ev = ud;

	if (ev->ff)
		ev->ff(ev->opaque);
	g_free(ev);
	return G_SOURCE_REMOVE;
}

static int vl_add_handle(int fd, int events, virEventHandleCallback cb, void *opaque,
			 virFreeCallback ff)
{
	struct vl_ev *ev = g_new0(struct vl_ev, 1);

	ev->fd = fd;
	ev->events = events;
	ev->hcb = cb;
	ev->opaque = opaque;
	ev->ff = ff;
	return ev_add(ev);
}

static int vl_add_timeout(int interval, virEventTimeoutCallback cb, void *opaque,
			  virFreeCallback ff)
{
	struct vl_ev *ev = g_new0(struct vl_ev, 1);

	ev->timer = true;
	ev->interval_ms = interval;
	ev->tcb = cb;
	ev->opaque = opaque;
	ev->ff = ff;
	return ev_add(ev);
}

/* Change watch/timer @id (@timer says which kind @id must be) to @val. */
static void vl_update(int id, bool timer, int val)
{
	struct vl_ev *ev;

	g_mutex_lock(&vl_lock);
	ev = vl_evs ? g_hash_table_lookup(vl_evs, GINT_TO_POINTER(id)) : NULL;
	if (ev && ev->timer == timer) {
		int *cur = timer ? &ev->interval_ms : &ev->events;
		if (*cur != val) {
			*cur = val;
			ev_arm(ev);
		}
	}
	g_mutex_unlock(&vl_lock);
}

static void vl_update_handle(int watch, int events)
{
	vl_update(watch, false, events);
}

static void vl_update_timeout(int timer, int interval)
{
	vl_update(timer, true, interval);
}

static int vl_remove(int id, bool timer)
{
	struct vl_ev *ev;

	g_mutex_lock(&vl_lock);
	ev = vl_evs ? g_hash_table_lookup(vl_evs, GINT_TO_POINTER(id)) : NULL;
	if (!ev || ev->timer != timer) {
		g_mutex_unlock(&vl_lock);
		return -1;
	}
	g_hash_table_remove(vl_evs, GINT_TO_POINTER(id));
	ev->removed = true;
	if (ev->src) {
		g_source_destroy(ev->src);
		g_source_unref(ev->src);
		ev->src = NULL;
	}
	g_mutex_unlock(&vl_lock);
	/* the free callback from the loop, never from inside the remove call */
	g_idle_add(free_later, ev);
	return 0;
}

static int vl_remove_handle(int watch)
{
	return vl_remove(watch, false);
}

static int vl_remove_timeout(int timer)
{
	return vl_remove(timer, true);
}

void vn_virt_loop_register(void)
{
	static gsize once;

	if (g_once_init_enter(&once)) {
		/* libvirt's global state (thread-local errors) before any thread uses it */
		if (virInitialize() < 0)
			VN_WARN("libvirt: virInitialize failed");
		virEventRegisterImpl(vl_add_handle, vl_update_handle, vl_remove_handle,
				     vl_add_timeout, vl_update_timeout, vl_remove_timeout);
		VN_DBG("libvirt event loop on the GLib main loop");
		g_once_init_leave(&once, 1);
	}
}

unsigned vn_virt_loop_active(void)
{
	unsigned n;

	g_mutex_lock(&vl_lock);
	n = vl_evs ? g_hash_table_size(vl_evs) : 0;
	g_mutex_unlock(&vl_lock);
	return n;
}
