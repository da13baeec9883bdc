/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The --watch daemon's HTTP server: libmicrohttpd driven by the daemon's
 * own event loop, with no thread of its own.
 *
 * libmicrohttpd runs with MHD_USE_EPOLL and no internal thread: it keeps
 * its sockets in one epoll fd, which http_server__attach adds to the
 * daemon's event loop (loop.h) with a one-shot timer for libmicrohttpd's
 * next deadline (MHD_get_timeout: a connection's timeout); when the fd is
 * readable or the timer expires, MHD_run does what is due and the timer
 * is set again.
 * Every socket is non-blocking and MHD_run only does what is ready, so a
 * client that sends half a request or never reads its response costs a
 * connection slot until its timeout, never a wait: the ring buffers are
 * drained by the same loop, right after.  Requests are answered inside
 * http_server__run, on the loop's thread, so the handlers read the
 * daemon's state as it is, without a lock or a snapshot.
 *
 * Bounds: at most HTTP_MAX_CONNECTIONS at once (HTTP_MAX_PER_IP from one
 * address), each closed after HTTP_TIMEOUT_S without progress; a request
 * head of at most 32 KiB (libmicrohttpd answers larger ones with 431),
 * and a POST body of at most HTTP_MAX_BODY (longer: the connection is
 * closed).  Bytes that are no HTTP request line ("BLAH") get the
 * connection closed without an answer; an unknown HTTP version 505.
 */
#ifndef LW_SERVER_H
#define LW_SERVER_H

#include <stdint.h>
#include <sys/socket.h>

struct http_handler;
struct loop;

#define HTTP_DEFAULT_LISTEN "127.0.0.1:9464"
#define HTTP_MAX_CONNECTIONS 64
#define HTTP_MAX_PER_IP 32
#define HTTP_TIMEOUT_S 10
#define HTTP_MAX_BODY 4096

/* "ADDR:PORT" (IPv4 dotted quad, or [IPv6]) as a socket address: 0 or
 * -EINVAL.  PORT 0 asks the kernel for a free port. */
int http_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len);

struct http_server;

struct http_server_opts {
	const char *listen;		/* NULL: HTTP_DEFAULT_LISTEN */
	struct http_handler *handler;	/* not owned */
};

/* Listening when it returns: NULL + errno (EINVAL: a bad address;
 * EADDRINUSE and the like from bind). */
struct http_server *http_server__new(const struct http_server_opts *o);
void http_server__free(struct http_server *s);	/* accepts NULL */

/* Serve from l: its epoll fd and deadline timer become sources of l
 * until http_server__detach or __free (before loop__free).  0 or
 * -Exxx. */
int http_server__attach(struct http_server *s, struct loop *l);

/* Leave the loop s was attached to (before that loop is freed); s keeps
 * its socket and can be attached again.  Accepts one not attached. */
void http_server__detach(struct http_server *s);

/* For a loop of another kind: the epoll fd to watch for reading. */
int http_server__fd(const struct http_server *s);
/* Milliseconds until http_server__run must be called even without
 * activity (a connection's timeout); -1: no such deadline. */
int http_server__timeout_ms(struct http_server *s);
/* Accept, read, answer and write what is ready, without blocking. */
int http_server__run(struct http_server *s);
/* The port listened on (the kernel's choice for port 0). */
uint16_t http_server__port(const struct http_server *s);

#endif /* LW_SERVER_H */
