#include "alert.h"

#include <getopt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "cli.h"
#include "curlio.h"
#include "ini.h"
#include "log.h"
#include "notice.h"

/* Pending rows wait this long for more to join them, at most MAX_WAIT. */
#define QUIET_S 5
#define MAX_WAIT_S 60
#define NOTICE_MAX_EVENTS 500
#define TICK_MS 1000
#define RESULT_LEN 256
/* Debian's certificate directory (hashed links, update-ca-certificates). */
#define SYSTEM_CA_DIR "/etc/ssl/certs"

/* One transfer: a notice on its way to one channel. */
struct xfer {
  struct alert_relay *relay;  /* NULL for test-alert */
  const struct alert_cfg *cfg; /* test-alert's channel */
  char channel[64];
  int64_t notice;
  int64_t oldest; /* created time of its oldest row */
  int64_t attempts;
  char *body;
  size_t len, sent;
  struct curl_slist *headers;
  struct curl_slist *rcpts;
  char errbuf[CURL_ERROR_SIZE];
  char result[RESULT_LEN]; /* "ok" or why it failed */
  bool ok;
};

static void xfer_free(struct xfer *x) {
  free(x->body);
  curl_slist_free_all(x->headers);
  curl_slist_free_all(x->rcpts);
  free(x);
}

/* ---- building requests ------------------------------------------------- */

static size_t read_body(char *buf, size_t size, size_t nmemb, void *arg) {
  struct xfer *x = arg;
  size_t n = size * nmemb;

  if (n > x->len - x->sent)
    n = x->len - x->sent;
  memcpy(buf, x->body + x->sent, n);
  x->sent += n;
  return n;
}

static size_t discard(char *buf, size_t size, size_t nmemb, void *arg) {
  (void)buf;
  (void)arg;
  return size * nmemb;
}

/* "X-Blwatch-Signature: sha256=<hex HMAC-SHA256 of the body>". */
static bool sign(struct xfer *x, const char *secret) {
  unsigned char mac[32];
  size_t maclen = 0;
  char line[128] = "X-Blwatch-Signature: sha256=";
  size_t used = strlen(line);

  if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, strlen(secret),
                (const unsigned char *)x->body, x->len, mac, sizeof(mac),
                &maclen) == NULL)
    return false;
  for (size_t i = 0; i < maclen; i++)
    used += (size_t)snprintf(line + used, sizeof(line) - used, "%02x", mac[i]);
  x->headers = curl_slist_append(x->headers, line);
  return x->headers != NULL;
}

static bool add_header(struct xfer *x, const char *line) {
  struct curl_slist *l = curl_slist_append(x->headers, line);

  if (l != NULL)
    x->headers = l;
  return l != NULL;
}

static CURL *webhook(const struct alert_cfg *a, const struct notice *n,
                     struct xfer *x) {
  bool slack = a->format != NULL && strcmp(a->format, "slack") == 0;
  CURL *easy;

  x->body = slack ? notice_slack(n) : notice_json(n);
  if (x->body == NULL || (easy = curl_easy_init()) == NULL)
    return NULL;
  x->len = strlen(x->body);
  char id[64], key[80];

  snprintf(id, sizeof(id), "X-Blwatch-Notice: %lld", (long long)n->id);
  snprintf(key, sizeof(key), "Idempotency-Key: blwatch-%lld",
           (long long)n->id);
  if (!add_header(x, "Content-Type: application/json") ||
      !add_header(x, id) || !add_header(x, key) ||
      (a->secret != NULL && !sign(x, a->secret))) {
    curl_easy_cleanup(easy);
    return NULL;
  }
  curl_easy_setopt(easy, CURLOPT_URL, a->url);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)x->len);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, x->body);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, x->headers);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "blwatch/" BLWATCH_VERSION);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
  return easy;
}

static enum bw_err add_rcpt(void *arg, char *item, char *err) {
  struct xfer *x = arg;
  char addr[320];
  struct curl_slist *l;

