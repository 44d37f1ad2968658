/* The HTTP endpoint: libmicrohttpd on its own thread, one read-only
 * SQLite connection used by that thread only. */
#include "http.h"

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "ini.h"
#include "log.h"
#include "metrics.h"
#include "page.h"
#include "statuscmd.h"
#include "store.h"

/* Limits: a monitoring endpoint has a scraper and a few browsers. */
#define HTTP_MAX_CONNECTIONS 16
#define HTTP_MAX_PER_IP 8
#define HTTP_TIMEOUT_S 10
#define HTTP_MEMORY_LIMIT (32 * 1024) /* per connection: request headers */

struct http_server {
  struct MHD_Daemon *mhd;
  const struct config *cfg; /* the daemon's; read under lock */
  pthread_mutex_t lock;
  struct metrics *metrics;
  struct store *st; /* read-only; the MHD thread's alone */
  char *token;      /* NULL: no token needed */
};

/* ---- responses --------------------------------------------------------- */

static enum MHD_Result send_body(struct MHD_Connection *c, unsigned status,
                                 const char *type, char *body, size_t len) {
  struct MHD_Response *r = MHD_create_response_from_buffer(
      len, body, MHD_RESPMEM_MUST_FREE);
  enum MHD_Result rc;

  if (r == NULL) {
    free(body);
    return MHD_NO;
  }
  MHD_add_response_header(r, "Content-Type", type);
  MHD_add_response_header(r, "Cache-Control", "no-store");
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
  if (strncmp(type, "text/html", 9) == 0) {
    /* No script at all; inline styles and the inline SVG only. */
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; style-src 'unsafe-inline'; "
                            "img-src data:; frame-ancestors 'none'; "
                            "form-action 'none'; base-uri 'none'");
  }
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
    MHD_add_response_header(r, "Allow", "GET, HEAD");
  if (status == MHD_HTTP_UNAUTHORIZED)
    MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"blwatch\"");
  rc = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return rc;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status,
                                 const char *text) {
  char *body = strdup(text);

  if (body == NULL)
    return MHD_NO;
  return send_body(c, status, "text/plain; charset=utf-8", body,
                   strlen(body));
}

/* ---- the routes -------------------------------------------------------- */

enum route { R_PAGE, R_METRICS, R_STATUS, R_HISTORY, R_NONE };

static enum route route_of(const char *url) {
  static const char *const paths[] = {"/", "/metrics", "/api/status",
                                      "/api/history"};

  for (int i = 0; i < R_NONE; i++)
    if (strcmp(url, paths[i]) == 0)
      return (enum route)i;
  return R_NONE;
}

/* history's query: ?target=ADDRESS|DOMAIN&since=DURATION, as the CLI. */
static int history_args(struct MHD_Connection *c, char *key, size_t size,
                        bool *have_key, int64_t *since, char *err) {
  const char *target =
      MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "target");
  const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                              "since");
  uint64_t ms = 0;
  char msg[BW_ERRLEN];

  *have_key = target != NULL && target[0] != '\0';
  if (*have_key && statuscmd_history_key(target, key, size, msg) != 0) {
    snprintf(err, BW_ERRLEN, "target: %.400s\n", msg);
    return 1;
  }
  if (s != NULL && s[0] != '\0' && ini_duration(s, &ms, msg) != BW_OK) {
    snprintf(err, BW_ERRLEN, "since: %.400s\n", msg);
    return 1;
  }
  *since = ms ? time(NULL) - (int64_t)(ms / 1000) : 0;
  return 0;
}

/* Writes the body of a route into out.  Returns the HTTP status. */
static unsigned render(struct http_server *h, struct MHD_Connection *c,
                       enum route r, FILE *out, char *err) {
  char key[256];
  bool have_key;
  int64_t since;
  int rc = 0;

  if (r == R_HISTORY) {
    if (history_args(c, key, sizeof(key), &have_key, &since, err) != 0)
      return MHD_HTTP_BAD_REQUEST;
    rc = statuscmd_history_json(h->st, have_key ? key : NULL, since, out,
                                err);
    return rc == 0 ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
  }
  pthread_mutex_lock(&h->lock);
  if (r == R_METRICS)
    rc = metrics_write(h->metrics, h->cfg, h->st, out, err);
  else if (r == R_STATUS)
    rc = statuscmd_status_json(h->cfg, h->st, out, err);
  else
    rc = page_write(h->cfg, h->st, time(NULL), out, err);
  pthread_mutex_unlock(&h->lock);
  return rc == 0 ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
}

