/* SPDX-License-Identifier: MIT */
/*
 * Packet capture of a port to a pcapng file. Workers copy frames (rte_pcapng_copy) into a
 * bounded ring; the control thread writes them out to the client's (non-blocking) fd
 * through a bounded output buffer. When the ring, its buffer pool or the output buffer is
 * full, copies are dropped and counted: a capture never stalls the data path, and a reader
 * that does not read never stalls the main loop.
 */
#ifndef VNICD_CAPTURE_H
#define VNICD_CAPTURE_H

#include <stdint.h>

#include <glib.h>
#include <json-glib/json-glib.h>
#include <rte_mbuf.h>
#include <rte_pcapng.h>
#include <rte_ring.h>

struct vn_switch;

/** struct vn_capture - what the workers see of a capture (read-mostly, counters atomic). */
struct vn_capture {
	/* vn_capture_burst(): the pipeline calls it through here, so the data path does not
	 * depend on this module */
	void (*burst)(struct vn_capture *cap, struct rte_mbuf *const *pkts, uint16_t n,
		      uint32_t queue, enum rte_pcapng_direction dir);
	struct rte_ring *ring;	/* multi-producer, single-consumer */
	struct rte_mempool *mp; /* pcapng copies */
	uint32_t snaplen;
	uint64_t limit;	  /* stop copying after this many (UINT64_MAX: no limit) */
	uint64_t taken;	  /* atomic: copies enqueued */
	uint64_t dropped; /* atomic: copies lost (ring full, no buffer) */
};

/**
 * vn_capture_burst() - copy @n frames of a port into @cap. Thread: worker.
 * @dir: RTE_PCAPNG_DIRECTION_IN for frames the port's peer sent, OUT for frames to it.
 */
void vn_capture_burst(struct vn_capture *cap, struct rte_mbuf *const *pkts, uint16_t n,
		      uint32_t queue, enum rte_pcapng_direction dir);

/**
 * vn_capture_start() - start capturing port @port into the open file @fd (ownership
 * passes to the capture, even on failure), for @count frames (0: no limit) and/or
 * @duration_s seconds (0: no limit), at most @snaplen bytes a frame.
 * Return: the capture id (> 0), or -errno with @err set. Thread: control.
 */
int vn_capture_start(struct vn_switch *sw, const char *port, int fd, uint64_t count,
		     unsigned duration_s, uint32_t snaplen, GError **err);

/** vn_capture_stop() - finish capture @id now. Return: 0 or -ENOENT (@err). */
int vn_capture_stop(unsigned id, GError **err);

/** vn_capture_json() - status of capture @id as a JSON object. Return: 0 or -ENOENT (@err). */
int vn_capture_json(unsigned id, JsonBuilder *b, GError **err);

/** vn_capture_shutdown() - finish every capture (daemon exit). */
void vn_capture_shutdown(void);

#endif