  snprintf(addr, sizeof(addr), item[0] == '<' ? "%s" : "<%s>", item);
  l = curl_slist_append(x->rcpts, addr);
  if (l == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  x->rcpts = l;
  return BW_OK;
}

static CURL *email(const struct alert_cfg *a, const struct notice *n,
                   struct xfer *x) {
  char from[320], err[BW_ERRLEN], *to = strdup(a->to);
  long ssl = CURLUSESSL_ALL; /* STARTTLS required unless told otherwise */
  CURL *easy = NULL;

  x->body = notice_email(n, a);
  if (to == NULL || x->body == NULL ||
      ini_split(to, add_rcpt, x, err) != BW_OK ||
      (easy = curl_easy_init()) == NULL) {
    free(to);
    return NULL;
  }
  free(to);
  x->len = strlen(x->body);
  if (a->starttls != NULL && strcmp(a->starttls, "try") == 0)
    ssl = CURLUSESSL_TRY;
  else if (a->starttls != NULL && strcmp(a->starttls, "no") == 0)
    ssl = CURLUSESSL_NONE;
  snprintf(from, sizeof(from), a->from[0] == '<' ? "%s" : "<%s>", a->from);
  curl_easy_setopt(easy, CURLOPT_URL, a->url);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  if (strncmp(a->url, "smtp://", 7) == 0)
    curl_easy_setopt(easy, CURLOPT_USE_SSL, ssl);
  if (a->username != NULL) {
    curl_easy_setopt(easy, CURLOPT_USERNAME, a->username);
    curl_easy_setopt(easy, CURLOPT_PASSWORD, a->password ? a->password : "");
  }
  curl_easy_setopt(easy, CURLOPT_MAIL_FROM, from);
  curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, x->rcpts);
  curl_easy_setopt(easy, CURLOPT_READFUNCTION, read_body);
  curl_easy_setopt(easy, CURLOPT_READDATA, x);
  curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(easy, CURLOPT_INFILESIZE, (long)x->len);
  return easy;
}

/* The transfer for notice n on channel a; NULL when out of memory. */
static CURL *build(const struct alert_cfg *a, const struct notice *n,
                   struct xfer *x) {
  CURL *easy = strcmp(a->type, "email") == 0 ? email(a, n, x)
                                               : webhook(a, n, x);

  if (easy == NULL)
    return NULL;
  /* TLS is always verified.  ca_file replaces libcurl's CA bundle file
   * (CURLOPT_CAINFO); the system's certificate directory stays trusted
   * through CURLOPT_CAPATH, set here rather than left to how libcurl was
   * built, so a private CA is added to the public ones. */
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (a->ca_file != NULL) {
    curl_easy_setopt(easy, CURLOPT_CAINFO, a->ca_file);
    curl_easy_setopt(easy, CURLOPT_CAPATH, SYSTEM_CA_DIR);
  }
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 60000L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, x->errbuf);
  return easy;
}

/* The first place in text where the len bytes at s occur, or NULL. */
static char *find(char *text, const char *s, size_t len) {
  for (char *p = text; *p != '\0'; p++)
    if (strncmp(p, s, len) == 0)
      return p;
  return NULL;
}

/* Replaces each occurrence of the len bytes at secret in text with
 * "<hidden>".  Secrets shorter than 4 bytes are left: replacing every
 * "a" would garble the message and hide nothing. */
static void hide(char *text, size_t size, const char *secret, size_t len) {
  static const char mark[] = "<hidden>";
  size_t at = 0;
  char *p, rest[RESULT_LEN];

  if (secret == NULL || len < 4)
    return;
  while ((p = find(text + at, secret, len)) != NULL) {
    snprintf(rest, sizeof(rest), "%s", p + len);
    at = (size_t)(p - text);
    snprintf(p, size - at, "%s%s", mark, rest);
    at += sizeof(mark) - 1;
    if (at >= strlen(text))
      break;
  }
}

