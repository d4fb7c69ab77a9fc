/* SPDX-License-Identifier: MIT */
/*
 * libvirt's event loop on vnicd's GLib main loop: the six virEventRegisterImpl() callbacks
 * (add/update/remove a file-descriptor watch and a timer) implemented as GLib sources of the
 * default main context, so libvirt's client (keep-alives, domain events, the close callback)
 * runs on the control thread's loop and no thread runs virEventRunDefaultImpl().
 *
 * Semantics kept from libvirt's own loop (src/util/vireventglib.c / vireventpoll.c):
 *   - a watch with events 0, or a timer with interval -1, exists but never fires;
 *   - a timer with interval 0 fires on every loop iteration (a GLib idle source);
 *   - the free callback of a removed watch or timer runs later, from the loop, never inside
 *     the remove call (libvirt may remove a watch from its own callback);
 *   - the callbacks may be called from any thread (libvirt's RPC client updates watches from
 *     the thread making a call): the registry is behind a mutex and GLib sources are
 *     attached to, and destroyed in, the default context, which is thread-safe.
 */
#ifndef VNICD_VIRT_LOOP_H
#define VNICD_VIRT_LOOP_H

/**
 * vn_virt_loop_register() - initialise libvirt (virInitialize()) and register the GLib
 * implementation with it (virEventRegisterImpl()); once per process, before the first
 * virConnectOpen(). Later calls do nothing. Thread: control (the thread that runs the
 * default main context).
 */
void vn_virt_loop_register(void);

/** vn_virt_loop_active() - Return: watches plus timers registered now (tests, leaks). */
unsigned vn_virt_loop_active(void);

#endif
