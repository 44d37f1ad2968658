/* The HTTP endpoint's text: Prometheus exposition (label escaping, the
 * in-memory counters and histogram, the database's gauges), the listen
 * address and token checks, and HTML escaping of the status page. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "cli.h"
#include "config.h"
#include "http.h"
#include "metrics.h"
#include "page.h"
#include "store.h"

#define TEST_CATALOG UNIT_DATA_DIR "/catalog.conf"

/* main.c's, which the CLI side of statuscmd.c calls; the endpoint's side
 * tested here never does. */
int cli_load_config(const struct cli *cli, bool required, struct config *cfg) {
  (void)cli;
  (void)required;
  (void)cfg;
  fail_msg("cli_load_config called");
  return 78;
}

/* A memstream the tests read back as one string. */
struct buf {
  FILE *f;
  char *text;
  size_t len;
};

static void buf_open(struct buf *b) {
  b->text = NULL;
  b->f = open_memstream(&b->text, &b->len);
  assert_non_null(b->f);
}

static const char *buf_close(struct buf *b) {
  assert_int_equal(fclose(b->f), 0);
  return b->text;
}

static void load_config(struct config *cfg, const char *use,
                        const char *db) {
  char err[BW_ERRLEN];
  const char *path = tu_writef("[poller]\ndatabase = %s\n"
                               "[zones]\ncatalog = %s\nuse = %s\n",
                               db ? db : "/nonexistent/blwatch.db",
                               TEST_CATALOG, use);

  if (cfg_load(cfg, path, err) != BW_OK)
    fail_msg("%s", err);
}

/* ---- escaping ----------------------------------------------------------- */

static void label_values_are_escaped(void **state) {
  struct buf b;

  (void)state;
  buf_open(&b);
  metrics_label(b.f, "a\\b\"c\nd");
  metrics_label(b.f, NULL);
  metrics_label(b.f, "");
  assert_string_equal(buf_close(&b), "a\\\\b\\\"c\\nd");
  free(b.text);
}

static void html_is_escaped(void **state) {
  struct buf b;

  (void)state;
  buf_open(&b);
  page_escape(b.f, "<script>alert('x')</script> & \"q\"");
  page_escape(b.f, NULL);
  assert_string_equal(buf_close(&b),
                      "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; "
                      "&amp; &quot;q&quot;");
  free(b.text);
}

/* ---- in-memory counters ------------------------------------------------- */

static void counters_and_histogram(void **state) {
  struct config cfg;
  struct metrics *m;
  struct metrics_zone *z[8];
  struct buf b;
  char err[BW_ERRLEN];
  const char *t;

  (void)state;
  load_config(&cfg, "ip-a, ip-b", NULL);
  assert_int_equal(metrics_new(&m, err), BW_OK);
  assert_int_equal(metrics_zones(m, &cfg, z, err), BW_OK);
  metrics_observe(z[0], ZR_LISTED, true, 3000000);  /* 3 ms */
  metrics_observe(z[0], ZR_CLEAR, true, 200000);    /* 0.2 ms */
  metrics_observe(z[0], ZR_ERROR, false, 900000000); /* a timeout */
  metrics_observe(z[1], ZR_CLEAR, true, 7000000000); /* above every bucket */
  buf_open(&b);
  metrics_write_counters(m, b.f);
  t = buf_close(&b);
  tu_assert_contains(t, "# HELP blwatch_queries_total ");
  tu_assert_contains(t, "# TYPE blwatch_queries_total counter\n");
  tu_assert_contains(t, "# TYPE blwatch_dns_answer_seconds histogram\n");
  tu_assert_contains(t, "\nblwatch_queries_total{list=\"ip-a\","
                        "zone=\"a.example.net\",result=\"listed\"} 1\n");
  tu_assert_contains(t, "\nblwatch_queries_total{list=\"ip-a\","
                        "zone=\"a.example.net\",result=\"error\"} 1\n");
  tu_assert_contains(t, "\nblwatch_queries_total{list=\"ip-a\","
                        "zone=\"a.example.net\",result=\"bogus\"} 0\n");
  /* Buckets are cumulative; the timeout is not an answer. */
  tu_assert_contains(t, "\nblwatch_dns_answer_seconds_bucket{list=\"ip-a\","
                        "zone=\"a.example.net\",le=\"0.0005\"} 1\n");
  tu_assert_contains(t, "\nblwatch_dns_answer_seconds_bucket{list=\"ip-a\","
                        "zone=\"a.example.net\",le=\"0.0025\"} 1\n");
  tu_assert_contains(t, "\nblwatch_dns_answer_seconds_bucket{list=\"ip-a\","
                        "zone=\"a.example.net\",le=\"0.005\"} 2\n");
  tu_assert_contains(t, "\nblwatch_dns_answer_seconds_bucket{list=\"ip-a\","
                        "zone=\"a.example.net\",le=\"+Inf\"} 2\n");
  tu_assert_contains(t, "\nblwatch_dns_answer_seconds_sum{list=\"ip-a\","
                        "zone=\"a.example.net\"} 0.003200000\n");
  tu_assert_contains(t, "\nblwatch_dns_answer_seconds_count{list=\"ip-a\","
                        "zone=\"a.example.net\"} 2\n");
  tu_assert_contains(t, "\nblwatch_dns_answer_seconds_bucket{list=\"ip-b\","
                        "zone=\"b.example.net\",le=\"2.5\"} 0\n");
  tu_assert_contains(t, "\nblwatch_dns_answer_seconds_bucket{list=\"ip-b\","
                        "zone=\"b.example.net\",le=\"+Inf\"} 1\n");
  /* Each family's HELP and TYPE once. */
  assert_null(strstr(strstr(t, "# TYPE blwatch_queries_total") + 1,
                     "# TYPE blwatch_queries_total"));
  free(b.text);
  cfg_free(&cfg);
  metrics_free(m);
}