/* libcurl's messages name the host and port only, and HTTP failures are
 * reported by status: this makes sure that no secret of the channel (its
 * password, signing key, or the hidden parts of its URL) ever reaches a
 * log line, the outbox or test-alert's output. */
static void hide_secrets(char *text, size_t size, const struct alert_cfg *a) {
  size_t span[2][2], n;

  if (a == NULL) /* see on_sent */
    return;
  n = cfg_url_hidden(a->url, span);

  for (size_t i = 0; i < n; i++)
    hide(text, size, a->url + span[i][0], span[i][1] - span[i][0]);
  hide(text, size, a->password, a->password ? strlen(a->password) : 0);
  hide(text, size, a->secret, a->secret ? strlen(a->secret) : 0);
}

/* Whether the transfer delivered; otherwise why not, in x->result. */
static bool judge(struct xfer *x, const struct alert_cfg *a, CURL *easy,
                  CURLcode rc) {
  long code = 0;
  char *url = NULL;

  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url);
  if (rc != CURLE_OK) {
    snprintf(x->result, sizeof(x->result), "%s",
             x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
    hide_secrets(x->result, sizeof(x->result), a);
    return false;
  }
  if (url != NULL && strncmp(url, "http", 4) == 0 &&
      (code < 200 || code > 299)) {
    snprintf(x->result, sizeof(x->result), "HTTP status %ld", code);
    return false;
  }
  snprintf(x->result, sizeof(x->result), "ok");
  return true;
}

/* ---- the relay --------------------------------------------------------- */

/* What the relay knows of a channel; kept in memory only: after a
 * restart every channel counts as not having sent recently. */
struct chan {
  char name[64];
  bool busy;
  bool sent;             /* a notice was started since the relay opened */
  uint64_t last_sent_ms; /* uv_now() when the last one was started */
  int64_t flush_at;      /* rows created until then (unix time) go now */
};

struct alert_relay {
  uv_loop_t *loop;
  struct store *store;
  struct recorder *rec;
  const struct config *cfg;
  struct curlio *io;
  uv_timer_t tick;
  struct chan *chans;
  size_t nchans;
  unsigned busy;
  bool kicking;
  void (*idle_fn)(void *);
  void *idle_arg;
  int64_t idle_deadline; /* retries due before this still count as work */
  uv_timer_t retry;      /* wakes the relay for the next retry */
  int open_timers;       /* while closing */
  bool hold;             /* alert_hold(): new rows wait for a flush */
};

/* Rows of the next notice of one channel, as store_outbox_next finds them. */
struct pick {
  struct notice n;
  int64_t *ids;
  size_t nids;
  int64_t oldest, newest, attempts;
  bool grouped;
  bool oom;
};

static void pick_row(void *arg, const struct store_outbox_row *r) {
  struct pick *p = arg;
  int64_t *grown = realloc(p->ids, (p->nids + 1) * sizeof(*grown));

  if (grown == NULL || !notice_add(&p->n, &r->ev)) {
    if (grown != NULL)
      p->ids = grown;
    p->oom = true;
    return;
  }
  p->ids = grown;
  p->ids[p->nids++] = r->id;
  if (p->nids == 1 || r->created < p->oldest)
    p->oldest = r->created;
  if (r->created > p->newest)
    p->newest = r->created;
  if (r->attempts > p->attempts)
    p->attempts = r->attempts;
  p->grouped = r->notice != 0;
}

static struct chan *chan_get(struct alert_relay *r, const char *name) {
  struct chan *grown;

  for (size_t i = 0; i < r->nchans; i++)
    if (strcmp(r->chans[i].name, name) == 0)
      return &r->chans[i];
  grown = realloc(r->chans, (r->nchans + 1) * sizeof(*grown));
  if (grown == NULL)
    return NULL;
  r->chans = grown;
  grown = &r->chans[r->nchans++];
  *grown = (struct chan){.busy = false};
  snprintf(grown->name, sizeof(grown->name), "%s", name);
  return grown;
}

