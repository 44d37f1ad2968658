/* c-ares 1.18 on libuv.  See reference/c-stack-notes.md B1 for why each
 * flag is set and why completions are deferred. */
#include "dns.h"

#include <arpa/inet.h>
#include <ares.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"

struct dns_sock {
  uv_poll_t poll;
  ares_socket_t fd;
  struct dns_engine *engine;
  struct dns_sock *next;
};

struct dns_queue {
  struct dns_request *head, *tail;
};

struct dns_engine {
  uv_loop_t *loop;
  ares_channel channel;
  bool have_channel;
  uv_timer_t timer;      /* lets c-ares expire queries */
  uv_timer_t rate_timer; /* resumes sending when the rate cap allows */
  uv_idle_t idle;        /* keeps the loop from blocking while done.head */
  uv_check_t check;      /* delivers completions after each poll phase */
  struct dns_sock *socks;
  struct dns_queue queue; /* submitted or to retry, not yet sent */
  struct dns_queue done;  /* answered, not yet delivered */
  dns_next_fn next;
  void *next_arg;
  unsigned inflight; /* inside c-ares */
  unsigned pending;  /* taken in and not yet delivered */
  unsigned tries;
  unsigned timeout_ms;
  unsigned rate;
  double window;
  unsigned max_window;
  double tokens;
  uint64_t token_ms;
  uint64_t last_cut_ms;
  struct dns_stats stats;
  int open_handles;
  bool closing;
  bool delivering;
  bool close_requested;
};

/* Smallest window the adaptation goes down to. */
#define DNS_MIN_WINDOW 4

static void queue_push(struct dns_queue *q, struct dns_request *r) {
  r->next = NULL;
  if (q->tail != NULL)
    q->tail->next = r;
  else
    q->head = r;
  q->tail = r;
}

static struct dns_request *queue_pop(struct dns_queue *q) {
  struct dns_request *r = q->head;

  if (r != NULL) {
    q->head = r->next;
    if (q->head == NULL)
      q->tail = NULL;
  }
  return r;
}

const char *dns_status_name(int status) {
  switch (status) {
  case ARES_SUCCESS:
    return "ok";
  case ARES_ENOTFOUND:
    return "NXDOMAIN";
  case ARES_ENODATA:
    return "no data";
  case ARES_ETIMEOUT:
    return "timeout";
  case ARES_ESERVFAIL:
    return "SERVFAIL";
  case ARES_EREFUSED:
    return "REFUSED";
  case ARES_EFORMERR:
    return "FORMERR";
  case ARES_ENOTIMP:
    return "NOTIMP";
  case ARES_ECONNREFUSED:
    return "connection refused";
  case ARES_EBADRESP:
    return "malformed answer";
  case ARES_ECANCELLED:
  case ARES_EDESTRUCTION:
    return "cancelled";
  default:
    return ares_strerror(status);
  }
}

/* ---- answers ---------------------------------------------------------- */

/* Skips a possibly compressed name; returns the offset after it, or -1. */
static int skip_name(const unsigned char *buf, int len, int off) {
  while (off < len) {
    unsigned char c = buf[off];
    if (c == 0)
      return off + 1;
    if ((c & 0xc0) == 0xc0)
      return off + 2 <= len ? off + 2 : -1;
    off += c + 1;
  }
  return -1;
}

/* True when the answer section holds an A record whose data is not four
 * bytes.  c-ares 1.18 skips such records and reports "no data", which
 * would read as "not listed": a broken answer must stay unknown. */
