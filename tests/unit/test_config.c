/* Unit tests for poller/config.c (cfg_load, cfg_print) and the pure
 * helpers of poller/dns.h.  The DNS engine itself is never started. */
#include "testutil.h"

#include <ares.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dns.h"
#include "qname.h"

#define N(arr) (sizeof(arr) / sizeof((arr)[0]))
#define TEST_CATALOG UNIT_DATA_DIR "/catalog.conf"
#define TEST_EXTRA UNIT_DATA_DIR "/extra.conf"
#define TARGETS_DIR UNIT_DATA_DIR "/targets.d"
/* Ends a config so that it uses the small test catalog. */
#define ZONES_TAIL "[zones]\ncatalog = " TEST_CATALOG "\n"

static int setup(void **state) {
  (void)state;
  unsetenv("BLWATCH_DQS_KEY");
  return 0;
}

static int teardown(void **state) {
  unsetenv("BLWATCH_DQS_KEY");
  return tu_cleanup(state);
}

/* Loads text as a config file; on failure fails the test with err. */
static const char *load_ok(struct config *cfg, const char *text) {
  char err[BW_ERRLEN] = "";
  const char *path = tu_write(text);

  if (cfg_load(cfg, path, err) != BW_OK)
    fail_msg("config did not load: %s", err);
  return path;
}

/* Loads text, expects rc and an error "PATH:line: ...word...". */
static void load_fail(const char *text, enum bw_err rc, int line,
                      const char *word) {
  struct config cfg;
  char err[BW_ERRLEN] = "";
  const char *path = tu_write(text);
  enum bw_err got = cfg_load(&cfg, path, err);

  if (got != rc) {
    if (got == BW_OK)
      cfg_free(&cfg);
    fail_msg("rc %d, want %d (%s) for:\n%s", got, rc, err, text);
  }
  tu_assert_err(err, path, line, word);
  /* A failed load leaves nothing behind. */
  assert_null(cfg.path);
  assert_null(cfg.targets);
  assert_int_equal(cfg.cat.n, 0);
}

static bool enabled(const struct config *cfg, const char *id) {
  for (size_t i = 0; i < cfg->cat.n; i++)
    if (strcmp(cfg->cat.zones[i].id, id) == 0)
      return cfg->enabled[i];
  fail_msg("no zone %s", id);
  return false;
}

/* cfg_print into a malloc'd string. */
static char *print_to_string(const struct config *cfg) {
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&buf, &len);

  assert_non_null(fp);
  cfg_print(cfg, fp);
  fclose(fp);
  return buf;
}

/* ---- defaults ---------------------------------------------------------- */

static void defaults_without_file(void **state) {
  struct config cfg;
  char err[BW_ERRLEN] = "";

  (void)state;
  assert_int_equal(cfg_load(&cfg, NULL, err), BW_OK);
  assert_null(cfg.path);
  assert_int_equal(cfg.interval_ms, 3600 * 1000);
  assert_string_equal(cfg.database, "/var/lib/blwatch/blwatch.db");
  assert_int_equal(cfg.concurrency, 100);
  assert_int_equal(cfg.rate, 0);
  assert_int_equal(cfg.confirm_ms, 60 * 1000);
  assert_null(cfg.servers); /* /etc/resolv.conf */
  assert_int_equal(cfg.timeout_ms, 2000);
  /* README and packaging/blwatch.conf say 2 (SPEC's example shows 3). */
  assert_int_equal(cfg.tries, 2);
  assert_int_equal(cfg.max_range, 65536);
  assert_true(cfg.identity);
  assert_int_equal(cfg.ntargets, 0);
  assert_int_equal(cfg.nalerts, 0);
  assert_null(cfg.dqs_key);
  /* The default catalog and its default set. */
  assert_non_null(cfg.catalog_path);
  assert_string_equal(cfg.catalog_path, cfg_default_catalog());
  assert_true(cfg.cat.n >= 40);
  assert_true(cfg.nenabled > 0 && cfg.nenabled < cfg.cat.n);
  assert_false(enabled(&cfg, "uceprotect-3"));
  assert_true(enabled(&cfg, "spamhaus-zen"));
  cfg_free(&cfg);
  assert_null(cfg.database);
  cfg_free(&cfg); /* a freed config can be freed again */
}

static void defaults_with_empty_file(void **state) {
  struct config cfg;
  char err[BW_ERRLEN] = "";
  const char *path = tu_write("");

  (void)state;
  assert_int_equal(cfg_load(&cfg, path, err), BW_OK);
  assert_string_equal(cfg.path, path);
  assert_int_equal(cfg.interval_ms, 3600 * 1000);
  assert_true(cfg.cat.n >= 40);
  cfg_free(&cfg);

  load_ok(&cfg, "; comments only\n" ZONES_TAIL);
  assert_string_equal(cfg.catalog_path, TEST_CATALOG);
  assert_int_equal(cfg.cat.n, 4);
  /* The catalog's default set: everything but ip-c. */
  assert_int_equal(cfg.nenabled, 3);
  assert_false(enabled(&cfg, "ip-c"));
  cfg_free(&cfg);
}

static void packaged_example_loads(void **state) {
  struct config cfg;
  char err[BW_ERRLEN] = "";

  (void)state;
  if (cfg_load(&cfg, SRC_DIR "/packaging/blwatch.conf", err) != BW_OK)
    fail_msg("packaging/blwatch.conf: %s", err);
  assert_int_equal(cfg.interval_ms, 3600 * 1000);
  assert_string_equal(cfg.servers, ""); /* empty: /etc/resolv.conf */
  assert_int_equal(cfg.tries, 2);
  assert_true(cfg.nenabled > 0);
  cfg_free(&cfg);
}

/* ---- every key of SPEC "Config file" ------------------------------------ */

static const char full_config[] =
    "[poller]\n"
    "interval    = 90m                ; full re-check period\n"
    "database    = /tmp/blwatch-unit.db\n"
    "concurrency = 250\n"
    "rate        = 40\n"
    "confirm     = 0\n"
    "\n"
    "[resolver]\n"
    "servers = 127.0.0.1:5353, [::1]:53\n"
    "timeout = 3s\n"
    "tries   = 4\n"
    "\n"
    "[targets]\n"
    "ip     = 192.0.2.10 mx-out-1\n"
    "ip     = 198.51.100.0/28\n"
    "ip     = 2001:db8::25\n"
    "domain = Example.COM\n"
    "host   = mx1.example.com   edge mx\n"
    "file   = " TARGETS_DIR "/*.list\n"
    "max_range = 1024\n"
    "\n"
    "[zones]\n"
    "catalog  = " TEST_CATALOG "\n"
    "extra    = " TEST_EXTRA "\n"
    "use      = default, ip-c\n"
    "skip     = ip-b\n"
    "\n"
    "[identity]\n"
    "enabled = no\n"
    "\n"
    "[alert \"ops-mail\"]\n"
    "type     = email\n"
    "url      = smtp://mail.example.com:587\n"
    "starttls = required\n"
    "username = blwatch\n"
    "password_file = " UNIT_DATA_DIR "/smtp.secret\n"
    "from     = blwatch@example.com\n"
    "to       = postmaster@example.com, ops@example.com\n"
    "ca_file  = /etc/ssl/certs/ca.pem\n"
    "\n"
    "[alert \"chat\"]\n"
    "type     = webhook\n"
    "url      = https://hooks.example.com/T000/B000#x\n"
    "format   = slack\n"
    "secret_file = " UNIT_DATA_DIR "/webhook.secret\n";

/* What cfg_each_target() gave, copied (file targets are freed after the
 * call). */
struct seen_target {
  enum target_kind kind;
  char text[64];  /* address/prefix or name */
  char label[64]; /* "" when none */
};

struct seen_list {
  struct seen_target v[16];
  size_t n;
};

