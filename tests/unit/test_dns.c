/* The DNS engine's timer against a DNS responder on the same loop
 * (127.0.0.1, a free port): queries expire on time with no other traffic
 * to wake c-ares, ares_timeout() is not called per answer, and requests
 * queued behind a window of timeouts still go out. */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "testutil.h"

#include <ares.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "dns.h"

/* ---- counting ares_timeout() ------------------------------------------ */

/* The program's own ares_timeout() comes before libcares' in symbol
 * lookup, so every call the engine makes passes through here. */
static unsigned long timeout_calls;

struct timeval *ares_timeout(ares_channel channel, struct timeval *maxtv,
                             struct timeval *tvbuf) {
  static struct timeval *(*real)(ares_channel, struct timeval *,
                                 struct timeval *);
  void *sym;

  if (real == NULL) {
    sym = dlsym(RTLD_NEXT, "ares_timeout");
    if (sym == NULL)
      abort(); /* c-ares linked statically: the counting cannot work */
    memcpy(&real, &sym, sizeof(real));
  }
  timeout_calls++;
  return real(channel, maxtv, tvbuf);
}

/* ---- the responder ----------------------------------------------------- */

enum mode {
  ANSWER,     /* NXDOMAIN to every query */
  DROP,       /* never answers */
  DROP_FIRST, /* drops the first query for each name, answers the rest */
};

#define MAX_NAMES 4096

struct responder {
  uv_udp_t udp;
  enum mode mode;
  int port;
  unsigned long received;
  char seen[MAX_NAMES]; /* names q<N>.test asked before */
};

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  static char mem[65536];

  (void)h;
  (void)size;
  *buf = uv_buf_init(mem, sizeof(mem));
}

/* The N of a question for q<N>.test, or -1. */
static long name_index(const unsigned char *p, ssize_t len) {
  char *end;
  long n;

  if (len < 12 + 3 || p[12] < 2 || p[13] != 'q')
    return -1;
  n = strtol((const char *)p + 14, &end, 10);
  return end == (const char *)p + 13 + p[12] && n >= 0 && n < MAX_NAMES ? n
                                                                        : -1;
}

static void on_query(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf,
                     const struct sockaddr *from, unsigned flags) {
  struct responder *r = u->data;
  unsigned char *p = (unsigned char *)buf->base;
  long n;

  (void)flags;
  if (nread < 12 || from == NULL)
    return;
  r->received++;
  n = name_index(p, nread);
  if (r->mode == DROP || (r->mode == DROP_FIRST && (n < 0 || !r->seen[n]++)))
    return;
  p[2] = 0x80 | (p[2] & 0x01); /* QR, RD copied */
  p[3] = 0x80 | 3;             /* RA, NXDOMAIN */
  uv_buf_t out = uv_buf_init(buf->base, (unsigned)nread);
  uv_udp_try_send(u, &out, 1, from);
}

static void responder_start(uv_loop_t *loop, struct responder *r,
                            enum mode mode) {
  struct sockaddr_in sa;
  struct sockaddr_storage bound;
  int len = sizeof(bound);

  memset(r, 0, sizeof(*r));
  r->mode = mode;
  assert_int_equal(uv_udp_init(loop, &r->udp), 0);
  r->udp.data = r;
  uv_ip4_addr("127.0.0.1", 0, &sa);
  assert_int_equal(uv_udp_bind(&r->udp, (const struct sockaddr *)&sa, 0), 0);
  assert_int_equal(uv_udp_getsockname(&r->udp, (struct sockaddr *)&bound, &len),
                   0);
  r->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
  assert_int_equal(uv_udp_recv_start(&r->udp, on_alloc, on_query), 0);
}

/* ---- requests ---------------------------------------------------------- */

struct run {
  uv_loop_t loop;
  struct responder resp;
  struct dns_engine *engine;
  uv_timer_t watchdog;
  struct dns_request *reqs;
  uint64_t *submitted_ns, *done_ns;
  unsigned n, fed, done;
  bool timed_out;
};

static void on_done(struct dns_request *req) {
  struct run *r = req->arg;

  r->done_ns[req - r->reqs] = uv_hrtime();
  if (++r->done == r->n)
    uv_stop(&r->loop);
}

static void on_watchdog(uv_timer_t *t) {
  struct run *r = t->data;

  r->timed_out = true;
  uv_stop(&r->loop);
}

static void request_init(struct run *r, unsigned i) {
  struct dns_request *q = &r->reqs[i];

  snprintf(q->name, sizeof(q->name), "q%u.test", i);
  q->type = DNS_A;
  q->done = on_done;
  q->arg = r;
  r->submitted_ns[i] = uv_hrtime();
}

static struct dns_request *pull(void *arg) {
  struct run *r = arg;

  if (r->fed == r->n)
    return NULL;
  request_init(r, r->fed);
  return &r->reqs[r->fed++];
}