static bool has_malformed_a(const unsigned char *buf, int len) {
  int off, qd, an;

  if (len < 12)
    return true;
  qd = buf[4] << 8 | buf[5];
  an = buf[6] << 8 | buf[7];
  off = 12;
  for (int i = 0; i < qd && off >= 0; i++)
    off = (off = skip_name(buf, len, off)) < 0 ? -1 : off + 4;
  for (int i = 0; i < an && off >= 0; i++) {
    if ((off = skip_name(buf, len, off)) < 0 || off + 10 > len)
      return true;
    int type = buf[off] << 8 | buf[off + 1];
    int rdlen = buf[off + 8] << 8 | buf[off + 9];
    if (type == 1 && rdlen != 4)
      return true;
    off += 10 + rdlen;
  }
  return off < 0 || off > len;
}

static void parse_a(struct dns_request *req, const unsigned char *abuf,
                    int alen) {
  struct ares_addrttl ttls[DNS_MAX_ADDRS];
  int n = DNS_MAX_ADDRS;
  int rc = ares_parse_a_reply(abuf, alen, NULL, ttls, &n);

  if (rc == ARES_ENODATA && has_malformed_a(abuf, alen))
    rc = ARES_EBADRESP;
  if (rc != ARES_SUCCESS) {
    req->status = rc;
    return;
  }
  req->naddr = (uint8_t)n;
  for (int i = 0; i < n; i++)
    req->u.a[i] = ntohl(ttls[i].ipaddr.s_addr);
}

static void parse_aaaa(struct dns_request *req, const unsigned char *abuf,
                       int alen) {
  struct ares_addr6ttl ttls[DNS_MAX_ADDRS6];
  int n = DNS_MAX_ADDRS6;
  int rc = ares_parse_aaaa_reply(abuf, alen, NULL, ttls, &n);

  if (rc != ARES_SUCCESS) {
    req->status = rc;
    return;
  }
  req->naddr = (uint8_t)n;
  for (int i = 0; i < n; i++)
    memcpy(req->u.aaaa[i], &ttls[i].ip6addr, 16);
}

/* Appends len bytes of a TXT chunk.  Control characters and non-ASCII
 * bytes become '?': a hostile reason must not forge log lines, send
 * terminal escapes or make the JSON output invalid UTF-8. */
static size_t txt_append(char *buf, size_t used, const unsigned char *s,
                         size_t len) {
  for (size_t i = 0; i < len && used + 1 < DNS_MAX_TXT; i++)
    buf[used++] = s[i] < 0x20 || s[i] >= 0x7f ? '?' : (char)s[i];
  buf[used] = '\0';
  return used;
}

/* Joins the character-strings of each TXT record, and the records with
 * "; ".  c-ares 1.18 returns one node per character-string. */
static void parse_txt(struct dns_request *req, const unsigned char *abuf,
                      int alen) {
  struct ares_txt_ext *list = NULL;
  size_t used = 0;
  int rc = ares_parse_txt_reply_ext(abuf, alen, &list);

  if (rc != ARES_SUCCESS) {
    req->status = rc;
    return;
  }
  req->txt = malloc(DNS_MAX_TXT);
  if (req->txt == NULL) {
    req->status = ARES_ENOMEM;
  } else {
    req->txt[0] = '\0';
    for (struct ares_txt_ext *t = list; t != NULL; t = t->next) {
      if (t->record_start && used > 0)
        used = txt_append(req->txt, used, (const unsigned char *)"; ", 2);
      used = txt_append(req->txt, used, t->txt, t->length);
    }
  }
  ares_free_data(list);
}

/* ---- whole records (PTR, MX, TXT for identity checks) ------------------ */

struct recbuf {
  char *buf;
  size_t used;
  bool full;
};

/* Appends one byte, sanitized as txt_append does; newlines separate
 * records, so none may come from the data. */
static void rec_putc(struct recbuf *b, unsigned char c) {
  if (b->used + 2 > DNS_MAX_RECORDS_TXT) {
    b->full = true;
    return;
  }
  b->buf[b->used++] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
  b->buf[b->used] = '\0';
}

static void rec_puts(struct recbuf *b, const char *s) {
  while (*s != '\0')
    rec_putc(b, (unsigned char)*s++);
}

