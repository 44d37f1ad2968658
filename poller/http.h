/* The optional HTTP endpoint of `blwatch run` ([http] listen): Prometheus
 * metrics, the status and history JSON, and a status page.
 *
 * It runs on libmicrohttpd's own thread and reads the database through its
 * own read-only connection, so a slow client or a long page never holds up
 * the poller; only GET and HEAD are served.
 */
#ifndef BW_HTTP_H
#define BW_HTTP_H

#include <stdbool.h>
#include <sys/socket.h>

#include "err.h"

struct config;
struct metrics;
struct http_server;

struct http_addr {
  struct sockaddr_storage ss;
  socklen_t len;
  bool loopback; /* 127.0.0.0/8 or ::1 */
};

/* Parses "127.0.0.1:9850" or "[::1]:9850" (addresses only, no names). */
enum bw_err http_parse_listen(const char *text, struct http_addr *out,
                              char *err);

/* Starts serving cfg->http_listen.  cfg is the daemon's config, read by
 * the HTTP thread: the daemon changes it only between http_lock() and
 * http_unlock().  m (may be NULL) must outlive the server.  The caller
 * stops it with http_stop(). */
enum bw_err http_start(const struct config *cfg, struct metrics *m,
                       struct http_server **out, char *err);

/* Keeps the HTTP thread away from the config while the daemon swaps it. */
void http_lock(struct http_server *h);
void http_unlock(struct http_server *h);

/* Stops serving (waits for the request in progress) and frees h. */
void http_stop(struct http_server *h);

/* Compares a request's Authorization header with "Bearer TOKEN" in time
 * that does not depend on where they differ. */
bool http_token_ok(const char *authorization, const char *token);

#endif