static enum bw_err seen_add(void *arg, const struct target_spec *t,
                            char *err) {
  struct seen_list *l = arg;
  struct seen_target *s = &l->v[l->n++];
  char buf[64];

  (void)err;
  assert_true(l->n <= N(l->v));
  s->kind = t->kind;
  if (t->name != NULL)
    snprintf(s->text, sizeof(s->text), "%s", t->name);
  else
    snprintf(s->text, sizeof(s->text), "%s/%u",
             target_addr_str(t->addr, t->kind == TARGET_IP6, buf), t->prefix);
  snprintf(s->label, sizeof(s->label), "%s", t->label ? t->label : "");
  return BW_OK;
}

static void each_target(const struct config *cfg, struct seen_list *l) {
  char err[BW_ERRLEN];

  l->n = 0;
  if (cfg_each_target(cfg, seen_add, l, err) != BW_OK)
    fail_msg("cfg_each_target: %s", err);
}

static void check_full(const struct config *cfg) {
  char buf[64];

  assert_int_equal(cfg->interval_ms, 90 * 60 * 1000);
  assert_string_equal(cfg->database, "/tmp/blwatch-unit.db");
  assert_int_equal(cfg->concurrency, 250);
  assert_int_equal(cfg->rate, 40);
  assert_int_equal(cfg->confirm_ms, 0);
  assert_string_equal(cfg->servers, "127.0.0.1:5353,[::1]:53");
  assert_int_equal(cfg->timeout_ms, 3000);
  assert_int_equal(cfg->tries, 4);
  assert_int_equal(cfg->max_range, 1024);
  assert_false(cfg->identity);

  /* The config's own target lines, in order. */
  assert_int_equal(cfg->ntargets, 5);
  const struct target_spec *t = cfg->targets;
  assert_int_equal(t[0].kind, TARGET_IP4);
  assert_string_equal(target_addr_str(t[0].addr, false, buf), "192.0.2.10");
  assert_string_equal(t[0].label, "mx-out-1");
  assert_int_equal(t[1].prefix, 28);
  assert_null(t[1].label);
  assert_int_equal(t[2].kind, TARGET_IP6);
  assert_int_equal(t[3].kind, TARGET_DOMAIN);
  assert_string_equal(t[3].name, "example.com");
  assert_int_equal(t[4].kind, TARGET_HOST);
  assert_string_equal(t[4].name, "mx1.example.com");
  assert_string_equal(t[4].label, "edge mx");
  /* The target files a.list and b.list (notes.txt is not read): their
   * hosts are kept, the rest is counted and read again on demand. */
  assert_int_equal(cfg->ntarget_files, 2);
  assert_non_null(strstr(cfg->target_files[0], "/a.list"));
  assert_non_null(strstr(cfg->target_files[1], "/b.list"));
  assert_int_equal(cfg->nfile_hosts, 1);
  assert_string_equal(cfg->file_hosts[0].name, "mx1.example.com");
  assert_string_equal(cfg->file_hosts[0].label, "mx1");
  assert_int_equal(cfg->nfile_targets, 4);
  assert_int_equal(cfg_target_lines(cfg), 10);
  size_t pos = 0;
  assert_ptr_equal(cfg_next_host(cfg, &pos), &t[4]);
  assert_ptr_equal(cfg_next_host(cfg, &pos), &cfg->file_hosts[0]);
  assert_null(cfg_next_host(cfg, &pos));
  /* Addresses and domains: the config's lines, then the files'. */
  struct seen_list l;
  each_target(cfg, &l);
  assert_int_equal(l.n, 4 + 4);
  assert_string_equal(l.v[0].text, "192.0.2.10/32");
  assert_string_equal(l.v[3].text, "example.com");
  assert_string_equal(l.v[4].text, "192.0.2.10/32");
  assert_string_equal(l.v[4].label, "mx-out-1");
  assert_string_equal(l.v[5].text, "198.51.100.4/30");
  assert_string_equal(l.v[5].label, "pool");
  assert_int_equal(l.v[6].kind, TARGET_DOMAIN);
  assert_string_equal(l.v[6].label, "sending-domain");
  assert_int_equal(l.v[7].kind, TARGET_IP6);
  assert_string_equal(l.v[7].label, "");

  /* Zones: the extra file replaced ip-b and added ip-e. */
  assert_string_equal(cfg->catalog_path, TEST_CATALOG);
  assert_int_equal(cfg->nextra, 1);
  assert_string_equal(cfg->extra[0], TEST_EXTRA);
  assert_int_equal(cfg->cat.n, 5);
  assert_true(enabled(cfg, "ip-a"));
  assert_false(enabled(cfg, "ip-b"));
  assert_true(enabled(cfg, "ip-c"));
  assert_true(enabled(cfg, "dom-d"));
  assert_true(enabled(cfg, "ip-e"));
  assert_int_equal(cfg->nenabled, 4);

  assert_int_equal(cfg->nalerts, 2);
  const struct alert_cfg *a = &cfg->alerts[0];
  assert_string_equal(a->name, "ops-mail");
  assert_string_equal(a->type, "email");
  assert_string_equal(a->url, "smtp://mail.example.com:587");
  assert_string_equal(a->starttls, "required");
  assert_string_equal(a->username, "blwatch");
  assert_string_equal(a->password_file, UNIT_DATA_DIR "/smtp.secret");
  assert_string_equal(a->from, "blwatch@example.com");
  assert_string_equal(a->to, "postmaster@example.com, ops@example.com");
  assert_string_equal(a->ca_file, "/etc/ssl/certs/ca.pem");
  assert_null(a->format);
  a = &cfg->alerts[1];
  assert_string_equal(a->name, "chat");
  assert_string_equal(a->type, "webhook");
  /* The rest of the URL is checked by every_key (as written) and
   * print_round_trips (as printed, the token hidden). */
  assert_true(strncmp(a->url, "https://hooks.example.com/", 26) == 0);
  assert_string_equal(a->format, "slack");
  assert_string_equal(a->secret_file, UNIT_DATA_DIR "/webhook.secret");
  assert_null(a->secret); /* read only by cfg_load_secrets() */
  assert_null(a->to);
}

static void every_key(void **state) {
  struct config cfg;
  char err[BW_ERRLEN] = "";

  (void)state;
  load_ok(&cfg, full_config);
  check_full(&cfg);
  /* Secrets: the file's one trailing newline is not part of them. */
  assert_int_equal(cfg_load_secrets(&cfg, err), BW_OK);
  assert_string_equal(cfg.alerts[0].password, "pa55-word");
  assert_string_equal(cfg.alerts[1].secret, "hook-secret");
  assert_string_equal(cfg.alerts[1].url,
                      "https://hooks.example.com/T000/B000#x");
  /* Defaults of the durations. */
  assert_int_equal(cfg.alerts[0].retry_ms, 30 * 1000);
  assert_int_equal(cfg.alerts[0].give_up_ms, 86400 * 1000);
  assert_int_equal(cfg.alerts[0].group_interval_ms, 5 * 60 * 1000);
  assert_int_equal(cfg.alerts[0].line, 31);
  assert_int_equal(cfg.alerts[1].line, 41);
  cfg_free(&cfg);
}

