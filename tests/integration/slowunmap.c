/* SPDX-License-Identifier: MIT */
/*
 * LD_PRELOAD test helper: every munmap() of 2 MiB or more by librte_vhost's event thread
 * (a departed guest's memory) returns only after SLOWUNMAP_US (default 50000) microseconds,
 * which widens the library's window between unmapping a disconnected guest's memory and
 * forgetting its device: a worker that touches the device in it (a queue armed or disarmed
 * after destroy_device) reads unmapped rings and dies (test_vhost_bridge: reconnect).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int munmap(void *addr, size_t len)
{
	static int (*real)(void *, size_t);
	char name[16] = "";
	const char *us;
	int rc;

	if (!real)
		real = (int (*)(void *, size_t))dlsym(RTLD_NEXT, "munmap");
	rc = real(addr, len);
	/* DPDK 22.11 names the thread vhost-events, later releases dpdk-vhost-evt */
	if (len >= (1u << 21) && pthread_getname_np(pthread_self(), name, sizeof(name)) == 0 &&
	    strstr(name, "vhost-ev")) {
		us = getenv("SLOWUNMAP_US");
		usleep(us ? (useconds_t)atoi(us) : 50000);
	}
	return rc;
}