/* A reload keeps the counters of zones it keeps, and adds new ones. */
static void counters_survive_reload(void **state) {
  struct config a, b2;
  struct metrics *m;
  struct metrics_zone *z[8], *z2[8];
  struct buf b;
  char err[BW_ERRLEN];
  const char *t;

  (void)state;
  load_config(&a, "ip-b", NULL);
  load_config(&b2, "ip-a, ip-b", NULL);
  assert_int_equal(metrics_new(&m, err), BW_OK);
  assert_int_equal(metrics_zones(m, &a, z, err), BW_OK);
  metrics_observe(z[0], ZR_LISTED, true, 1000);
  assert_int_equal(metrics_zones(m, &b2, z2, err), BW_OK);
  assert_ptr_equal(z2[1], z[0]); /* ip-b, second in catalog order */
  assert_ptr_not_equal(z2[0], z[0]);
  metrics_observe(z2[1], ZR_LISTED, true, 1000);
  buf_open(&b);
  metrics_write_counters(m, b.f);
  t = buf_close(&b);
  tu_assert_contains(t, "{list=\"ip-b\",zone=\"b.example.net\","
                        "result=\"listed\"} 2\n");
  tu_assert_contains(t, "{list=\"ip-a\",zone=\"a.example.net\","
                        "result=\"listed\"} 0\n");
  free(b.text);
  cfg_free(&a);
  cfg_free(&b2);
  metrics_free(m);
}

/* ---- the database's state ----------------------------------------------- */

/* A database with one listed target, a clean one, a wildcard zone, a
 * completed cycle and a failed notice. */
static const char *make_db(void) {
  static char path[TU_PATH + 16];
  struct store *st;
  char err[BW_ERRLEN];
  int64_t id, clean, cyc, now = time(NULL);
  const char *channels[] = {"ops \"mail\""};

  snprintf(path, sizeof(path), "%s/blwatch.db", tu_mkdir());
  assert_int_equal(store_open(path, 0, &st, err), BW_OK);
  assert_int_equal(store_begin(st, err), BW_OK);
  assert_int_equal(store_target_put(st, "ip4", "192.0.2.10",
                                    "mx \"out\"\\1", "config", 1, now, &id,
                                    err), BW_OK);
  assert_int_equal(store_target_put(st, "ip4", "192.0.2.11", "", "config", 1,
                                    now, &clean, err), BW_OK);
  assert_int_equal(store_target_checked(st, id, now, err), BW_OK);
  assert_int_equal(store_target_checked(st, clean, now, err), BW_OK);
  struct store_state_row row = {
      id, "ip-a", "listed", "[\"127.0.0.2\"]", "[\"spam source\"]",
      "<script>alert(1)</script>", NULL, now - 3600, now};
  assert_int_equal(store_state_put(st, &row, err), BW_OK);
  struct store_event ev = {.at = now - 3600, .type = "listed", .target = id,
                           .target_key = "192.0.2.10", .label = "mx",
                           .list = "ip-a", .zone = "a.example.net",
                           .result = "listed", .codes = "[\"127.0.0.2\"]",
                           .meanings = "[\"spam source\"]"};
  assert_int_equal(store_event_add(st, &ev, channels, 1, err), BW_OK);
  assert_int_equal(store_zone_put(st, "ip-a", "a.example.net", "ok", now,
                                  now, err), BW_OK);
  assert_int_equal(store_zone_put(st, "ip-b", "b.example.net", "wildcard",
                                  now, now, err), BW_OK);
  assert_int_equal(store_cycle_start(st, now - 10, &cyc, err), BW_OK);
  struct store_cycle c = {.id = cyc, .started = now - 10, .ended = now - 4,
                          .targets = 2, .queries = 9};
  assert_int_equal(store_cycle_end(st, &c, err), BW_OK);
  assert_int_equal(store_commit(st, err), BW_OK);
  store_close(st);
  return path;
}