static void print_round_trips(void **state) {
  struct config cfg, again;
  char err[BW_ERRLEN] = "";
  char *text;
  const char *path;

  (void)state;
  load_ok(&cfg, full_config);
  assert_int_equal(cfg_load_secrets(&cfg, err), BW_OK);
  text = print_to_string(&cfg);
  tu_assert_contains(text, "[poller]\n");
  /* Secrets never appear in config-check output. */
  tu_assert_not_contains(text, "pa55-word");
  tu_assert_not_contains(text, "hook-secret");
  tu_assert_contains(text, "interval    = 90m\n");
  tu_assert_contains(text, "servers     = 127.0.0.1:5353,[::1]:53\n");
  tu_assert_contains(text, "timeout     = 3s\n");
  tu_assert_contains(text, "confirm     = 0s\n");
  tu_assert_contains(text, "ip          = 192.0.2.10 mx-out-1\n");
  tu_assert_contains(text, "ip          = 198.51.100.0/28\n");
  tu_assert_contains(text, "host        = mx1.example.com edge mx\n");
  tu_assert_contains(text, "use         = ip-a ip-c dom-d ip-e\n");
  tu_assert_contains(text, "[alert \"chat\"]\n");
  /* The webhook URL's path is its token: hidden, the host shown. */
  tu_assert_not_contains(text, "T000");
  tu_assert_contains(text, "url            = https://hooks.example.com/"
                           "<hidden>\n");
  tu_assert_contains(text, "group_interval = 5m\n");
  /* What is printed loads again to the same settings. */
  path = tu_write(text);
  if (cfg_load(&again, path, err) != BW_OK)
    fail_msg("printed config does not load: %s\n%s", err, text);
  free(text);
  check_full(&again);
  assert_string_equal(again.alerts[1].url,
                      "https://hooks.example.com/<hidden>");
  cfg_free(&again);
  cfg_free(&cfg);
}

/* Fixed bug, kept as a regression test: cfg_print() writes sub-second durations as "1500ms", a form the
 * parser refuses ("expected a duration like 30s, 5m, 1h, got '1500ms'"),
 * so `config-check` output for `timeout = 1.5s` is not a loadable config.
 */
static void fixed_print_subsecond_duration(void **state) {
  struct config cfg, again;
  char err[BW_ERRLEN] = "";
  char *text;
  enum bw_err rc;

  (void)state;
  load_ok(&cfg, "[resolver]\ntimeout = 1.5s\n" ZONES_TAIL);
  assert_int_equal(cfg.timeout_ms, 1500);
  text = print_to_string(&cfg);
  cfg_free(&cfg);
  rc = cfg_load(&again, tu_write(text), err);
  free(text);
  if (rc != BW_OK)
    fail_msg("printed config does not load: %s", err);
  assert_int_equal(again.timeout_ms, 1500);
  cfg_free(&again);
}

static void durations_and_bounds(void **state) {
  struct config cfg;

  (void)state;
  load_ok(&cfg, "[poller]\ninterval = 60\nconfirm = 1d\n"
                "[resolver]\ntimeout = 0.1\ntries = 10\n"
                "[targets]\nmax_range = 4294967296\n" ZONES_TAIL);
  assert_int_equal(cfg.interval_ms, 60000);
  assert_int_equal(cfg.confirm_ms, 86400000);
  assert_int_equal(cfg.timeout_ms, 100);
  assert_int_equal(cfg.tries, 10);
  assert_true(cfg.max_range == 1ULL << 32);
  cfg_free(&cfg);
  load_ok(&cfg, "[poller]\ninterval = 7d\nconcurrency = 1\n"
                "rate = 1000000\n" ZONES_TAIL);
  assert_int_equal(cfg.interval_ms, 7 * 86400000ULL);
  cfg_free(&cfg);
  load_ok(&cfg, "[resolver]\ntimeout = 1.5s\n" ZONES_TAIL);
  assert_int_equal(cfg.timeout_ms, 1500);
  cfg_free(&cfg);
}

/* ---- errors while reading the file ------------------------------------ */

struct bad_cfg {
  const char *text;
  enum bw_err rc;
  int line;
  const char *word;
};

static void run_bad(const struct bad_cfg *cases, size_t n) {
  for (size_t i = 0; i < n; i++)
    load_fail(cases[i].text, cases[i].rc, cases[i].line, cases[i].word);
}

static void syntax_and_key_errors(void **state) {
  static const struct bad_cfg cases[] = {
      {"[poller]\ninterval = 1h\n\n[pollers]\n", BW_EINVAL, 4,
       "unknown section [pollers]"},
      {"[poller]\nintervall = 1h\n", BW_EINVAL, 2,
       "unknown key 'intervall' in [poller]"},
      {"[resolver]\nserver = 127.0.0.1\n", BW_EINVAL, 2,
       "unknown key 'server' in [resolver]"},
      {"[zones]\ncatalogue = x\n", BW_EINVAL, 2, "unknown key 'catalogue'"},
      {"[identity]\nenable = no\n", BW_EINVAL, 2, "unknown key 'enable'"},
      {"[alert \"x\"]\ntype = email\nport = 25\n", BW_EINVAL, 3,
       "unknown key 'port' in [alert]"},
      {"[poller]\ninterval = 1h\ninterval = 2h\n", BW_EINVAL, 3,
       "'interval' is set twice in [poller]"},
      {"[poller]\nrate = 1\n[resolver]\ntries = 2\n[poller]\nrate = 2\n",
       BW_EINVAL, 6, "'rate' is set twice"},
      {"[zones]\nuse = all\nuse = default\n", BW_EINVAL, 3,
       "'use' is set twice"},
      {"[targets]\nmax_range = 5\nmax_range = 6\n", BW_EINVAL, 3,
       "'max_range' is set twice"},
      {"[poller \"x\"]\n", BW_ESYNTAX, 1, "[poller] takes no name"},
      {"[alert]\ntype = email\n", BW_ESYNTAX, 1, "need a name"},
      {"interval = 1h\n", BW_ESYNTAX, 1, "outside any [section]"},
      {"[poller]\ninterval 1h\n", BW_ESYNTAX, 2, "expected 'key = value'"},
      {"[poller\n", BW_ESYNTAX, 1, "closing ']'"},
  };

  (void)state;
  run_bad(cases, N(cases));
}

static void value_errors(void **state) {
  static const struct bad_cfg cases[] = {
      {"[poller]\ninterval = soon\n", BW_EINVAL, 2, "expected a duration"},
      {"[poller]\ninterval = 30s\n", BW_ERANGE, 2,
       "interval = 30s is out of range"},
      {"[poller]\ninterval = 8d\n", BW_ERANGE, 2, "out of range"},
      {"[poller]\ninterval = 5 m\n", BW_EINVAL, 2, "expected a duration"},
      {"[poller]\nconcurrency = 0\n", BW_ERANGE, 2, "out of range"},
      {"[poller]\nconcurrency = 10001\n", BW_ERANGE, 2, "too large"},
      {"[poller]\nconcurrency = many\n", BW_EINVAL, 2, "expected a number"},
      {"[poller]\nrate = -1\n", BW_EINVAL, 2, "expected a number"},
      {"[poller]\nrate = 1000001\n", BW_ERANGE, 2, "too large"},
      {"[poller]\nconfirm = 2d\n", BW_ERANGE, 2, "out of range"},
      {"[poller]\nconfirm = -1s\n", BW_EINVAL, 2, "expected a duration"},
      {"[resolver]\ntimeout = 50ms\n", BW_EINVAL, 2, "expected a duration"},
      {"[resolver]\ntimeout = 0.05\n", BW_ERANGE, 2, "out of range"},
      {"[resolver]\ntimeout = 61s\n", BW_ERANGE, 2, "out of range"},
      {"[resolver]\ntries = 0\n", BW_ERANGE, 2, "out of range"},
      {"[resolver]\ntries = 11\n", BW_ERANGE, 2, "too large"},
      {"[targets]\nmax_range = 0\n", BW_ERANGE, 2, "out of range"},
      {"[targets]\nmax_range = 4294967297\n", BW_ERANGE, 2, "too large"},
      {"[identity]\nenabled = maybe\n", BW_EINVAL, 2, "yes or no"},
      {"[alert \"m\"]\ntype = sms\n", BW_EINVAL, 2,
       "type must be one of: email webhook"},
      {"[alert \"m\"]\ntype = email\nstarttls = sometimes\n", BW_EINVAL, 3,
       "starttls must be one of"},
      {"[alert \"m\"]\ntype = webhook\nformat = xml\n", BW_EINVAL, 3,
       "format must be one of: json slack"},
      {"[alert \"m\"]\ntype = Email\n", BW_EINVAL, 2, "type must be one of"},
      {"[poller]\ndatabase =\n", BW_EINVAL, 2, "'database' has no value"},
      {"[zones]\nuse =\n", BW_EINVAL, 2, "'use' has no value"},
      {"[zones]\ncatalog =\n", BW_EINVAL, 2, "'catalog' has no value"},
      {"[poller]\ninterval =\n", BW_EINVAL, 2, "'interval' has no value"},
  };

  (void)state;
  run_bad(cases, N(cases));
}

