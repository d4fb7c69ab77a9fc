/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the metrics endpoint's HTTP request parser, fed in reads of any split. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vnicd/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The answer to the whole request at once, written without the parser's incremental search. */
static enum vn_http_route reference(const char *d, size_t n)
{
	size_t m = MIN(n, (size_t)VN_METRICS_REQ_MAX);
	g_autofree char *req = g_strndup(d, m);
	bool done = false;

	for (size_t i = 0; i + 1 < m && !done; i++) /* (byte by byte: no memcmp hook a byte) */
		done = (d[i] == '\n' && d[i + 1] == '\n') ||
		       (i + 3 < m && d[i] == '\r' && d[i + 1] == '\n' && d[i + 2] == '\r' &&
			d[i + 3] == '\n');
	if (!done)
		return n >= VN_METRICS_REQ_MAX ? VN_HTTP_TOO_LONG : VN_HTTP_MORE;
	if (g_str_has_prefix(req, "GET /metrics ") || g_str_has_prefix(req, "GET /metrics?"))
		return VN_HTTP_METRICS;
	return g_str_has_prefix(req, "GET ") ? VN_HTTP_NOT_FOUND : VN_HTTP_BAD_METHOD;
}

/* The reply must be one HTTP/1.0 response whose Content-Length is its body's length. */
static void check_reply(enum vn_http_route r, const char *body)
{
	g_autoptr(GString) out = g_string_new("stale");
	const char *cl, *end;

	vn_metrics_http_reply(out, r, body);
	cl = strstr(out->str, "\r\nContent-Length: ");
	end = strstr(out->str, "\r\n\r\n");
	if (!g_str_has_prefix(out->str, "HTTP/1.0 ") || !cl || !end || cl > end ||
	    strtoull(cl + 18, NULL, 10) != strlen(end + 4))
		__builtin_trap();
	if (r == VN_HTTP_METRICS && strcmp(end + 4, body) != 0)
		__builtin_trap();
	if ((r == VN_HTTP_METRICS) != g_str_has_prefix(out->str, "HTTP/1.0 200 "))
		__builtin_trap();
}

/*
 * Input: 4 bytes of read sizes (each 1 to 256, used in turn), then the request. A few
 * requests are made longer than the fuzzer's inputs by repeating them (the first size byte's
 * top bit), so that the size limit is reached.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GString) req = g_string_new(NULL);
	g_autoptr(GString) all = NULL;
	enum vn_http_route r = VN_HTTP_MORE, want;
	g_autofree char *body = NULL;
	size_t off = 0;

	if (size < 4)
		return 0;
	all = g_string_new_len((const char *)data + 4, (gssize)size - 4);
	if (data[0] & 0x80 && all->len)
		while (all->len < VN_METRICS_REQ_MAX + 512)
			g_string_append_len(all, (const char *)data + 4, (gssize)size - 4);
	for (unsigned i = 0; off < all->len && r == VN_HTTP_MORE; i++) {
		size_t n = MIN((size_t)data[i % 4] % 256 + 1, all->len - off);
		r = vn_metrics_http_feed(req, all->str + off, n);
		off += n;
	}
	want = reference(all->str, all->len);
	if (r != want || req->len > VN_METRICS_REQ_MAX)
		__builtin_trap(); /* another split gave another answer, or the limit was passed */
	if (r == VN_HTTP_MORE || r == VN_HTTP_TOO_LONG)
		return 0;
	body = g_strndup(all->str, all->len);
	check_reply(r, body);
	return 0;
}