static const char *const content_types[] = {
    [R_PAGE] = "text/html; charset=utf-8",
    [R_METRICS] = "text/plain; version=0.0.4; charset=utf-8",
    [R_STATUS] = "application/json",
    [R_HISTORY] = "application/json",
};

static enum MHD_Result serve(struct http_server *h, struct MHD_Connection *c,
                             enum route r) {
  char err[BW_ERRLEN] = "out of memory", *body = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&body, &len);
  unsigned status;

  if (out == NULL)
    return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
  status = render(h, c, r, out, err);
  if (fclose(out) != 0)
    status = MHD_HTTP_INTERNAL_SERVER_ERROR;
  if (status != MHD_HTTP_OK) {
    free(body);
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
      log_err("http: cannot read the database: %s", err);
    return send_text(c, status, status == MHD_HTTP_BAD_REQUEST
                                    ? err
                                    : "the database cannot be read now; "
                                      "see the log\n");
  }
  return send_body(c, MHD_HTTP_OK, content_types[r], body, len);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version,
                                  const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
  static int seen;
  struct http_server *h = cls;
  bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
  enum route r;

  (void)version;
  (void)upload_data;
  if (!get && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
    return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                     "only GET and HEAD are served\n");
  if (*con_cls == NULL) { /* headers in; answer on the next call */
    *con_cls = &seen;
    return MHD_YES;
  }
  if (*upload_data_size != 0) /* a GET with a body: nothing to do with it */
    return send_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "no body expected\n");
  if (h->token != NULL &&
      !http_token_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_AUTHORIZATION),
                     h->token))
    return send_text(c, MHD_HTTP_UNAUTHORIZED,
                     "an Authorization: Bearer token is required\n");
  if ((r = route_of(url)) == R_NONE)
    return send_text(c, MHD_HTTP_NOT_FOUND,
                     "not found: try /, /metrics, /api/status or "
                     "/api/history\n");
  return serve(h, c, r);
}

/* The format comes from libmicrohttpd: declared as one so that the
 * compiler checks the call like any printf. */
__attribute__((format(printf, 2, 0))) static void
on_mhd_log(void *cls, const char *fmt, va_list ap) {
  char msg[512];

  (void)cls;
  vsnprintf(msg, sizeof(msg), fmt, ap);
  msg[strcspn(msg, "\n")] = '\0';
  log_warn("http: %s", msg);
}

/* ---- start and stop ---------------------------------------------------- */

enum bw_err http_start(const struct config *cfg, struct metrics *m,
                       struct http_server **out, char *err) {
  struct http_server *h = calloc(1, sizeof(*h));
  struct http_addr a;
  unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;

  if (h == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  pthread_mutex_init(&h->lock, NULL);
  h->cfg = cfg;
  h->metrics = m;
  if (http_parse_listen(cfg->http_listen, &a, err) != BW_OK)
    goto fail;
  if (cfg->http_token != NULL && (h->token = strdup(cfg->http_token)) == NULL) {
    bw_fail(err, BW_ENOMEM, "out of memory");
    goto fail;
  }
  if (store_open(cfg->database, STORE_READONLY, &h->st, err) != BW_OK)
    goto fail;
  if (a.ss.ss_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  h->mhd = MHD_start_daemon(
      flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER,
      on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, &a.ss,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_MAX_PER_IP,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY_LIMIT,
      MHD_OPTION_END);
  if (h->mhd == NULL) {
    bw_fail(err, BW_EIO, "[http] cannot listen on %s (in use, or not an "
            "address of this machine?)", cfg->http_listen);
    goto fail;
  }
  *out = h;
  return BW_OK;
fail:
  http_stop(h);
  return BW_EIO;
}

void http_lock(struct http_server *h) {
  if (h != NULL)
    pthread_mutex_lock(&h->lock);
}

void http_unlock(struct http_server *h) {
  if (h != NULL)
    pthread_mutex_unlock(&h->lock);
}

void http_stop(struct http_server *h) {
  if (h == NULL)
    return;
  if (h->mhd != NULL)
    MHD_stop_daemon(h->mhd);
  store_close(h->st);
  if (h->token != NULL)
    OPENSSL_cleanse(h->token, strlen(h->token));
  free(h->token);
  pthread_mutex_destroy(&h->lock);
  free(h);
}