static void hostile_files(void **state) {
  static const char nul[] = "[poller]\ninterval = 1h\0\n";
  struct config cfg;
  char err[BW_ERRLEN] = "";
  const char *path;
  char *big;

  (void)state;
  path = tu_missing_path();
  assert_int_equal(cfg_load(&cfg, path, err), BW_EIO);
  tu_assert_contains(err, path);
  tu_assert_contains(err, "cannot open");

  path = tu_write_bytes(nul, sizeof(nul) - 1);
  assert_int_equal(cfg_load(&cfg, path, err), BW_ESYNTAX);
  tu_assert_err(err, path, 2, "NUL");

  big = malloc(6000);
  assert_non_null(big);
  memset(big, 'a', 5999);
  big[5999] = '\0';
  path = tu_writef("[poller]\n\ndatabase = /%s\n", big);
  assert_int_equal(cfg_load(&cfg, path, err), BW_ESYNTAX);
  tu_assert_err(err, path, 3, "longer than 4096 bytes");
  free(big);

  path = tu_write("\x89PNG\r\n\x1a\n\xff\xd8\xff\xe0 garbage\n");
  assert_int_equal(cfg_load(&cfg, path, err), BW_ESYNTAX);
  tu_assert_err(err, path, 1, NULL);

  /* Control bytes quoted from the file (a terminal escape, a CR that
   * would rewrite the line) are not passed on in the message. */
  path = tu_write("[poller]\n\x1b[2J\rkey\x07 = 1\n");
  assert_int_not_equal(cfg_load(&cfg, path, err), BW_OK);
  tu_assert_err(err, path, 2, NULL);
  for (const char *p = err; *p != '\0'; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      fail_msg("control byte 0x%02x in the error: %s", *p, err);

  /* A directory where a file should be. */
  path = tu_mkdir();
  assert_int_not_equal(cfg_load(&cfg, path, err), BW_OK);
  tu_assert_contains(err, path);
}

/* ---- [targets] -------------------------------------------------------- */

static void max_range_after_ranges(void **state) {
  struct config cfg;
  const char *tfile = tu_write("10.1.0.0/15 big\n");
  char text[1024];

  (void)state;
  snprintf(text, sizeof(text),
           "[targets]\nip = 10.0.0.0/15\nfile = %s\nmax_range = 131072\n"
           ZONES_TAIL, tfile);
  load_ok(&cfg, text);
  assert_int_equal(cfg.ntargets, 1);
  assert_true(target_count(&cfg.targets[0]) == 131072);
  struct seen_list l;
  each_target(&cfg, &l);
  assert_int_equal(l.n, 2);
  assert_string_equal(l.v[1].text, "10.0.0.0/15"); /* as a range */
  assert_string_equal(l.v[1].label, "big");
  cfg_free(&cfg);

  /* Without it, the default cap refuses them, in the config and in a
   * target file. */
  load_fail("[targets]\nip = 192.0.2.1\nip = 10.0.0.0/15 too big\n",
            BW_ERANGE, 3, "max_range");
  snprintf(text, sizeof(text), "[targets]\nfile = %s\n", tfile);
  {
    struct config c2;
    char err[BW_ERRLEN] = "";
    assert_int_equal(cfg_load(&c2, tu_write(text), err), BW_ERANGE);
    tu_assert_err(err, tfile, 1, "max_range");
  }
  /* A smaller cap applies to ranges above it. */
  load_fail("[targets]\nip = 192.0.2.0/24\n[targets]\nmax_range = 16\n",
            BW_ERANGE, 2, "more than 16 addresses");
}

static void target_errors(void **state) {
  static const struct bad_cfg cases[] = {
      {"[targets]\nip = 192.0.2.1\nipaddr = 192.0.2.2\n", BW_EINVAL, 3,
       "unknown key 'ipaddr' in [targets]"},
      {"[targets]\n\nip = example.com\n", BW_EINVAL, 3,
       "'example.com' is not an IP address"},
      {"[targets]\nip = 192.0.2.0/33\n", BW_EINVAL, 2, "prefix length"},
      {"[targets]\nip =\n", BW_EINVAL, 2, "not an IP address"},
      {"[targets]\ndomain = localhost\n", BW_EINVAL, 2,
       "not a valid domain name"},
      {"[targets]\ndomain = bad_name!.example\n", BW_EINVAL, 2,
       "not a valid domain name"},
      {"[targets]\nhost = -mx.example.com\n", BW_EINVAL, 2,
       "not a valid domain name"},
      {"[targets]\ntargets \"x\"\n", BW_ESYNTAX, 2, "expected 'key = value'"},
  };

  (void)state;
  run_bad(cases, N(cases));
}

static void target_file_errors(void **state) {
  struct config cfg;
  char err[BW_ERRLEN] = "";
  char text[512];
  const char *dir = tu_mkdir();
  const char *bad;

  (void)state;
  /* A missing file named without a wildcard is an error on its line. */
  snprintf(text, sizeof(text), "[targets]\nip = 192.0.2.1\nfile = %s\n",
           tu_missing_path());
  load_fail(text, BW_EIO, 3, "no target file matches");

  /* A wildcard that matches nothing is an empty targets.d. */
  snprintf(text, sizeof(text), "[targets]\nfile = %s/*.list\n" ZONES_TAIL,
           dir);
  load_ok(&cfg, text);
  assert_int_equal(cfg.ntargets, 0);
  cfg_free(&cfg);

  /* A target file that breaks after the config was loaded: the next
   * reading of it names the file and the line. */
  {
    const char *later = tu_write_in(dir, "later.list", "192.0.2.7\n");
    char conf[512];
    snprintf(conf, sizeof(conf), "[targets]\nfile = %s\n" ZONES_TAIL, later);
    load_ok(&cfg, conf);
    tu_write_in(dir, "later.list", "192.0.2.7\nnot an address!\n");
    struct seen_list l = {.n = 0};
    assert_int_not_equal(cfg_each_target(&cfg, seen_add, &l, err), BW_OK);
    tu_assert_err(err, later, 2, NULL);
    cfg_free(&cfg);
    unlink(later);
  }

  /* An error inside a target file names that file and its line. */
  tu_write_in(dir, "a.list", "192.0.2.1\n# fine so far\n");
  bad = tu_write_in(dir, "b.list", "192.0.2.2\n\n192.0.2.0/33 broken\n");
  assert_int_equal(cfg_load(&cfg, tu_write(text), err), BW_EINVAL);
  tu_assert_err(err, bad, 3, "prefix length");

  static const struct {
    const char *content;
    enum bw_err rc;
    int line;
    const char *word;
  } cases[] = {
      {"example.com\nhost\n", BW_EINVAL, 2, "'host' needs a name"},
      {"not-a-name\n", BW_EINVAL, 1, "not a valid domain name"},
      {"192.0.2.1\n\x01\x02\x03\n", BW_EINVAL, 2, "not"},
      {"192.0.2.1\n192.0.2.2\0\n", BW_ESYNTAX, 2, "NUL"},
  };
  for (size_t i = 0; i < N(cases); i++) {
    const char *tfile =
        tu_write_bytes(cases[i].content, strlen(cases[i].content) +
                                             (cases[i].rc == BW_ESYNTAX));
    snprintf(text, sizeof(text), "[targets]\nfile = %s\n", tfile);
    err[0] = '\0';
    assert_int_equal(cfg_load(&cfg, tu_write(text), err), cases[i].rc);
    tu_assert_err(err, tfile, cases[i].line, cases[i].word);
  }
}

/* ---- [zones] ---------------------------------------------------------- */

static void zone_selection(void **state) {
  struct config cfg;

  (void)state;
  load_ok(&cfg, ZONES_TAIL "use = all\n");
  assert_int_equal(cfg.nenabled, 4);
  cfg_free(&cfg);
  load_ok(&cfg, ZONES_TAIL "use = all\nskip = ip-a dom-d\n");
  assert_int_equal(cfg.nenabled, 2);
  assert_false(enabled(&cfg, "ip-a"));
  assert_true(enabled(&cfg, "ip-c"));
  cfg_free(&cfg);
  load_ok(&cfg, ZONES_TAIL "use = ip-c\n");
  assert_int_equal(cfg.nenabled, 1);
  assert_true(enabled(&cfg, "ip-c"));
  cfg_free(&cfg);
  load_ok(&cfg, ZONES_TAIL "skip = dom-d,ip-b\n");
  assert_int_equal(cfg.nenabled, 1);
  assert_true(enabled(&cfg, "ip-a"));
  cfg_free(&cfg);
}

static void zone_selection_errors(void **state) {
  static const struct bad_cfg cases[] = {
      {ZONES_TAIL "use = ip-a, nope\n", BW_EINVAL, 3,
       "use: no zone 'nope' in the catalog"},
      {ZONES_TAIL "use = default\n\nskip = ip-b IP-C\n", BW_EINVAL, 5,
       "skip: no zone 'IP-C'"},
      {ZONES_TAIL "use =\n", BW_EINVAL, 3, "'use' has no value"},
      {ZONES_TAIL "use = ip-a\nskip = ip-a\n", BW_EINVAL, 0, NULL},
  };
  struct config cfg;
  char err[BW_ERRLEN];

  (void)state;
  run_bad(cases, 3);
  /* Nothing enabled: names the config file and says why. */
  for (size_t i = 3; i < N(cases); i++) {
    const char *path = tu_write(cases[i].text);
    err[0] = '\0';
    assert_int_equal(cfg_load(&cfg, path, err), BW_EINVAL);
    assert_int_equal(strncmp(err, path, strlen(path)), 0);
    tu_assert_contains(err, "no zone is enabled");
  }
}

static void catalog_errors(void **state) {
  struct config cfg;
  char err[BW_ERRLEN] = "";
  char text[512];
  const char *missing = tu_missing_path();
  const char *badcat = tu_write("[z]\nzone = z.example\nkind = ip7\n");
  const char *path;

  (void)state;
  /* A catalog that cannot be opened: the config line that names it. */
  snprintf(text, sizeof(text), "\n[zones]\ncatalog = %s\n", missing);
  path = tu_write(text);
  assert_int_equal(cfg_load(&cfg, path, err), BW_EIO);
  tu_assert_err(err, path, 3, "catalog");
  tu_assert_contains(err, missing);

  snprintf(text, sizeof(text), ZONES_TAIL "extra = %s\n", missing);
  path = tu_write(text);
  assert_int_equal(cfg_load(&cfg, path, err), BW_EIO);
  tu_assert_err(err, path, 3, "catalog");
  tu_assert_contains(err, missing);

  snprintf(text, sizeof(text), ZONES_TAIL "extra = %s\n", badcat);
  assert_int_equal(cfg_load(&cfg, tu_write(text), err), BW_EINVAL);
  tu_assert_err(err, badcat, 3, "unknown kind");

  snprintf(text, sizeof(text), "[zones]\ncatalog = %s\n", badcat);
  assert_int_equal(cfg_load(&cfg, tu_write(text), err), BW_EINVAL);
  tu_assert_err(err, badcat, 3, "unknown kind");
}

static void extra_files(void **state) {
  struct config cfg;
  const char *more = tu_write("[local]\nzone = bl.local.example\n"
                              "kind = ip4\ndefault = yes\n");
  char text[1024];

  (void)state;
  snprintf(text, sizeof(text),
           ZONES_TAIL "extra = " TEST_EXTRA "\nextra = %s\n", more);
  load_ok(&cfg, text);
  assert_int_equal(cfg.nextra, 2);
  assert_int_equal(cfg.cat.n, 6);
  assert_string_equal(zone_find(&cfg.cat, "ip-b")->zone, "b.mirror.example");
  /* The default set is taken after the overrides. */
  assert_false(enabled(&cfg, "ip-b"));
  assert_true(enabled(&cfg, "ip-e"));
  assert_true(enabled(&cfg, "local"));
  cfg_free(&cfg);
}

/* ---- DQS -------------------------------------------------------------- */

static void dqs_key_from_file(void **state) {
  struct config cfg;
  char *text;

  (void)state;
  load_ok(&cfg, ZONES_TAIL "dqs_key = Secret0Key42\n");
  assert_string_equal(zone_find(&cfg.cat, "ip-a")->query_zone,
                      "Secret0Key42.a.dq.example.net");
  assert_string_equal(zone_find(&cfg.cat, "ip-a")->zone, "a.example.net");
  assert_string_equal(zone_find(&cfg.cat, "ip-b")->query_zone,
                      "b.example.net");
  /* cfg_print says that a key is set and never shows it. */
  text = print_to_string(&cfg);
  tu_assert_not_contains(text, "Secret0Key42");
  tu_assert_contains(text, "dqs_key     = (set, not shown)");
  free(text);
  cfg_free(&cfg);

  load_ok(&cfg, ZONES_TAIL);
  text = print_to_string(&cfg);
  tu_assert_not_contains(text, "dqs_key");
  free(text);
  cfg_free(&cfg);
}

static void dqs_key_from_environment(void **state) {
  struct config cfg;
  char err[BW_ERRLEN] = "";
  char *text;

  (void)state;
  setenv("BLWATCH_DQS_KEY", "EnvKey123", 1);
  load_ok(&cfg, ZONES_TAIL);
  assert_string_equal(cfg.dqs_key, "EnvKey123");
  assert_string_equal(zone_find(&cfg.cat, "ip-a")->query_zone,
                      "EnvKey123.a.dq.example.net");
  text = print_to_string(&cfg);
  tu_assert_not_contains(text, "EnvKey123");
  free(text);
  cfg_free(&cfg);

  /* Also with no config file at all. */
  assert_int_equal(cfg_load(&cfg, NULL, err), BW_OK);
  assert_string_equal(zone_find(&cfg.cat, "spamhaus-zen")->query_zone,
                      "EnvKey123.zen.dq.spamhaus.net");
  assert_string_equal(zone_find(&cfg.cat, "spamhaus-zen")->zone,
                      "zen.spamhaus.org");
  text = print_to_string(&cfg);
  tu_assert_not_contains(text, "EnvKey123");
  free(text);
  cfg_free(&cfg);

  /* An empty variable is no key. */
  setenv("BLWATCH_DQS_KEY", "", 1);
  load_ok(&cfg, ZONES_TAIL);
  assert_null(cfg.dqs_key);
  assert_string_equal(zone_find(&cfg.cat, "ip-a")->query_zone,
                      "a.example.net");
  cfg_free(&cfg);

  /* A bad key in the environment is refused too. */
  setenv("BLWATCH_DQS_KEY", "bad.key", 1);
  assert_int_equal(cfg_load(&cfg, NULL, err), BW_EINVAL);
  tu_assert_contains(err, "letters and digits");
  tu_assert_not_contains(err, "bad.key");
  unsetenv("BLWATCH_DQS_KEY");
}

static void dqs_key_validation(void **state) {
  static const char *bad[] = {"bad-key", "bad.key", "key with space",
                              "k\xc3\xa9y"};
  struct config cfg;
  char err[BW_ERRLEN];
  char text[256];

  (void)state;
  for (size_t i = 0; i < N(bad); i++) {
    const char *path;
    snprintf(text, sizeof(text), ZONES_TAIL "dqs_key = %s\n", bad[i]);
    path = tu_write(text);
    err[0] = '\0';
    assert_int_equal(cfg_load(&cfg, path, err), BW_EINVAL);
    assert_int_equal(strncmp(err, path, strlen(path)), 0);
    tu_assert_contains(err, "letters and digits");
    /* The message never repeats the secret. */
    tu_assert_not_contains(err, bad[i]);
  }
}

/* Fixed bug, kept as a regression test: the dqs_key error names the file but not the line ("FILE: dqs_key
 * must be letters and digits only"); SPEC: every error names the file and
 * the line. */
static void fixed_dqs_key_error_lacks_line(void **state) {
  (void)state;
  load_fail(ZONES_TAIL "dqs_key = bad-key\n", BW_EINVAL, 3,
            "letters and digits");
}

/* Fixed bug, kept as a regression test: `dqs_key =` (empty) passes validation and every DQS zone is then
 * queried as ".<dqs>", e.g. ".a.dq.example.net", which is not a DNS name.
 * Expected: an error on that line (or the key treated as unset). */
static void fixed_empty_dqs_key(void **state) {
  struct config cfg;
  char err[BW_ERRLEN] = "";
  const char *path = tu_write(ZONES_TAIL "dqs_key =\n");
  enum bw_err rc = cfg_load(&cfg, path, err);

  (void)state;
  if (rc == BW_OK) {
    char qz[256];
    snprintf(qz, sizeof(qz), "%s", zone_find(&cfg.cat, "ip-a")->query_zone);
    cfg_free(&cfg);
    if (qz[0] == '.')
      fail_msg("empty dqs_key gives query zone '%s'", qz);
  }
}

/* Fixed bug, kept as a regression test: a dqs_key longer than 63 characters is accepted and becomes a DNS
 * label longer than 63 bytes ("<64 chars>.a.dq.example.net"), so every
 * query of every DQS zone fails at run time instead of the config being
 * refused.  (Real DQS keys are 26 characters.) */
static void fixed_dqs_key_longer_than_a_label(void **state) {
  struct config cfg;
  char err[BW_ERRLEN] = "";
  char key[65];
  char text[512];
  enum bw_err rc;

  (void)state;
  memset(key, 'k', 64);
  key[64] = '\0';
  snprintf(text, sizeof(text), ZONES_TAIL "dqs_key = %s\n", key);
  rc = cfg_load(&cfg, tu_write(text), err);
  if (rc == BW_OK) {
    bool valid = qname_valid(zone_find(&cfg.cat, "ip-a")->query_zone);
    cfg_free(&cfg);
    if (!valid)
      fail_msg("a 64-character dqs_key gives an invalid query zone");
  }
}

/* ---- alerts ----------------------------------------------------------- */

static void alert_errors(void **state) {
  static const struct bad_cfg cases[] = {
      {ZONES_TAIL "[alert \"ops\"]\nurl = smtp://m.example\n", BW_EINVAL, 3,
       "[alert \"ops\"] lacks 'type'"},
      {ZONES_TAIL "\n[alert \"hook\"]\ntype = webhook\n", BW_EINVAL, 4,
       "[alert \"hook\"] lacks 'url'"},
      {ZONES_TAIL "[alert \"m\"]\ntype = email\nurl = smtp://m.example\n"
                  "to = a@example.com\n",
       BW_EINVAL, 3, "lacks 'from'"},
      {ZONES_TAIL "[alert \"m\"]\ntype = email\nurl = smtp://m.example\n"
                  "from = b@example.com\n",
       BW_EINVAL, 3, "lacks 'to'"},
      {ZONES_TAIL "[alert \"m\"]\ntype = email\nurl = https://m.example\n"
                  "from = b@example.com\nto = a@example.com\n",
       BW_EINVAL, 5, "url must start with smtp:// or smtps://"},
      {ZONES_TAIL "[alert \"h\"]\ntype = webhook\nurl = smtp://m.example\n",
       BW_EINVAL, 5, "url must start with http:// or https://"},
      /* Found once the type is known, named on the url line. */
      {ZONES_TAIL "[alert \"h\"]\nurl = hooks.example/x\ntype = webhook\n",
       BW_EINVAL, 4, "url must start with"},
      {ZONES_TAIL "[alert \"h\"]\ntype = webhook\nurl = https://h.example\n"
                  "events = listed, bogus\n",
       BW_EINVAL, 6, "events"},
      /* Empty values are mistakes, not defaults (events = would mute the
       * channel, from = would send mail from nobody). */
      {ZONES_TAIL "[alert \"h\"]\ntype = webhook\nurl = https://h.example\n"
                  "events =\n",
       BW_EINVAL, 6, "'events' has no value"},
      {ZONES_TAIL "[alert \"m\"]\ntype = email\nurl = smtp://m.example\n"
                  "from =\nto = a@example.com\n",
       BW_EINVAL, 6, "'from' has no value"},
      {ZONES_TAIL "[alert \"m\"]\ntype = email\nurl = smtp://m.example\n"
                  "from = b@example.com\nto = a@example.com\nto =\n",
       BW_EINVAL, 8, "'to' has no value"},
      {ZONES_TAIL "[alert \"m\"]\ntype = email\nurl = smtp://m.example\n"
                  "from = b@example.com\rBcc: x@example.com\n"
                  "to = a@example.com\n",
       BW_EINVAL, 6, "bad address in 'from'"},
      {ZONES_TAIL "[alert \"a\"]\ntype = webhook\nurl = https://h.example\n"
                  "[alert \"b\"]\ntype = webhook\nurl = https://h.example\n"
                  "[alert \"a\"]\ntype = webhook\nurl = https://h.example\n",
       BW_EINVAL, 9, "[alert \"a\"] is defined twice"},
  };

  (void)state;
  run_bad(cases, N(cases));
}

static void alert_lists(void **state) {
  struct config cfg;

  (void)state;
  load_ok(&cfg, ZONES_TAIL
          "[alert \"m\"]\ntype = email\nurl = smtps://m.example:465\n"
          "from = blwatch@example.com\n"
          "to = a@example.com\n"
          "to = b@example.com, c@example.com\n"
          "starttls = no\n"
          "to = d@example.com\n"
          "[alert \"n\"]\ntype = email\nurl = smtp://m.example\n"
          "from = blwatch@example.com\nto = z@example.com\n");
  assert_int_equal(cfg.nalerts, 2);
  /* Repeated `to` lines accumulate, per alert. */
  assert_string_equal(cfg.alerts[0].to, "a@example.com, b@example.com, "
                                        "c@example.com, d@example.com");
  assert_string_equal(cfg.alerts[1].to, "z@example.com");
  assert_string_equal(cfg.alerts[0].starttls, "no");
  cfg_free(&cfg);
}

/* Fixed bug, kept as a regression test: inside [alert "NAME"] a key that is not a list (url, type, from,
 * ...) may be given twice and the last one silently wins; the same key
 * twice in [poller] is an error ("'interval' is set twice"). */
static void fixed_alert_key_set_twice_is_silent(void **state) {
  (void)state;
  load_fail(ZONES_TAIL "[alert \"h\"]\ntype = webhook\n"
                       "url = https://one.example\n"
                       "url = https://two.example\n",
            BW_EINVAL, 6, "set twice");
}

/* url as config-check prints it (cfg_url_hidden applied). */
static void redact(const char *url, char *out, size_t size) {
  size_t span[2][2], n = cfg_url_hidden(url, span), done = 0, used = 0;

  for (size_t i = 0; i < n; i++) {
    used += (size_t)snprintf(out + used, size - used, "%.*s<hidden>",
                             (int)(span[i][0] - done), url + done);
    done = span[i][1];
  }
  snprintf(out + used, size - used, "%s", url + done);
}

static void url_redaction(void **state) {
  static const struct {
    const char *url, *shown;
  } cases[] = {
      {"smtp://user:urlpass@mail.example.com:587",
       "smtp://user:<hidden>@mail.example.com:587"},
      {"smtps://user@mail.example.com", "smtps://user@mail.example.com"},
      {"smtp://mail.example.com:25/ehlo.example.com?x=1",
       "smtp://mail.example.com:25/ehlo.example.com?<hidden>"},
      /* A password with '/' or '@' in it is still hidden whole. */
      {"smtp://u:pa/ss@w@mail.example.com",
       "smtp://u:<hidden>@mail.example.com"},
      {"https://hooks.slack.com/services/T000/B000/XXXX",
       "https://hooks.slack.com/<hidden>"},
      {"https://tok:en@hooks.example.com:8443/p?q=1",
       "https://<hidden>@hooks.example.com:8443/<hidden>"},
      {"https://hooks.example.com?token=abc",
       "https://hooks.example.com?<hidden>"},
      {"https://hooks.example.com/", "https://hooks.example.com/"},
      {"http://[::1]:8080", "http://[::1]:8080"},
      {"no-scheme-secret", "<hidden>"},
  };
  char once[256], twice[256];

  (void)state;
  for (size_t i = 0; i < N(cases); i++) {
    redact(cases[i].url, once, sizeof(once));
    assert_string_equal(once, cases[i].shown);
    /* Printed, loaded and printed again gives the same text. */
    redact(once, twice, sizeof(twice));
    assert_string_equal(twice, once);
  }
}

/* config-check output of a channel whose url holds secrets. */
static void url_not_printed(void **state) {
  struct config cfg;
  char *text;

  (void)state;
  load_ok(&cfg, ZONES_TAIL
          "[alert \"m\"]\ntype = email\n"
          "url = smtp://user:urlpass@mail.example.com:587\n"
          "from = a@example.com\nto = b@example.com\n"
          "[alert \"h\"]\ntype = webhook\n"
          "url = https://hooks.slack.com/services/T0/B0/tokentoken\n"
          "group_interval = 0\n");
  text = print_to_string(&cfg);
  tu_assert_not_contains(text, "urlpass");
  tu_assert_not_contains(text, "tokentoken");
  tu_assert_contains(text, "smtp://user:<hidden>@mail.example.com:587\n");
  tu_assert_contains(text, "https://hooks.slack.com/<hidden>\n");
  tu_assert_contains(text, "group_interval = 0s\n");
  assert_int_equal(cfg.alerts[1].group_interval_ms, 0);
  free(text);
  cfg_free(&cfg);
}

/* url_file and url_env: read by cfg_load_secrets like the other secrets;
 * config-check names the file or variable, never the URL. */
static void url_from_file_and_env(void **state) {
  const char *f = tu_write("https://hooks.example.com/T9/B9/filetoken\n");
  char text[1024], err[BW_ERRLEN] = "", *printed;
  struct config cfg;

  (void)state;
  snprintf(text, sizeof(text),
           ZONES_TAIL "[alert \"h\"]\ntype = webhook\nurl_file = %s\n"
                      "[alert \"m\"]\ntype = email\nurl_env = BW_UNIT_URL\n"
                      "from = a@example.com\nto = b@example.com\n",
           f);
  setenv("BW_UNIT_URL", "smtp://u:envpass@mail.example.com", 1);
  load_ok(&cfg, text);
  assert_null(cfg.alerts[0].url); /* read only by cfg_load_secrets() */
  assert_int_equal(cfg_load_secrets(&cfg, err), BW_OK);
  unsetenv("BW_UNIT_URL");
  /* One trailing newline is not part of it. */
  assert_string_equal(cfg.alerts[0].url,
                      "https://hooks.example.com/T9/B9/filetoken");
  assert_string_equal(cfg.alerts[1].url, "smtp://u:envpass@mail.example.com");
  printed = print_to_string(&cfg);
  tu_assert_contains(printed, "url_file       = ");
  tu_assert_contains(printed, f);
  tu_assert_contains(printed, "url_env        = BW_UNIT_URL\n");
  tu_assert_not_contains(printed, "filetoken");
  tu_assert_not_contains(printed, "envpass");
  tu_assert_not_contains(printed, "url            =");
  free(printed);
  cfg_free(&cfg);
}

/* A URL read from a file or variable is checked as an inline one, and the
 * error names the key's line but never the URL. */
static void url_source_errors(void **state) {
  static const char *const bad[] = {
      "ftp://user:leakme@example.com/\n",    /* wrong scheme */
      "https://example.com/leakme one\n",    /* a space */
      "https://example.com/leakme\nmore\n",  /* two lines */
      "\n",                                  /* empty */
  };
  char text[1024], err[BW_ERRLEN];
  struct config cfg;
  const char *conf;

  (void)state;
  for (size_t i = 0; i < N(bad); i++) {
    const char *f = tu_write(bad[i]);
    snprintf(text, sizeof(text),
             ZONES_TAIL "[alert \"h\"]\ntype = webhook\n\nurl_file = %s\n",
             f);
    conf = load_ok(&cfg, text);
    err[0] = '\0';
    assert_int_not_equal(cfg_load_secrets(&cfg, err), BW_OK);
    tu_assert_err(err, conf, 6, "url");
    tu_assert_not_contains(err, "leakme");
    cfg_free(&cfg);
  }
  conf = load_ok(&cfg, ZONES_TAIL "[alert \"h\"]\ntype = webhook\n"
                                  "url_env = BW_UNIT_UNSET_URL\n");
  unsetenv("BW_UNIT_UNSET_URL");
  err[0] = '\0';
  assert_int_not_equal(cfg_load_secrets(&cfg, err), BW_OK);
  tu_assert_err(err, conf, 5, "BW_UNIT_UNSET_URL is not set");
  cfg_free(&cfg);
}

/* One source for the URL and for each secret: two are an error naming
 * the later line (an environment variable used to win silently). */
static void one_source_each(void **state) {
  static const struct bad_cfg cases[] = {
      {ZONES_TAIL "[alert \"h\"]\ntype = webhook\nurl = https://h.example\n"
                  "url_file = /x\n",
       BW_EINVAL, 6, "url_file and url (line 5) are both set"},
      {ZONES_TAIL "[alert \"h\"]\ntype = webhook\nurl_env = U\n"
                  "url_file = /x\n",
       BW_EINVAL, 6, "url_file and url_env (line 5) are both set"},
      {ZONES_TAIL "[alert \"h\"]\ntype = webhook\nurl_env = U\n"
                  "url = https://h.example\n",
       BW_EINVAL, 6, "url and url_env (line 5) are both set"},
      {ZONES_TAIL "[alert \"m\"]\ntype = email\nurl = smtp://m.example\n"
                  "from = a@example.com\nto = b@example.com\n"
                  "password_env = P\npassword_file = /p\n",
       BW_EINVAL, 9, "password_file and password_env (line 8)"},
      {ZONES_TAIL "[alert \"h\"]\ntype = webhook\nurl = https://h.example\n"
                  "secret_file = /s\nsecret_env = S\n",
       BW_EINVAL, 7, "secret_env and secret_file (line 6)"},
      {ZONES_TAIL "[alert \"h\"]\ntype = webhook\nurl_file = /x\n"
                  "url_file = /y\n",
       BW_EINVAL, 6, "'url_file' is set twice"},
      {ZONES_TAIL "[alert \"h\"]\ntype = webhook\nurl_env =\n", BW_EINVAL, 5,
       "'url_env' has no value"},
      {ZONES_TAIL "[alert \"h\"]\ntype = webhook\n", BW_EINVAL, 3,
       "lacks 'url' (or url_file or url_env)"},
      {ZONES_TAIL "[alert \"h\"]\ntype = webhook\nurl = https://h.example/a "
                  "b\n",
       BW_EINVAL, 5, "space"},
  };

  (void)state;
  run_bad(cases, N(cases));
}

static void group_interval_key(void **state) {
  static const struct bad_cfg cases[] = {
      {ZONES_TAIL "[alert \"h\"]\ntype = webhook\nurl = https://h.example\n"
                  "group_interval = 2d\n",
       BW_ERANGE, 6, "out of range"},
      {ZONES_TAIL "[alert \"h\"]\ntype = webhook\nurl = https://h.example\n"
                  "group_interval = 0\ngroup_interval = 1m\n",
       BW_EINVAL, 7, "'group_interval' is set twice"},
  };
  struct config cfg;

  (void)state;
  run_bad(cases, N(cases));
  load_ok(&cfg, ZONES_TAIL "[alert \"h\"]\ntype = webhook\n"
                           "url = https://h.example\ngroup_interval = 90s\n");
  assert_int_equal(cfg.alerts[0].group_interval_ms, 90 * 1000);
  cfg_free(&cfg);
}

/* ---- resolver servers ------------------------------------------------- */

static void servers_in_config(void **state) {
  static const struct {
    const char *value;
    const char *norm;
  } good[] = {
      {"127.0.0.1:5353, [::1]:53", "127.0.0.1:5353,[::1]:53"},
      {"192.0.2.53", "192.0.2.53:53"},
      {"::1", "[::1]:53"},
      {"192.0.2.1 192.0.2.2:54\t[2001:db8::53]",
       "192.0.2.1:53,192.0.2.2:54,[2001:db8::53]:53"},
      {"", ""},
  };
  struct config cfg;
  char text[512];

  (void)state;
  for (size_t i = 0; i < N(good); i++) {
    snprintf(text, sizeof(text), "[resolver]\nservers = %s\n" ZONES_TAIL,
             good[i].value);
    load_ok(&cfg, text);
    assert_string_equal(cfg.servers, good[i].norm);
    cfg_free(&cfg);
  }
  load_fail("[resolver]\ntimeout = 2s\nservers = 127.0.0.1, dns.example.com\n",
            BW_EINVAL, 3, "servers: server 'dns.example.com' is not an IP");
  load_fail("[resolver]\nservers = 127.0.0.1:0\n", BW_EINVAL, 2,
            "bad port");
  load_fail("[resolver]\n\n\nservers = [::1\n", BW_EINVAL, 4, "bad server");
}

static void servers_normalize(void **state) {
  static const struct {
    const char *in;
    const char *out;
  } good[] = {
      {"", ""},
      {" ,\t, ", ""},
      {"127.0.0.1:5353, [::1]:53", "127.0.0.1:5353,[::1]:53"},
      {"127.0.0.1", "127.0.0.1:53"},
      {"192.0.2.1:65535", "192.0.2.1:65535"},
      {"::1", "[::1]:53"},
      {"[::1]", "[::1]:53"},
      {"2001:DB8::53", "[2001:DB8::53]:53"},
      {"[2001:db8::53]:5300,192.0.2.7", "[2001:db8::53]:5300,192.0.2.7:53"},
  };
  static const char *bad[] = {
      "dns.example.com", "localhost",       "127.0.0.1:0",
      "127.0.0.1:65536", "127.0.0.1:x",     "127.0.0.1:",
      "[::1",            "[::1]x",          "[::1]:",
      "[::1]:99999",     "300.1.1.1",       "[dns.example]:53",
      "1.2.3.4:53:53",   "127.0.0.1:-1",
  };
  char err[BW_ERRLEN];
  char *out;

  (void)state;
  for (size_t i = 0; i < N(good); i++) {
    out = NULL;
    if (dns_servers_normalize(good[i].in, &out, err) != BW_OK)
      fail_msg("'%s': %s", good[i].in, err);
    assert_string_equal(out, good[i].out);
    free(out);
  }
  for (size_t i = 0; i < N(bad); i++) {
    out = NULL;
    err[0] = '\0';
    if (dns_servers_normalize(bad[i], &out, err) != BW_EINVAL) {
      free(out);
      fail_msg("'%s' should be refused", bad[i]);
    }
    assert_null(out);
    assert_true(err[0] != '\0');
  }
}

static void servers_too_many(void **state) {
  static const char one[] = "[2001:db8:ffff:ffff::53]:5353,";
  char in[4096];
  char err[BW_ERRLEN] = "";
  char *out = NULL;
  size_t used = 0;

  (void)state;
  for (int i = 0; i < 100; i++)
    used += (size_t)snprintf(in + used, sizeof(in) - used, "%s", one);
  assert_true(used < sizeof(in));
  assert_int_equal(dns_servers_normalize(in, &out, err), BW_ERANGE);
  assert_null(out);
  tu_assert_contains(err, "too many servers");
}

static void status_names(void **state) {
  (void)state;
  assert_string_equal(dns_status_name(ARES_SUCCESS), "ok");
  assert_string_equal(dns_status_name(ARES_ENOTFOUND), "NXDOMAIN");
  assert_string_equal(dns_status_name(ARES_ENODATA), "no data");
  assert_string_equal(dns_status_name(ARES_ETIMEOUT), "timeout");
  assert_string_equal(dns_status_name(ARES_ESERVFAIL), "SERVFAIL");
  assert_string_equal(dns_status_name(ARES_EREFUSED), "REFUSED");
  assert_string_equal(dns_status_name(ARES_EFORMERR), "FORMERR");
  assert_string_equal(dns_status_name(ARES_ENOTIMP), "NOTIMP");
  assert_string_equal(dns_status_name(ARES_ECONNREFUSED),
                      "connection refused");
  assert_string_equal(dns_status_name(ARES_EBADRESP), "malformed answer");
  assert_string_equal(dns_status_name(ARES_ECANCELLED), "cancelled");
  assert_string_equal(dns_status_name(ARES_EDESTRUCTION), "cancelled");
  /* Anything else still gives a word. */
  assert_non_null(dns_status_name(ARES_ENOMEM));
  assert_true(dns_status_name(ARES_ENOMEM)[0] != '\0');
  assert_non_null(dns_status_name(12345));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(defaults_without_file),
      cmocka_unit_test(defaults_with_empty_file),
      cmocka_unit_test(packaged_example_loads),
      cmocka_unit_test(every_key),
      cmocka_unit_test(print_round_trips),
      cmocka_unit_test(fixed_print_subsecond_duration),
      cmocka_unit_test(durations_and_bounds),
      cmocka_unit_test(syntax_and_key_errors),
      cmocka_unit_test(value_errors),
      cmocka_unit_test(hostile_files),
      cmocka_unit_test(max_range_after_ranges),
      cmocka_unit_test(target_errors),
      cmocka_unit_test(target_file_errors),
      cmocka_unit_test(zone_selection),
      cmocka_unit_test(zone_selection_errors),
      cmocka_unit_test(catalog_errors),
      cmocka_unit_test(extra_files),
      cmocka_unit_test(dqs_key_from_file),
      cmocka_unit_test(dqs_key_from_environment),
      cmocka_unit_test(dqs_key_validation),
      cmocka_unit_test(fixed_dqs_key_error_lacks_line),
      cmocka_unit_test(fixed_empty_dqs_key),
      cmocka_unit_test(fixed_dqs_key_longer_than_a_label),
      cmocka_unit_test(alert_errors),
      cmocka_unit_test(alert_lists),
      cmocka_unit_test(fixed_alert_key_set_twice_is_silent),
      cmocka_unit_test(url_redaction),
      cmocka_unit_test(url_not_printed),
      cmocka_unit_test(url_from_file_and_env),
      cmocka_unit_test(url_source_errors),
      cmocka_unit_test(one_source_each),
      cmocka_unit_test(group_interval_key),
      cmocka_unit_test(servers_in_config),
      cmocka_unit_test(servers_normalize),
      cmocka_unit_test(servers_too_many),
      cmocka_unit_test(status_names),
  };

  tu_init();
  return cmocka_run_group_tests(tests, setup, teardown);
}
