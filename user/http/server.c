// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <string.h>

#include <microhttpd.h>

#include "handler.h"
#include "log.h"
#include "loop.h"
#include "server.h"

struct http_server {
	struct MHD_Daemon *mhd;
	struct http_handler *handler;
	int epoll_fd;
	uint16_t port;
	struct loop *loop;		/* attached to; NULL: none */
	struct loop_source *fd_src, *timer_src;
};

/* Per request, from the first call (its head) on: the body bytes
 * dropped so far. */
struct request {
	size_t body;
};

int http_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *port, *h;
	size_t hlen;
	long p = 0;
	const char *c;

	if (!s)
		return -EINVAL;
	if (s[0] == '[') {
		colon = strstr(s, "]:");
		if (!colon)
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(colon - h);
		port = colon + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		h = s;
		hlen = (size_t)(colon - s);
		port = colon + 1;
	}
	if (!hlen || hlen >= sizeof(host) || !*port || strlen(port) > 5)
		return -EINVAL;
	for (c = port; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		p = p * 10 + (*c - '0');
	}
	if (p > 65535)
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = 0;
	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -EINVAL;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)p);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)p);
		*len = sizeof(*a);
	}
	return 0;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	lw_debug("http: %s", msg);
}

static enum MHD_Result queue(struct MHD_Connection *conn, struct http_reply *rep)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	/* MHD_RESPMEM_MUST_FREE: the response takes the body and free()s it */
	resp = MHD_create_response_from_buffer(rep->len, rep->body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		http_reply_clear(rep);
		return MHD_NO;
	}
	rep->body = NULL;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (rep->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rep->allow);
	ret = MHD_queue_response(conn, (unsigned int)rep->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct http_server *s = cls;
	struct request *req = *req_cls;
	struct http_reply rep;
	const char *seconds;

	if (!req) {
		/* the head has arrived; the body (if any) and the answer
		 * come in the next calls */
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*req_cls = req;
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* no route takes a body: read and drop it, within bounds */
		req->body += *upload_data_size;
		*upload_data_size = 0;
		return req->body > HTTP_MAX_BODY ? MHD_NO : MHD_YES;
	}
	seconds = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "seconds");
	if (http_handler__handle(s->handler, method, url, seconds, &rep))
		return MHD_NO;	/* out of memory: the connection is closed */
	return queue(conn, &rep);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	free(*req_cls);
	*req_cls = NULL;
}

struct http_server *http_server__new(const struct http_server_opts *o)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage ss;
	struct http_server *s;
	unsigned int flags;
	socklen_t len;
	int err;

	if (!o || !o->handler ||
	    http_parse_listen(o->listen ? o->listen : HTTP_DEFAULT_LISTEN, &ss, &len)) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->handler = o->handler;
	flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
	errno = 0;
	s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_MAX_CONNECTIONS,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)HTTP_MAX_PER_IP,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_TIMEOUT_S,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 << 10),
				  MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)64,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
				  MHD_OPTION_END);
	if (!s->mhd) {
		/* MHD says why in its log only; bind's errno is usually kept */
		err = errno ? errno : EADDRNOTAVAIL;
		free(s);
		errno = err;
		return NULL;
	}
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	s->epoll_fd = info ? info->epoll_fd : -1;
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	if (s->epoll_fd < 0) {
		http_server__free(s);
		errno = ENOTSUP;
		return NULL;
	}
	return s;
}

/* Until MHD_run is due again without activity; when no connection has a
 * deadline, a late check costs nothing (the fd wakes the loop for the
 * rest). */
static int rearm(struct http_server *s)
{
	int ms = http_server__timeout_ms(s);

	if (ms < 0 || ms > HTTP_TIMEOUT_S * 1000)
		ms = HTTP_TIMEOUT_S * 1000;
	/* 0 would mean "at once" to the loop: at least 1 ms */
	return loop__timer_set(s->timer_src, (uint64_t)(ms ? ms : 1) * 1000000ull, 0);
}

static int on_ready(void *ctx, uint32_t events)
{
	struct http_server *s = ctx;

	/* an MHD error is about one connection, never a reason to end the
	 * daemon's loop */
	if (http_server__run(s))
		lw_debug("http: MHD_run failed\n");
	return rearm(s);
}

static int on_deadline(void *ctx, uint64_t expirations)
{
	return on_ready(ctx, 0);
}

int http_server__attach(struct http_server *s, struct loop *l)
{
	if (s->loop)
		return -EBUSY;
	s->fd_src = loop__add_fd(l, s->epoll_fd, EPOLLIN, on_ready, s);
	if (!s->fd_src)
		return -errno;
	s->timer_src = loop__add_timer(l, (uint64_t)HTTP_TIMEOUT_S * 1000000000ull, 0,
				       on_deadline, s);
	if (!s->timer_src) {
		int err = -errno;

		loop__remove(l, s->fd_src);
		s->fd_src = NULL;
		return err;
	}
	s->loop = l;
	return rearm(s);
}

void http_server__detach(struct http_server *s)
{
	if (!s->loop)
		return;
	loop__remove(s->loop, s->fd_src);
	loop__remove(s->loop, s->timer_src);
	s->fd_src = s->timer_src = NULL;
	s->loop = NULL;
}

void http_server__free(struct http_server *s)
{
	if (!s)
		return;
	http_server__detach(s);
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	free(s);
}

int http_server__fd(const struct http_server *s)
{
	return s->epoll_fd;
}

int http_server__timeout_ms(struct http_server *s)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (MHD_get_timeout(s->mhd, &t) != MHD_YES)
		return -1;
	return t > INT_MAX ? INT_MAX : (int)t;
}

int http_server__run(struct http_server *s)
{
	return MHD_run(s->mhd) == MHD_YES ? 0 : -EIO;
}

uint16_t http_server__port(const struct http_server *s)
{
	return s->port;
}