static void run_open(struct run *r, enum mode mode, unsigned n,
                     unsigned timeout_ms, unsigned tries, unsigned window) {
  char servers[64], err[BW_ERRLEN];

  memset(r, 0, sizeof(*r));
  assert_int_equal(uv_loop_init(&r->loop), 0);
  responder_start(&r->loop, &r->resp, mode);
  snprintf(servers, sizeof(servers), "127.0.0.1:%d", r->resp.port);
  struct dns_options o = {servers, timeout_ms, tries, window, 0};
  assert_int_equal(dns_open(&r->loop, &o, &r->engine, err), BW_OK);
  r->n = n;
  r->reqs = calloc(n, sizeof(*r->reqs));
  r->submitted_ns = calloc(n, sizeof(uint64_t));
  r->done_ns = calloc(n, sizeof(uint64_t));
  assert_non_null(r->reqs);
  assert_non_null(r->submitted_ns);
  assert_non_null(r->done_ns);
  uv_timer_init(&r->loop, &r->watchdog);
  r->watchdog.data = r;
  uv_timer_start(&r->watchdog, on_watchdog, 10000, 0);
}

/* Closes everything; the loop must end with no handle open. */
static void run_close(struct run *r) {
  dns_close(r->engine);
  uv_close((uv_handle_t *)&r->watchdog, NULL);
  uv_close((uv_handle_t *)&r->resp.udp, NULL);
  uv_run(&r->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&r->loop), 0);
  free(r->reqs);
  free(r->submitted_ns);
  free(r->done_ns);
}

/* ---- tests ------------------------------------------------------------- */

static void submit_second(uv_timer_t *t) {
  struct run *r = t->data;

  request_init(r, 1);
  dns_submit(r->engine, &r->reqs[1]);
  dns_pump(r->engine);
  uv_close((uv_handle_t *)t, NULL);
}

/* Two queries sent 100 ms apart to a server that never answers: the timer
 * fired for the first must be re-armed for the second, since no answer or
 * new query comes to wake c-ares. */
static void queries_expire_without_traffic(void **state) {
  struct run r;
  uv_timer_t later;

  (void)state;
  run_open(&r, DROP, 2, 300, 1, 8);
  request_init(&r, 0);
  dns_submit(r.engine, &r.reqs[0]);
  dns_pump(r.engine);
  uv_timer_init(&r.loop, &later);
  later.data = &r;
  uv_timer_start(&later, submit_second, 100, 0);
  uv_run(&r.loop, UV_RUN_DEFAULT);
  assert_false(r.timed_out);
  for (unsigned i = 0; i < 2; i++) {
    assert_int_equal(r.reqs[i].status, ARES_ETIMEOUT);
    /* Never before the timeout (1 ms of rounding allowed). */
    assert_true(r.done_ns[i] - r.submitted_ns[i] >= 299 * 1000000ULL);
  }
  run_close(&r);
}

/* 3,000 answered queries with a window of 100: ares_timeout() walks every
 * query in flight, so it must run per timeout period or per idle spell,
 * never per answer. */
static void timeout_walks_are_rare(void **state) {
  struct run r;
  unsigned long before;

  (void)state;
  run_open(&r, ANSWER, 3000, 2000, 1, 100);
  before = timeout_calls;
  dns_set_source(r.engine, pull, &r);
  dns_pump(r.engine);
  uv_run(&r.loop, UV_RUN_DEFAULT);
  assert_false(r.timed_out);
  assert_int_equal(r.done, r.n);
  for (unsigned i = 0; i < r.n; i++)
    assert_int_equal(r.reqs[i].status, ARES_ENOTFOUND);
  print_message("ares_timeout() calls for %u answers: %lu\n", r.n,
                timeout_calls - before);
  assert_true((timeout_calls - before) * 10 <= r.n);
  dns_set_source(r.engine, NULL, NULL);
  run_close(&r);
}

/* Every first try is dropped: the window shrinks, the tries come back as
 * retries behind it, and each request still ends with its answer. */
static void queue_proceeds_after_timeouts(void **state) {
  struct run r;

  (void)state;
  run_open(&r, DROP_FIRST, 40, 200, 2, 8);
  for (unsigned i = 0; i < r.n; i++) {
    request_init(&r, i);
    dns_submit(r.engine, &r.reqs[i]);
  }
  dns_pump(r.engine);
  uv_run(&r.loop, UV_RUN_DEFAULT);
  assert_false(r.timed_out);
  assert_int_equal(r.done, r.n);
  for (unsigned i = 0; i < r.n; i++)
    assert_int_equal(r.reqs[i].status, ARES_ENOTFOUND);
  assert_int_equal(r.resp.received, 2 * r.n);
  run_close(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(queries_expire_without_traffic),
      cmocka_unit_test(timeout_walks_are_rare),
      cmocka_unit_test(queue_proceeds_after_timeouts),
  };

  tu_init();
  return cmocka_run_group_tests_name("dns", tests, NULL, tu_cleanup);
}