/* Wall-clock unix time in milliseconds: retry times are stored in the
 * outbox and must survive a restart, so the loop's monotonic clock will
 * not do. */
static int64_t wall_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Exponential backoff from the channel's retry delay, capped at an hour,
 * with +-25% jitter so that many channels do not retry in step. */
static int64_t backoff_ms(const struct alert_cfg *a, int64_t attempts) {
  double ms = (double)a->retry_ms;

  for (int64_t i = 0; i < attempts && ms < 3600e3; i++)
    ms *= 2;
  if (ms > 3600e3)
    ms = 3600e3;
  ms *= 0.75 + 0.5 * ((double)rand() / RAND_MAX);
  return (int64_t)ms;
}


/* A failed attempt: retried after the backoff, or given up once the
 * notice is older than give_up (or its channel is gone, a == NULL). */
static void record_failure(struct alert_relay *r, const struct alert_cfg *a,
                           const struct xfer *x, int64_t now) {
  bool dead = a == NULL || now - x->oldest >= (int64_t)(a->give_up_ms / 1000);
  int64_t due = wall_ms() + (a != NULL ? backoff_ms(a, x->attempts) : 0);
  char err[BW_ERRLEN];

  if (store_outbox_failed(r->store, x->notice, due, dead, x->result, err) !=
      BW_OK)
    log_err("%s", err);
  if (dead)
    log_err("notice %lld to %s: %s; giving up", (long long)x->notice,
            x->channel, x->result);
  else
    log_warn("notice %lld to %s: %s; will retry", (long long)x->notice,
             x->channel, x->result);
}

/* A reload replaces the config the relay reads, so the channel of a
 * transfer in flight may be gone (a == NULL) when it ends. */
static void on_sent(void *arg, CURL *easy, CURLcode rc) {
  struct xfer *x = arg;
  struct alert_relay *r = x->relay;
  const struct alert_cfg *a = cfg_alert(r->cfg, x->channel);
  struct chan *c = chan_get(r, x->channel);
  int64_t now = time(NULL);
  char err[BW_ERRLEN];

  if (c != NULL)
    c->busy = false;
  r->busy--;
  if (judge(x, a, easy, rc)) {
    if (store_outbox_delivered(r->store, x->notice, now, err) != BW_OK)
      log_err("%s", err);
    log_info("notice %lld delivered to %s", (long long)x->notice, x->channel);
  } else if (rc != CURLE_ABORTED_BY_CALLBACK) {
    record_failure(r, a, x, now);
  }
  xfer_free(x);
  if (rc != CURLE_ABORTED_BY_CALLBACK)
    alert_kick(r, false); /* more may be waiting behind this one */
}

/* Whether new rows (not yet in a notice) wait for more to join them.
 * A channel that has not sent recently sends once no new row came for
 * QUIET_S (at most MAX_WAIT_S after the first): the first finding goes
 * out within about a minute.  After a notice, new rows wait until
 * group_interval has passed since it was started, as Alertmanager's
 * group_interval does, so that the findings of a paced cycle, minutes
 * apart, become one notice instead of one each.  Rows created before the
 * last flush (a cycle ended, run --once) go at once; with alert_hold(),
 * nothing else does. */
static bool hold_back(const struct alert_relay *r, const struct alert_cfg *a,
                      const struct chan *c, const struct pick *p,
                      int64_t now) {
  if (p->oldest <= c->flush_at)
    return false;
  if (r->hold)
    return true;
  if (c->sent && a->group_interval_ms > 0 &&
      uv_now(r->loop) - c->last_sent_ms < a->group_interval_ms)
    return true;
  return now - p->newest < QUIET_S && now - p->oldest < MAX_WAIT_S;
}

/* Starts the transfer of notice p on channel a; false when it could not
 * start (it stays in the outbox). */
