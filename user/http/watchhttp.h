/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The --watch daemon (watch.h) served over HTTP: its query functions as
 * the server's provider (provider.h), and the server on the daemon's event
 * loop.  The one module that knows both sides.
 */
#ifndef LW_WATCHHTTP_H
#define LW_WATCHHTTP_H

#include <stddef.h>
#include <stdint.h>

struct loop;
struct watch;
struct watch_http;

struct watch_http_opts {
	const char *listen;	/* ADDR:PORT; NULL: 127.0.0.1:9464 */
	size_t top;		/* per-process series besides suspects and traced */
};

/* Listening when it returns (connections wait until it is attached to a
 * loop): NULL + errno (EINVAL: a bad address; bind's errno). */
struct watch_http *watch_http__new(struct watch *w, const struct watch_http_opts *o);
void watch_http__free(struct watch_http *h);	/* accepts NULL; before watch__free */
/* Serve from the daemon's loop (watch.h's attach hook): 0 or -Exxx;
 * detach before that loop ends. */
int watch_http__attach(struct watch_http *h, struct loop *l);
void watch_http__detach(struct watch_http *h);
uint16_t watch_http__port(const struct watch_http *h);

#endif /* LW_WATCHHTTP_H */