static void database_gauges(void **state) {
  struct config cfg;
  struct store *st;
  struct buf b;
  char err[BW_ERRLEN], line[256];
  const char *t;

  (void)state;
  load_config(&cfg, "ip-a, ip-b, dom-d", make_db());
  assert_int_equal(store_open(cfg.database, STORE_READONLY, &st, err), BW_OK);
  buf_open(&b);
  assert_int_equal(metrics_write(NULL, &cfg, st, b.f, err), 0);
  t = buf_close(&b);
  tu_assert_contains(t, "# TYPE blwatch_listed gauge\n");
  tu_assert_contains(t, "\nblwatch_listed{target=\"192.0.2.10\","
                        "label=\"mx \\\"out\\\"\\\\1\",list=\"ip-a\","
                        "zone=\"a.example.net\"} 1\n");
  tu_assert_not_contains(t, "192.0.2.11");
  tu_assert_contains(t, "\nblwatch_targets 2\n");
  tu_assert_contains(t, "\nblwatch_zones_enabled 3\n");
  tu_assert_contains(t, "\nblwatch_pairs{result=\"listed\"} 1\n");
  tu_assert_contains(t, "\nblwatch_listed_targets 1\n");
  tu_assert_contains(t, "\nblwatch_interval_seconds 3600\n");
  tu_assert_contains(t, "\nblwatch_last_cycle_duration_seconds 6\n");
  tu_assert_contains(t, "\nblwatch_last_cycle_targets 2\n");
  tu_assert_contains(t, "\nblwatch_zone_healthy{list=\"ip-a\","
                        "zone=\"a.example.net\"} 1\n");
  tu_assert_contains(t, "\nblwatch_zone_healthy{list=\"ip-b\","
                        "zone=\"b.example.net\"} 0\n");
  tu_assert_contains(t, "\nblwatch_zone_health{list=\"ip-b\","
                        "zone=\"b.example.net\",health=\"wildcard\"} 1\n");
  tu_assert_contains(t, "\nblwatch_zone_health{list=\"ip-b\","
                        "zone=\"b.example.net\",health=\"ok\"} 0\n");
  /* Never checked: untested, which is not unhealthy. */
  tu_assert_contains(t, "\nblwatch_zone_health{list=\"dom-d\","
                        "zone=\"d.example.org\",health=\"untested\"} 1\n");
  tu_assert_contains(t, "\nblwatch_zone_healthy{list=\"dom-d\","
                        "zone=\"d.example.org\"} 1\n");
  tu_assert_contains(t, "\nblwatch_zone_testpoints{list=\"ip-a\","
                        "zone=\"a.example.net\"} 1\n");
  tu_assert_contains(t, "\nblwatch_outbox_pending{channel=\"ops "
                        "\\\"mail\\\"\"} 1\n");
  tu_assert_contains(t, "\nblwatch_notices_failed{channel=\"ops "
                        "\\\"mail\\\"\"} 0\n");
  /* Every sample line is NAME{...} VALUE or NAME VALUE. */
  for (const char *p = t; *p != '\0'; p = strchr(p, '\n') + 1) {
    size_t n = strcspn(p, "\n");
    snprintf(line, sizeof(line), "%.*s", (int)n, p);
    if (line[0] != '#')
      assert_non_null(strrchr(line, ' '));
    if (p[n] == '\0')
      break;
  }
  free(b.text);
  store_close(st);
  cfg_free(&cfg);
}

static void page_is_escaped(void **state) {
  struct config cfg;
  struct store *st;
  struct buf b;
  char err[BW_ERRLEN];
  const char *t;

  (void)state;
  load_config(&cfg, "ip-a, ip-b, dom-d", make_db());
  assert_int_equal(store_open(cfg.database, STORE_READONLY, &st, err), BW_OK);
  buf_open(&b);
  assert_int_equal(page_write(&cfg, st, time(NULL), b.f, err), 0);
  t = buf_close(&b);
  tu_assert_contains(t, "<meta name=\"viewport\"");
  tu_assert_contains(t, "&lt;script&gt;alert(1)&lt;/script&gt;");
  tu_assert_not_contains(t, "<script");
  tu_assert_contains(t, "mx &quot;out&quot;\\1");
  tu_assert_contains(t, "href=\"https://a.example.net/delist\"");
  tu_assert_contains(t, "<svg");
  tu_assert_contains(t, "wildcard");
  /* Listings come before coverage, zones and the timeline. */
  assert_true(strstr(t, "id=\"listings\"") < strstr(t, "id=\"coverage\""));
  assert_true(strstr(t, "id=\"coverage\"") < strstr(t, "id=\"zones\""));
  assert_true(strstr(t, "id=\"zones\"") < strstr(t, "id=\"timeline\""));
  free(b.text);
  store_close(st);
  cfg_free(&cfg);
}