static bool start_notice(struct alert_relay *r, const struct alert_cfg *a,
                         struct pick *p) {
  struct xfer *x = calloc(1, sizeof(*x));
  char err[BW_ERRLEN];
  CURL *easy;

  if (x == NULL)
    return false;
  *x = (struct xfer){.relay = r, .notice = p->n.id, .oldest = p->oldest,
                     .attempts = p->attempts};
  snprintf(x->channel, sizeof(x->channel), "%s", a->name);
  if ((easy = build(a, &p->n, x)) == NULL) {
    log_err("notice %lld to %s: out of memory", (long long)p->n.id, a->name);
    xfer_free(x);
    return false;
  }
  if (curlio_add(r->io, easy, on_sent, x, err) != BW_OK) {
    log_err("notice to %s: %s", a->name, err);
    xfer_free(x);
    return false;
  }
  return true;
}

/* Sends what is due on one channel. */
static void send_channel(struct alert_relay *r, const struct alert_cfg *a) {
  struct pick p = {.n = {.host = notice_hostname(), .cat = &r->cfg->cat}};
  struct chan *c = chan_get(r, a->name);
  int64_t now = time(NULL);
  char err[BW_ERRLEN];
  size_t n;

  if (c == NULL || c->busy)
    return;
  if (store_outbox_next(r->store, a->name, wall_ms(), NOTICE_MAX_EVENTS,
                        pick_row, &p, &n, err) != BW_OK)
    log_err("%s", err);
  if (p.nids == 0 || p.oom || (!p.grouped && hold_back(r, a, c, &p, now)))
    goto out;
  if (!p.grouped) {
    if (store_outbox_group(r->store, p.ids, p.nids, err) != BW_OK) {
      log_err("%s", err);
      goto out;
    }
    c->sent = true;
    c->last_sent_ms = uv_now(r->loop);
    /* A notice cut at the limit is followed at once by the rest. */
    if (p.nids >= NOTICE_MAX_EVENTS)
      c->flush_at = now;
  }
  p.n.id = p.ids[0];
  p.n.sent = now;
  if (start_notice(r, a, &p)) {
    c->busy = true;
    r->busy++;
  }
out:
  free(p.ids);
  notice_free(&p.n);
}

static void on_retry(uv_timer_t *t) {
  struct alert_relay *r = t->data;

  alert_kick(r, r->idle_fn != NULL);
}

/* When the next retry of a configured channel is due, in unix ms (0 when
 * none is).  Rows of a channel removed from the config stay in the
 * outbox, shown by status, until the channel comes back. */
static int64_t next_due(struct alert_relay *r) {
  int64_t first = 0, due;
  char err[BW_ERRLEN];

  for (size_t i = 0; i < r->cfg->nalerts; i++) {
    if (store_outbox_next_due(r->store, r->cfg->alerts[i].name, &due, err) !=
        BW_OK)
      log_err("%s", err);
    else if (due > 0 && (first == 0 || due < first))
      first = due;
  }
  return first;
}

/* Wakes the relay for the next retry to the millisecond (the tick looks
 * only once a second) and, when someone waits for the relay to fall idle,
 * tells them once nothing is in flight and no retry falls due before
 * their deadline. */
static void check_idle(struct alert_relay *r) {
  void (*fn)(void *) = r->idle_fn;
  int64_t due, now = wall_ms();

  if (r->busy > 0)
    return; /* on_sent kicks again */
  due = next_due(r);
  if (due > now)
    uv_timer_start(&r->retry, on_retry, (uint64_t)(due - now), 0);
  if (fn == NULL)
    return;
  if (due > now && due < r->idle_deadline * 1000)
    return;
  r->idle_fn = NULL;
  fn(r->idle_arg);
}

void alert_kick(struct alert_relay *r, bool flush) {
  int64_t now = time(NULL);

  if (r->kicking)
    return;
  r->kicking = true;
  /* Only committed rows are sent: a notice never announces an event that
   * a crash could still take back. */
  record_commit(r->rec);
  for (size_t i = 0; i < r->cfg->nalerts; i++) {
    struct chan *c = chan_get(r, r->cfg->alerts[i].name);
    /* Remembered, so that a busy channel, or a notice cut at the limit,
     * still sends all of this once it can. */
    if (flush && c != NULL)
      c->flush_at = now;
    send_channel(r, &r->cfg->alerts[i]);
  }
  r->kicking = false;
  check_idle(r);
}