/* The data of one answer record of the wanted type, as text. */
static int rec_one(struct recbuf *b, int type, const unsigned char *abuf,
                   int alen, int off, int rdlen) {
  char *name = NULL, pref[8];
  long enclen;

  if (b->used > 0 && b->used + 2 <= DNS_MAX_RECORDS_TXT) {
    b->buf[b->used++] = '\n';
    b->buf[b->used] = '\0';
  }
  if (type == DNS_TXT) {
    for (int p = off; p < off + rdlen;) {
      int n = abuf[p++];
      if (p + n > off + rdlen)
        return ARES_EBADRESP;
      for (int i = 0; i < n; i++)
        rec_putc(b, abuf[p + i]);
      p += n;
    }
    return ARES_SUCCESS;
  }
  if (type == DNS_MX) {
    if (rdlen < 3)
      return ARES_EBADRESP;
    snprintf(pref, sizeof(pref), "%u ", abuf[off] << 8 | abuf[off + 1]);
    rec_puts(b, pref);
    off += 2;
  }
  if (ares_expand_name(abuf + off, abuf, alen, &name, &enclen) !=
      ARES_SUCCESS)
    return ARES_EBADRESP;
  rec_puts(b, name[0] != '\0' ? name : ".");
  ares_free_string(name);
  return ARES_SUCCESS;
}

/* Every answer record of the request's type, one per line in txt.  CNAMEs
 * on the way (RFC 2317 reverse delegation) are skipped: the records
 * they lead to are in the same answer. */
static void parse_records(struct dns_request *req, const unsigned char *abuf,
                          int alen) {
  struct recbuf b = {malloc(DNS_MAX_RECORDS_TXT), 0, false};
  int off = 12, qd, an, found = 0, rc = ARES_SUCCESS;

  if (b.buf == NULL || alen < 12) {
    req->status = b.buf == NULL ? ARES_ENOMEM : ARES_EBADRESP;
    free(b.buf);
    return;
  }
  b.buf[0] = '\0';
  qd = abuf[4] << 8 | abuf[5];
  an = abuf[6] << 8 | abuf[7];
  for (int i = 0; i < qd && off >= 0; i++)
    off = (off = skip_name(abuf, alen, off)) < 0 ? -1 : off + 4;
  for (int i = 0; i < an && rc == ARES_SUCCESS; i++) {
    if (off < 0 || (off = skip_name(abuf, alen, off)) < 0 || off + 10 > alen) {
      rc = ARES_EBADRESP;
      break;
    }
    int type = abuf[off] << 8 | abuf[off + 1];
    int rdlen = abuf[off + 8] << 8 | abuf[off + 9];
    off += 10;
    if (off + rdlen > alen) {
      rc = ARES_EBADRESP;
      break;
    }
    if (type == (int)req->type) {
      rc = rec_one(&b, type, abuf, alen, off, rdlen);
      found++;
    }
    off += rdlen;
  }
  if (rc == ARES_SUCCESS && b.full)
    rc = ARES_EBADRESP; /* cut records would be read as other records */
  if (rc == ARES_SUCCESS && found == 0)
    rc = ARES_ENODATA;
  if (rc != ARES_SUCCESS) {
    req->status = rc;
    free(b.buf);
    return;
  }
  req->txt = b.buf;
}

static uint64_t now_ms(const struct dns_engine *e) { return uv_now(e->loop); }

/* Multiplicative decrease, at most once per timeout period, because one
 * congestion event times out a whole window of queries at once. */
static void window_cut(struct dns_engine *e) {
  if (now_ms(e) - e->last_cut_ms < e->timeout_ms && e->last_cut_ms != 0)
    return;
  e->last_cut_ms = now_ms(e);
  e->window = e->window / 2 < DNS_MIN_WINDOW ? DNS_MIN_WINDOW : e->window / 2;
  if ((unsigned)e->window < e->stats.window_low)
    e->stats.window_low = (unsigned)e->window;
}