/* ---- listen address and token ------------------------------------------- */

static void listen_addresses(void **state) {
  struct http_addr a;
  char err[BW_ERRLEN];

  (void)state;
  assert_int_equal(http_parse_listen("127.0.0.1:9850", &a, err), BW_OK);
  assert_true(a.loopback);
  assert_int_equal(http_parse_listen("127.8.9.10:1", &a, err), BW_OK);
  assert_true(a.loopback);
  assert_int_equal(http_parse_listen("[::1]:9850", &a, err), BW_OK);
  assert_true(a.loopback);
  assert_int_equal(http_parse_listen("0.0.0.0:9850", &a, err), BW_OK);
  assert_false(a.loopback);
  assert_int_equal(http_parse_listen("[2001:db8::1]:80", &a, err), BW_OK);
  assert_false(a.loopback);
  assert_int_not_equal(http_parse_listen("127.0.0.1", &a, err), BW_OK);
  assert_int_not_equal(http_parse_listen("127.0.0.1:0", &a, err), BW_OK);
  assert_int_not_equal(http_parse_listen("127.0.0.1:65536", &a, err), BW_OK);
  assert_int_not_equal(http_parse_listen("localhost:9850", &a, err), BW_OK);
  tu_assert_contains(err, "not resolved");
  assert_int_not_equal(http_parse_listen("[::1:9850", &a, err), BW_OK);
  assert_int_not_equal(http_parse_listen(":9850", &a, err), BW_OK);
}

static void tokens(void **state) {
  (void)state;
  assert_true(http_token_ok("Bearer s3cret", "s3cret"));
  assert_true(http_token_ok("bearer s3cret", "s3cret"));
  assert_false(http_token_ok("Bearer s3cre", "s3cret"));
  assert_false(http_token_ok("Bearer s3cretx", "s3cret"));
  assert_false(http_token_ok("s3cret", "s3cret"));
  assert_false(http_token_ok("Basic czNjcmV0", "s3cret"));
  assert_false(http_token_ok(NULL, "s3cret"));
  assert_false(http_token_ok("Bearer ", "s3cret"));
}

/* [http] in the config: loopback is fine, anything else needs a token. */
static void http_config(void **state) {
  struct config cfg;
  char err[BW_ERRLEN];
  const char *tok = tu_write("tok3n\n");
  const char *path;

  (void)state;
  path = tu_writef("[zones]\ncatalog = %s\n[http]\nlisten = 127.0.0.1:9850\n",
                   TEST_CATALOG);
  assert_int_equal(cfg_load(&cfg, path, err), BW_OK);
  assert_string_equal(cfg.http_listen, "127.0.0.1:9850");
  cfg_free(&cfg);
  path = tu_writef("[zones]\ncatalog = %s\n\n[http]\nlisten = 0.0.0.0:9850\n",
                   TEST_CATALOG);
  assert_int_not_equal(cfg_load(&cfg, path, err), BW_OK);
  tu_assert_err(err, path, 5, "not a loopback address");
  tu_assert_contains(err, "token_file");
  path = tu_writef("[zones]\ncatalog = %s\n[http]\nlisten = 0.0.0.0:9850\n"
                   "token_file = %s\n", TEST_CATALOG, tok);
  assert_int_equal(cfg_load(&cfg, path, err), BW_OK);
  assert_null(cfg.http_token);
  assert_int_equal(cfg_load_secrets(&cfg, err), BW_OK);
  assert_string_equal(cfg.http_token, "tok3n");
  cfg_free(&cfg);
  path = tu_writef("[zones]\ncatalog = %s\n[http]\nlisten = nowhere\n",
                   TEST_CATALOG);
  assert_int_not_equal(cfg_load(&cfg, path, err), BW_OK);
  tu_assert_err(err, path, 4, "listen");
  path = tu_writef("[zones]\ncatalog = %s\n[http]\nport = 1\n", TEST_CATALOG);
  assert_int_not_equal(cfg_load(&cfg, path, err), BW_OK);
  tu_assert_err(err, path, 4, "unknown key");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(label_values_are_escaped),
      cmocka_unit_test(html_is_escaped),
      cmocka_unit_test(counters_and_histogram),
      cmocka_unit_test(counters_survive_reload),
      cmocka_unit_test(database_gauges),
      cmocka_unit_test(page_is_escaped),
      cmocka_unit_test(listen_addresses),
      cmocka_unit_test(tokens),
      cmocka_unit_test(http_config),
  };

  tu_init();
  return cmocka_run_group_tests(tests, NULL, tu_cleanup);
}
