/* libcurl's multi interface driven by the libuv loop, so a slow or dead
 * mail or web server never holds up DNS polling. */
#ifndef BW_CURLIO_H
#define BW_CURLIO_H

#include <curl/curl.h>
#include <uv.h>

#include "err.h"

struct curlio;

/* Called once per transfer, on the loop, after it ended; the easy handle
 * is removed from the multi and then cleaned up by curlio after fn
 * returns, so fn may read its info but must not free it. */
typedef void (*curlio_done_fn)(void *arg, CURL *easy, CURLcode result);

enum bw_err curlio_open(uv_loop_t *loop, struct curlio **out, char *err);

/* Starts a transfer; curlio owns easy from now on. */
enum bw_err curlio_add(struct curlio *io, CURL *easy, curlio_done_fn fn,
                       void *arg, char *err);

/* Transfers running. */
unsigned curlio_running(const struct curlio *io);

/* Aborts what is running (their callbacks get CURLE_ABORTED_BY_CALLBACK)
 * and frees everything once libuv has closed the handles. */
void curlio_close(struct curlio *io);

#endif