static void window_grow(struct dns_engine *e) {
  if (e->window < e->max_window)
    e->window += 1.0 / e->window;
  if (e->window > e->max_window)
    e->window = e->max_window;
}

/* The idle handle only exists to make the loop poll without blocking. */
static void on_idle(uv_idle_t *h) { (void)h; }

static void on_answer(void *arg, int status, int timeouts,
                      unsigned char *abuf, int alen) {
  struct dns_request *req = arg;
  struct dns_engine *e = req->engine;

  (void)timeouts;
  /* With nothing left in flight the timer has nothing to expire; stopping
   * it here (not a c-ares call) spares one wakeup per idle spell. */
  if (--e->inflight == 0)
    uv_timer_stop(&e->timer);
  req->took_ns = uv_hrtime() - req->sent_ns;
  req->status = status;
  req->naddr = 0;
  if (status == ARES_SUCCESS) {
    if (req->type == DNS_A)
      parse_a(req, abuf, alen);
    else if (req->type == DNS_AAAA)
      parse_aaaa(req, abuf, alen);
    else if (req->type == DNS_TXT && !req->records)
      parse_txt(req, abuf, alen);
    else
      parse_records(req, abuf, alen);
  }
  if (status == ARES_ETIMEOUT) {
    e->stats.timeouts++;
    window_cut(e);
  } else if (status == ARES_SUCCESS || status == ARES_ENOTFOUND ||
             status == ARES_ENODATA) {
    window_grow(e);
  }
  /* Handing the request back happens on the next loop turn: c-ares is
   * still on the stack here. */
  queue_push(&e->done, req);
  uv_idle_start(&e->idle, on_idle);
}

/* ---- sockets and timers ----------------------------------------------- */

static void maybe_free(struct dns_engine *e) {
  if (e->open_handles == 0 && e->closing)
    free(e);
}

static void on_handle_closed(uv_handle_t *h) {
  struct dns_engine *e = h->data;

  e->open_handles--;
  maybe_free(e);
}

static void on_sock_closed(uv_handle_t *h) {
  struct dns_sock *s = h->data;
  struct dns_engine *e = s->engine;

  free(s);
  e->open_handles--;
  maybe_free(e);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  struct dns_sock *s = h->data;
  struct dns_engine *e = s->engine;
  ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

  if (status < 0 || (events & UV_READABLE))
    rfd = s->fd;
  if (status < 0 || (events & UV_WRITABLE))
    wfd = s->fd;
  ares_process_fd(e->channel, rfd, wfd);
}

/* c-ares tells us which sockets to watch.  It reports (0, 0) before it
 * closes a socket, so the poll handle is closed while the fd still
 * exists, as libuv requires. */
static void on_sock_state(void *data, ares_socket_t fd, int readable,
                          int writable) {
  struct dns_engine *e = data;
  struct dns_sock **pp = &e->socks, *s;

  while (*pp != NULL && (*pp)->fd != fd)
    pp = &(*pp)->next;
  s = *pp;
  if (!readable && !writable) {
    if (s != NULL) {
      *pp = s->next;
      uv_close((uv_handle_t *)&s->poll, on_sock_closed);
    }
    return;
  }
  if (s == NULL) {
    s = calloc(1, sizeof(*s));
    if (s == NULL || uv_poll_init_socket(e->loop, &s->poll, fd) != 0) {
      free(s); /* c-ares will time the queries out */
      return;
    }
    s->fd = fd;
    s->engine = e;
    s->poll.data = s;
    s->next = e->socks;
    e->socks = s;
    e->open_handles++;
  }
  uv_poll_start(&s->poll,
                (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0),
                on_poll);
}