void alert_hold(struct alert_relay *r) { r->hold = true; }

void alert_on_idle(struct alert_relay *r, int64_t deadline,
                   void (*fn)(void *), void *arg) {
  r->idle_fn = fn;
  r->idle_arg = arg;
  r->idle_deadline = deadline;
  alert_kick(r, true);
}

static void on_tick(uv_timer_t *t) { alert_kick(t->data, false); }

enum bw_err alert_open(uv_loop_t *loop, struct store *st, struct recorder *rec,
                       const struct config *cfg, struct alert_relay **out,
                       char *err) {
  struct alert_relay *r = calloc(1, sizeof(*r));
  enum bw_err rc;

  if (r == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  *r = (struct alert_relay){.loop = loop, .store = st, .rec = rec,
                            .cfg = cfg};
  rc = curlio_open(loop, &r->io, err);
  if (rc != BW_OK) {
    free(r);
    return rc;
  }
  srand((unsigned)time(NULL) ^ (unsigned)(uintptr_t)r);
  /* The name may take a blocking DNS lookup: done now, before the loop
   * runs, and cached for every notice. */
  notice_hostname();
  uv_timer_init(loop, &r->tick);
  uv_timer_init(loop, &r->retry);
  r->tick.data = r;
  r->retry.data = r;
  uv_timer_start(&r->tick, on_tick, TICK_MS, TICK_MS);
  *out = r;
  return BW_OK;
}

/* Both timers live inside the relay: it is freed after the second one is
 * closed (libuv runs close callbacks in its own order). */
static void on_timer_closed(uv_handle_t *h) {
  struct alert_relay *r = h->data;

  if (--r->open_timers > 0)
    return;
  free(r->chans);
  free(r);
}

void alert_close(struct alert_relay *r) {
  if (r == NULL)
    return;
  r->idle_fn = NULL;
  curlio_close(r->io); /* aborted notices stay pending in the outbox */
  r->open_timers = 2;
  uv_close((uv_handle_t *)&r->retry, on_timer_closed);
  uv_close((uv_handle_t *)&r->tick, on_timer_closed);
}

/* ---- test-alert -------------------------------------------------------- */

static const char test_usage[] =
    "usage: blwatch [-c FILE] test-alert [NAME...]\n"
    "\n"
    "Sends one test notice through each configured [alert] channel (or the\n"
    "ones named) and prints NAME: ok or NAME: failed: REASON for each.\n"
    "Exit 0 when every channel worked, 1 when any failed, 64 when a NAME is\n"
    "not a configured channel (nothing is sent then), 78 on a config\n"
    "error.\n";

static void on_test_sent(void *arg, CURL *easy, CURLcode rc) {
  struct xfer *x = arg;

  x->ok = judge(x, x->cfg, easy, rc);
}

static bool selected(const char *name, int argc, char **argv) {
  if (argc == 0)
    return true;
  for (int i = 0; i < argc; i++)
    if (strcmp(argv[i], name) == 0)
      return true;
  return false;
}

/* A test notice's id: the wall-clock time in microseconds, so that two
 * test-alert runs do not share one (receivers drop duplicates by id).
 * Outbox notices take the id of their first outbox row, counted from 1:
 * they never come near (about 1.7e15 now; below 2^53, so that JSON
 * readers with doubles read it exactly, until the year 2255). */
static int64_t test_notice_id(void) {
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Starts the test notice n on channel a; failures are left in x->result. */
static void start_test(struct curlio *io, const struct alert_cfg *a,
                       const struct notice *n, struct xfer *x) {
  char err[BW_ERRLEN];
  CURL *easy;

  x->cfg = a;
  snprintf(x->channel, sizeof(x->channel), "%s", a->name);
  snprintf(x->result, sizeof(x->result), "out of memory");
  if ((easy = build(a, n, x)) != NULL &&
      curlio_add(io, easy, on_test_sent, x, err) != BW_OK)
    snprintf(x->result, sizeof(x->result), "%.*s", RESULT_LEN - 1, err);
}

/* Sends the test notice to every selected channel at once. */
static int send_tests(const struct config *cfg, int argc, char **argv,
                      struct xfer **xs) {
  char detail[512];
  struct store_event ev = {.at = time(NULL), .type = "test",
                           .detail = detail};
  struct notice n = {.id = test_notice_id(), .host = notice_hostname(),
                     .sent = time(NULL), .cat = &cfg->cat};
  struct curlio *io = NULL;
  uv_loop_t loop;
  char err[BW_ERRLEN] = "out of memory";

  snprintf(detail, sizeof(detail), "This is a test notice from blwatch on "
           "%s: this channel works.", n.host);
  uv_loop_init(&loop);
  if (!notice_add(&n, &ev) || curlio_open(&loop, &io, err) != BW_OK) {
    fprintf(stderr, "blwatch: cannot start: %s\n", err);
    notice_free(&n);
    uv_loop_close(&loop);
    return 1;
  }
  for (size_t i = 0; i < cfg->nalerts; i++)
    if (selected(cfg->alerts[i].name, argc, argv) &&
        (xs[i] = calloc(1, sizeof(*xs[i]))) != NULL)
      start_test(io, &cfg->alerts[i], &n, xs[i]);
  uv_run(&loop, UV_RUN_DEFAULT);
  curlio_close(io);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  notice_free(&n);
  return 0;
}

/* Every NAME must be a configured channel: a typo must not pass for a
 * channel that works.  Prints the first one that is not; false then. */
static bool names_known(const struct config *cfg, int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    if (cfg_alert(cfg, argv[i]) != NULL)
      continue;
    fprintf(stderr, "blwatch: test-alert: no [alert] channel named '%s' "
            "(configured: ", argv[i]);
    for (size_t k = 0; k < cfg->nalerts; k++)
      fprintf(stderr, "%s%s", k ? ", " : "", cfg->alerts[k].name);
    fputs(cfg->nalerts == 0 ? "none)\n" : ")\n", stderr);
    return false;
  }
  return true;
}

/* One line per channel tried; true when all of them worked. */
static bool report_tests(const struct config *cfg, struct xfer **xs) {
  bool ok = true;

  for (size_t i = 0; i < cfg->nalerts; i++) {
    if (xs[i] == NULL)
      continue;
    if (xs[i]->ok)
      printf("%s: ok\n", xs[i]->channel);
    else
      printf("%s: failed: %s\n", xs[i]->channel, xs[i]->result);
    ok &= xs[i]->ok;
    xfer_free(xs[i]);
  }
  return ok;
}

int alert_test_command(const struct cli *cli, int argc, char **argv) {
  static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  struct config cfg;
  struct xfer **xs;
  int c, rc;

  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (c == 'h') {
      fputs(test_usage, stdout);
      return 0;
    }
    fputs(test_usage, stderr);
    return EX_USAGE;
  }
  if ((rc = cli_load_config_secrets(cli, &cfg)) != 0)
    return rc;
  if (!names_known(&cfg, argc - optind, argv + optind)) {
    cfg_free(&cfg);
    return EX_USAGE;
  }
  if (cfg.nalerts == 0) {
    fprintf(stderr, "blwatch: test-alert: no [alert] channel is "
            "configured\n");
    cfg_free(&cfg);
    return 1;
  }
  xs = calloc(cfg.nalerts, sizeof(*xs));
  rc = xs == NULL || send_tests(&cfg, argc - optind, argv + optind, xs) != 0;
  if (xs != NULL && !report_tests(&cfg, xs))
    rc = 1;
  free(xs);
  cfg_free(&cfg);
  return rc;
}