/* The timer lets c-ares expire queries: a one-shot timer armed from
 * ares_timeout(), which walks every query in flight in 1.18, so it must
 * not run per answer.  It need not: every query gets the same timeout
 * (the channel has one try, so c-ares never doubles it), and a query sent
 * later expires later, so the earliest expiry only ever moves later as
 * queries complete.  A timer armed for the earliest expiry is therefore
 * never late, whatever is sent or answered after it was armed; when it
 * fires with nothing expired it just re-arms.  That costs one walk per
 * timeout period, not one per answer.  ares_timeout() covers every timer
 * c-ares keeps (retries over TCP after a truncated answer, the next
 * server after a timeout, queries re-sent when a connection breaks): they
 * are all query timeouts.  libuv's loop time may lag the clock, so the
 * timer can fire a little early: that is one more re-arm. */
static void on_timer(uv_timer_t *t);

static void arm_timer(struct dns_engine *e) {
  struct timeval tv, *next = ares_timeout(e->channel, NULL, &tv);
  uint64_t ms;

  if (next == NULL) { /* nothing in flight */
    uv_timer_stop(&e->timer);
    return;
  }
  /* Rounded up, so the timer does not fire just before the expiry, and at
   * least 1 ms, so an expired query never makes the timer spin. */
  ms = (uint64_t)next->tv_sec * 1000 + ((uint64_t)next->tv_usec + 999) / 1000;
  uv_timer_start(&e->timer, on_timer, ms > 0 ? ms : 1, 0);
}

static void on_timer(uv_timer_t *t) {
  struct dns_engine *e = t->data;

  ares_process_fd(e->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  arm_timer(e);
}

/* ---- sending and delivering ------------------------------------------- */

static void send_request(struct dns_engine *e, struct dns_request *req) {
  req->engine = e;
  req->sent_ns = uv_hrtime();
  e->inflight++;
  e->stats.sent++;
  ares_query(e->channel, req->name, 1 /* C_IN */, (int)req->type, on_answer,
             req);
  /* After the query exists (ares_query may also have failed it at once):
   * an active timer is due no later than this query's expiry. */
  if (!uv_is_active((uv_handle_t *)&e->timer))
    arm_timer(e);
}

static void on_rate_timer(uv_timer_t *t) { dns_pump(t->data); }

/* Token bucket holding at most a tenth of a second of queries. */
static bool take_token(struct dns_engine *e) {
  double cap = e->rate / 10.0 < 1 ? 1 : e->rate / 10.0;
  uint64_t now = now_ms(e);

  if (e->rate == 0)
    return true;
  e->tokens += (double)(now - e->token_ms) * e->rate / 1000.0;
  e->token_ms = now;
  if (e->tokens > cap)
    e->tokens = cap;
  if (e->tokens >= 1) {
    e->tokens -= 1;
    return true;
  }
  if (!uv_is_active((uv_handle_t *)&e->rate_timer))
    uv_timer_start(&e->rate_timer, on_rate_timer,
                   (uint64_t)(1000.0 / e->rate) + 1, 0);
  return false;
}

void dns_pump(struct dns_engine *e) {
  while (!e->closing && e->inflight < (unsigned)e->window) {
    struct dns_request *req = e->queue.head;
    if (req == NULL && e->next != NULL) {
      req = e->next(e->next_arg);
      if (req == NULL)
        break;
      req->tries_left = (uint8_t)(e->tries - 1);
      req->txt = NULL;
      e->pending++;
      queue_push(&e->queue, req);
    }
    if (req == NULL || !take_token(e))
      break;
    send_request(e, queue_pop(&e->queue));
  }
}

void dns_submit(struct dns_engine *e, struct dns_request *req) {
  req->tries_left = (uint8_t)(e->tries - 1);
  req->txt = NULL;
  e->pending++;
  queue_push(&e->queue, req);
}

static bool retryable(int status) {
  return status == ARES_ETIMEOUT || status == ARES_ESERVFAIL ||
         status == ARES_ECONNREFUSED;
}

static void deliver(struct dns_engine *e, struct dns_request *req) {
  if (retryable(req->status) && req->tries_left > 0 && !e->closing) {
    req->tries_left--;
    e->stats.retries++;
    queue_push(&e->queue, req);
    return;
  }
  e->pending--;
  req->done(req);
}

static void deliver_all(struct dns_engine *e) {
  struct dns_request *req;

  e->delivering = true;
  while ((req = queue_pop(&e->done)) != NULL)
    deliver(e, req);
  e->delivering = false;
}

static void on_check(uv_check_t *c) {
  struct dns_engine *e = c->data;

  deliver_all(e);
  if (e->close_requested) {
    dns_close(e);
    return;
  }
  dns_pump(e);
  if (e->done.head == NULL)
    uv_idle_stop(&e->idle);
}

unsigned dns_pending(const struct dns_engine *e) { return e->pending; }

void dns_get_stats(const struct dns_engine *e, struct dns_stats *out) {
  *out = e->stats;
  out->window = (unsigned)e->window;
}

/* ---- open and close --------------------------------------------------- */

static enum bw_err init_channel(struct dns_engine *e,
                                const struct dns_options *opt, char *err) {
  struct ares_options ao;
  int mask, rc;

  memset(&ao, 0, sizeof(ao));
  /* NOCHECKRESP: SERVFAIL and REFUSED come back as themselves instead of
   * "connection refused" after trying the next server.  STAYOPEN: without
   * it 1.18 closes and reopens the UDP socket whenever the window drains
   * for a moment; each engine lives for one run or one cycle, so the
   * source port still changes between cycles.  NOSEARCH: never append
   * search domains to a DNSBL name. */
  ao.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_STAYOPEN | ARES_FLAG_NOSEARCH;
  ao.timeout = (int)opt->timeout_ms;
  ao.tries = 1; /* the engine retries, paced by its window */
  ao.sock_state_cb = on_sock_state;
  ao.sock_state_cb_data = e;
  ao.socket_receive_buffer_size = 1 << 20;
  mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
         ARES_OPT_SOCK_STATE_CB | ARES_OPT_SOCK_RCVBUF;
  rc = ares_init_options(&e->channel, &ao, mask);
  if (rc != ARES_SUCCESS)
    return bw_fail(err, BW_EDNS, "cannot start the resolver: %s",
                   ares_strerror(rc));
  e->have_channel = true;
  if (opt->servers != NULL && *opt->servers != '\0') {
    rc = ares_set_servers_ports_csv(e->channel, opt->servers);
    if (rc != ARES_SUCCESS)
      return bw_fail(err, BW_EDNS, "bad resolver list '%s': %s",
                     opt->servers, ares_strerror(rc));
  }
  return BW_OK;
}

static void init_handle(struct dns_engine *e, uv_handle_t *h) {
  h->data = e;
  e->open_handles++;
}

void dns_set_source(struct dns_engine *e, dns_next_fn next, void *arg) {
  e->next = next;
  e->next_arg = arg;
}

enum bw_err dns_open(uv_loop_t *loop, const struct dns_options *opt,
                     struct dns_engine **out, char *err) {
  static bool lib_ready;
  struct dns_engine *e;
  enum bw_err rc;

  if (!lib_ready && ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
    return bw_fail(err, BW_EDNS, "cannot initialise c-ares");
  lib_ready = true;
  e = calloc(1, sizeof(*e));
  if (e == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  e->loop = loop;
  e->tries = opt->tries > 0 ? opt->tries : 1;
  e->timeout_ms = opt->timeout_ms;
  e->rate = opt->rate;
  e->max_window = opt->window > 0 ? opt->window : 1;
  e->window = e->max_window;
  e->stats.window_low = e->max_window;
  e->token_ms = uv_now(loop);
  rc = init_channel(e, opt, err);
  if (rc != BW_OK) {
    if (e->have_channel)
      ares_destroy(e->channel);
    free(e);
    return rc;
  }
  uv_timer_init(loop, &e->timer);
  uv_timer_init(loop, &e->rate_timer);
  uv_idle_init(loop, &e->idle);
  uv_check_init(loop, &e->check);
  init_handle(e, (uv_handle_t *)&e->timer);
  init_handle(e, (uv_handle_t *)&e->rate_timer);
  init_handle(e, (uv_handle_t *)&e->idle);
  init_handle(e, (uv_handle_t *)&e->check);
  uv_check_start(&e->check, on_check);
  /* The check handle must not keep the loop alive on its own. */
  uv_unref((uv_handle_t *)&e->check);
  *out = e;
  return BW_OK;
}

void dns_close(struct dns_engine *e) {
  struct dns_request *req;

  if (e->delivering) {
    e->close_requested = true;
    return;
  }
  e->closing = true;
  ares_cancel(e->channel); /* queries complete with ARES_ECANCELLED */
  while ((req = queue_pop(&e->queue)) != NULL) {
    req->status = ARES_ECANCELLED;
    queue_push(&e->done, req);
  }
  deliver_all(e);
  ares_destroy(e->channel); /* closes the poll handles via on_sock_state */
  uv_close((uv_handle_t *)&e->timer, on_handle_closed);
  uv_close((uv_handle_t *)&e->rate_timer, on_handle_closed);
  uv_close((uv_handle_t *)&e->idle, on_handle_closed);
  uv_close((uv_handle_t *)&e->check, on_handle_closed);
}

/* ---- configuration ---------------------------------------------------- */

struct servers_out {
  char buf[1024];
  size_t used;
};

/* Accepts "1.2.3.4", "1.2.3.4:53", "::1", "[::1]:53". */
static enum bw_err add_server(void *arg, char *item, char *err) {
  struct servers_out *o = arg;
  unsigned char tmp[16];
  char host[64];
  const char *port = NULL;
  uint64_t pnum = 53;
  char *colon = strrchr(item, ':');
  bool v6;

  if (item[0] == '[') {
    char *close = strchr(item, ']');
    if (close == NULL || (close[1] != '\0' && close[1] != ':'))
      return bw_fail(err, BW_EINVAL, "bad server '%.60s'", item);
    *close = '\0';
    port = close[1] == ':' ? close + 2 : NULL;
    item++;
  } else if (colon != NULL && strchr(item, ':') == colon) {
    *colon = '\0';
    port = colon + 1;
  }
  if (strlen(item) >= sizeof(host))
    return bw_fail(err, BW_EINVAL, "bad server address '%.60s'", item);
  memcpy(host, item, strlen(item) + 1);
  v6 = inet_pton(AF_INET6, host, tmp) == 1;
  if (!v6 && inet_pton(AF_INET, host, tmp) != 1)
    return bw_fail(err, BW_EINVAL,
                   "server '%.60s' is not an IP address (names are not "
                   "resolved here)", host);
  if (port != NULL && (ini_uint(port, 65535, &pnum, err) != BW_OK || !pnum))
    return bw_fail(err, BW_EINVAL, "bad port '%.20s'", port);
  int w = snprintf(o->buf + o->used, sizeof(o->buf) - o->used,
                   v6 ? "%s[%s]:%u" : "%s%s:%u", o->used ? "," : "", host,
                   (unsigned)pnum);
  if (w < 0 || (size_t)w >= sizeof(o->buf) - o->used)
    return bw_fail(err, BW_ERANGE, "too many servers");
  o->used += (size_t)w;
  return BW_OK;
}

enum bw_err dns_servers_normalize(const char *in, char **out, char *err) {
  struct servers_out o = {.used = 0};
  char *copy = strdup(in);
  enum bw_err rc;

  if (copy == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  o.buf[0] = '\0';
  rc = ini_split(copy, add_server, &o, err);
  free(copy);
  if (rc != BW_OK)
    return rc;
  *out = strdup(o.buf);
  if (*out == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  return BW_OK;
}
