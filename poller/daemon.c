/* The poller: loads the config, keeps the store's targets in step with it,
 * runs a cycle every interval, reloads on SIGHUP and stops on SIGTERM. */
#include "daemon.h"

#include <ares.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "cli.h"
#include "cycle.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"

/* How long in-flight queries get after SIGTERM. */
#define STOP_GRACE_MS 3000
/* How long `run --once` waits for its notices (SPEC). */
#define ONCE_NOTICE_MS 10000

static const char run_usage[] =
    "usage: blwatch [-c FILE] run [--once]\n"
    "\n"
    "Checks every target against every enabled zone each interval, then\n"
    "its sender identity (PTR, FCrDNS, MX, SPF, DMARC; [identity] enabled\n"
    "= no turns that off), keeps the state and history in the database\n"
    "and queues notices.  Runs in the foreground and logs to stderr.\n"
    "SIGHUP re-reads the config (a broken one is reported and the running\n"
    "one stays); SIGTERM stops.\n"
    "\n"
    "  --once    run one cycle without pacing, wait for confirmations,\n"
    "            then exit: 0 cycle completed, 78 config error, 1 failure\n";

struct host_lookup {
  struct dns_request dns;
  struct daemon *d;
  const struct target_spec *spec;
};

struct daemon {
  uv_loop_t loop;
  char *config_path;
  struct config cfg;
  struct config next_cfg; /* a reload waiting for the cycle to end */
  bool have_next;
  struct store *store;
  struct recorder rec;
  struct confirmer *conf;
  struct alert_relay *relay;
  struct dns_engine *engine;
  struct cycle *cycle;
  int64_t cycle_id;
  bool once;
  bool stopping;
  bool failed;
  bool announce;    /* the next cycle logs stretched zones */
  bool new_targets; /* a reload added targets: check them promptly */
  bool part_only_new;
  bool finishing;
  int64_t resume_after; /* an interrupted cycle goes on after this id */
  struct store_cycle acc; /* the figures of the cycle's parts so far */
  unsigned hosts_pending;
  bool hosts_ok;
  uv_signal_t sig[3];
  uv_timer_t next_timer;
  uv_timer_t stop_timer;
  uint64_t last_start_ms;
  struct metrics *metrics;            /* with [http] listen only */
  struct metrics_zone **zone_metrics; /* per enabled zone, for cycles */
  struct http_server *http;
};

static int64_t now_s(void) { return time(NULL); }

static struct dns_options dns_opts(const struct config *cfg) {
  struct dns_options o = {cfg->servers, (unsigned)cfg->timeout_ms,
                          (unsigned)cfg->tries, (unsigned)cfg->concurrency,
                          (unsigned)cfg->rate};
  return o;
}

/* ---- keeping the store's targets in step with the config -------------- */

static bool put_target(struct daemon *d, const char *kind, const char *key,
                       const char *label, const char *source, int64_t gen) {
  char err[BW_ERRLEN];
  int64_t id;

  if (store_target_put(d->store, kind, key, label, source, gen, now_s(), &id,
                       err) != BW_OK) {
    log_err("%s", err);
    return false;
  }
  return true;
}

/* Stages the addresses or the domain of one config target. */
static enum bw_err stage_spec(struct daemon *d, const struct target_spec *t,
                              char *err) {
  char key[64];
  uint8_t addr[16];
  bool v6 = t->kind == TARGET_IP6;
  enum bw_err rc = BW_OK;

  if (t->kind == TARGET_DOMAIN)
    return store_sync_add(d->store, "domain", t->name, t->label, err);
  for (uint64_t i = 0; rc == BW_OK && i < target_count(t); i++) {
    target_nth(t, i, addr);
    rc = store_sync_add(d->store, v6 ? "ip6" : "ip4",
                        target_addr_str(addr, v6, key), t->label, err);
  }
  return rc;
}

static bool is_range(const struct target_spec *t) {
  return (t->kind == TARGET_IP4 || t->kind == TARGET_IP6) &&
         target_count(t) > 1;
}

struct stage_pass {
  struct daemon *d;
  bool ranges; /* this pass stages the ranges, the next the rest */
};

static enum bw_err stage_pass_spec(void *arg, const struct target_spec *t,
                                   char *err) {
  struct stage_pass *p = arg;

  return is_range(t) == p->ranges ? stage_spec(p->d, t, err) : BW_OK;
}

/* Adds new targets, updates labels, retires what left the config; rows
 * that did not change are not written. */
static bool sync_targets(struct daemon *d, const struct config *cfg) {
  const char **hosts =
      calloc(cfg->ntargets + cfg->nfile_hosts + 1, sizeof(*hosts));
  char err[BW_ERRLEN] = "out of memory";
  const struct target_spec *h;
  size_t nhosts = 0, pos = 0;
  int64_t added = 0, retired = 0;
  enum bw_err rc = hosts == NULL ? BW_ENOMEM : store_begin(d->store, err);

  while ((h = cfg_next_host(cfg, &pos)) != NULL)
    if (hosts != NULL)
      hosts[nhosts++] = h->name;
  if (rc == BW_OK)
    rc = store_sync_start(d->store, "config", now_s(), err);
  /* Ranges first, so that the label of an address listed on its own wins
   * over the label of a range that contains it. */
  for (int pass = 0; rc == BW_OK && pass < 2; pass++) {
    struct stage_pass p = {d, pass == 0};
    rc = cfg_each_target(cfg, stage_pass_spec, &p, err);
  }
  if (rc == BW_OK)
    rc = store_sync_finish(d->store, &added, &retired, err);
  if (rc == BW_OK)
    rc = store_hosts_retire_except(d->store, hosts, nhosts, now_s(), err);
  if (rc == BW_OK)
    rc = store_commit(d->store, err);
  free(hosts);
  if (rc != BW_OK) {
    log_err("cannot store the targets: %s", err);
    if (store_in_transaction(d->store))
      store_rollback(d->store);
    return false;
  }
  if (retired > 0)
    log_notice("%lld targets retired (their history stays)",
               (long long)retired);
  d->new_targets = added > 0;
  return true;
}

/* ---- cycles ------------------------------------------------------------ */

static void begin_scan(struct daemon *d);
static void schedule_next(struct daemon *d);
static void on_cycle_done(void *arg);
static void finish(struct daemon *d);

static bool definitive(int status) {
  return status == ARES_SUCCESS || status == ARES_ENOTFOUND ||
         status == ARES_ENODATA;
}

/* Stores the addresses a host name resolved to this cycle. */
static void on_host(struct dns_request *req) {
  struct host_lookup *h = (struct host_lookup *)req;
  struct daemon *d = h->d;
  const struct target_spec *t = h->spec;
  const char *label = t->label ? t->label : t->name;
  char source[QNAME_MAX + 8], key[64];
  bool v6 = req->type == DNS_AAAA;

  snprintf(source, sizeof(source), "host:%s", t->name);
  if (req->status == ARES_ECANCELLED) {
    free(h);
    return;
  }
  if (!definitive(req->status)) {
    log_warn("host %s: %s lookup failed (%s); its addresses stay as they "
             "were", t->name, v6 ? "AAAA" : "A", dns_status_name(req->status));
    d->hosts_ok = false;
  }
  for (unsigned i = 0; req->status == ARES_SUCCESS && i < req->naddr; i++) {
    uint8_t a[16] = {0};
    if (v6)
      memcpy(a, req->u.aaaa[i], 16);
    else
      for (int b = 0; b < 4; b++)
        a[b] = (uint8_t)(req->u.a[i] >> (24 - 8 * b));
    put_target(d, v6 ? "ip6" : "ip4", target_addr_str(a, v6, key), label,
               source, d->cycle_id);
  }
  free(h);
  if (--d->hosts_pending == 0)
    begin_scan(d);
}

/* Retires the addresses each host no longer resolves to, when every
 * lookup gave a real answer: a timeout is never read as a removal. */
static void retire_host_addresses(struct daemon *d) {
  char source[QNAME_MAX + 8], err[BW_ERRLEN];

  const struct target_spec *h;
  size_t pos = 0;

  while (d->hosts_ok && (h = cfg_next_host(&d->cfg, &pos)) != NULL) {
    snprintf(source, sizeof(source), "host:%s", h->name);
    if (store_targets_retire(d->store, source, d->cycle_id, now_s(), NULL,
                             err) != BW_OK)
      log_err("%s", err);
  }
}

static unsigned resolve_hosts(struct daemon *d) {
  const struct target_spec *spec;
  unsigned n = 0;
  size_t pos = 0;

  d->hosts_ok = true;

  while ((spec = cfg_next_host(&d->cfg, &pos)) != NULL) {
    for (int v6 = 0; v6 < 2; v6++) {
      struct host_lookup *h = calloc(1, sizeof(*h));
      if (h == NULL)
        continue;
      h->d = d;
      h->spec = spec;
      h->dns.type = v6 ? DNS_AAAA : DNS_A;
      h->dns.done = on_host;
      snprintf(h->dns.name, sizeof(h->dns.name), "%s", h->spec->name);
      dns_submit(d->engine, &h->dns);
      n++;
    }
  }
  d->hosts_pending = n;
  if (n > 0)
    dns_pump(d->engine);
  return n;
}

/* A fresh engine per cycle when nothing is in flight: the source port
 * changes and a reload's resolver settings take effect. */
static bool renew_engine(struct daemon *d) {
  struct dns_options o = dns_opts(&d->cfg);
  char err[BW_ERRLEN];

  if (d->engine != NULL && dns_pending(d->engine) > 0)
    return true;
  if (d->engine != NULL)
    dns_close(d->engine);
  d->engine = NULL;
  if (dns_open(&d->loop, &o, &d->engine, err) != BW_OK) {
    log_err("%s", err);
    return false;
  }
  confirm_use(d->conf, d->engine, &d->cfg);
  return true;
}

static void apply_reload(struct daemon *d);

/* Starts a pass over the targets with id > after (only_new: only those
 * never checked, unpaced).  A full cycle's parts are paced to end one
 * interval after the cycle began. */
static void begin_part(struct daemon *d, int64_t after, bool only_new) {
  struct cycle_opts o = {.id = d->cycle_id, .after_id = after,
                         .only_new = only_new, .announce = d->announce,
                         .metrics = d->zone_metrics};
  char err[BW_ERRLEN];

  if (d->stopping) {
    finish(d);
    return;
  }
  if (d->have_next) /* nothing holds the old config now */
    apply_reload(d);
  if (!d->once && !only_new)
    o.pace_until_ms = d->last_start_ms + d->cfg.interval_ms;
  d->announce = false;
  d->part_only_new = only_new;
  if (cycle_start(&d->loop, d->engine, d->store, &d->rec, d->conf, &d->cfg,
                  &o, on_cycle_done, d, &d->cycle, err) != BW_OK) {
    log_err("%s", err);
    d->failed = true;
    finish(d);
  }
}

/* Host names resolved: the cycle's first part begins.  Targets never
 * checked (a first start, targets added while blwatch was stopped) are
 * checked at once, unpaced, before the paced cycle: nobody should wait
 * most of an interval to learn that a new server is listed. */
static void begin_scan(struct daemon *d) {
  retire_host_addresses(d);
  if (!d->once && d->new_targets) {
    d->new_targets = false;
    d->resume_after = 0;
    begin_part(d, 0, true);
    return;
  }
  begin_part(d, 0, false);
}

static void start_cycle(struct daemon *d) {
  char err[BW_ERRLEN];

  d->last_start_ms = uv_now(&d->loop);
  memset(&d->acc, 0, sizeof(d->acc));
  d->resume_after = -1;
  if (!renew_engine(d) || store_begin(d->store, err) != BW_OK ||
      store_cycle_start(d->store, now_s(), &d->cycle_id, err) != BW_OK ||
      store_commit(d->store, err) != BW_OK) {
    log_err("cannot start a cycle%s%s", d->engine ? ": " : "",
            d->engine ? err : "");
    if (store_in_transaction(d->store))
      store_rollback(d->store);
    d->failed = true;
    finish(d);
    return;
  }
  if (resolve_hosts(d) == 0)
    begin_scan(d);
}

static void notices_done(void *arg) { finish(arg); }

static void on_notice_wait(uv_timer_t *t) {
  struct daemon *d = t->data;

  log_warn("notices not all delivered within %d s; they stay queued",
           ONCE_NOTICE_MS / 1000);
  finish(d);
}

/* After a reload or a part: check new targets first, then go on with the
 * interrupted cycle, else wait for the next one. */
static void continue_work(struct daemon *d) {
  int64_t after = d->resume_after;

  if (d->stopping || d->cycle != NULL)
    return;
  if (d->have_next)
    apply_reload(d);
  if (d->new_targets) {
    d->new_targets = false;
    begin_part(d, 0, true);
  } else if (after >= 0) {
    d->resume_after = -1;
    begin_part(d, after, false);
  } else {
    schedule_next(d);
  }
}

/* The full cycle's confirmations are settled: deliver, then wait. */
static void after_confirmations(void *arg) {
  struct daemon *d = arg;

  record_commit(&d->rec);
  if (d->stopping) {
    finish(d);
    return;
  }
  if (d->once) {
    /* Deliver what the cycle produced, waiting at most 10 s: what is left
     * stays in the outbox for the next run. */
    uv_timer_start(&d->next_timer, on_notice_wait, ONCE_NOTICE_MS, 0);
    alert_on_idle(d->relay, now_s() + ONCE_NOTICE_MS / 1000, notices_done, d);
    return;
  }
  alert_kick(d->relay, true); /* a cycle's events go out together */
  continue_work(d);
}

static void add_figures(struct store_cycle *acc, const struct store_cycle *f) {
  acc->targets += f->targets;
  acc->queries += f->queries;
  for (int i = 0; i < 6; i++)
    acc->counts[i] += f->counts[i];
}

static void log_cycle(const struct store_cycle *f, const char *how) {
  log_info("cycle %lld %s: %lld targets, %lld queries; %lld listed, %lld "
           "clear, %lld unknown",
           (long long)f->id, how, (long long)f->targets,
           (long long)f->queries, (long long)f->counts[ZR_LISTED],
           (long long)f->counts[ZR_CLEAR],
           (long long)(f->counts[ZR_REFUSED] + f->counts[ZR_BOGUS] +
                       f->counts[ZR_ERROR] + f->counts[ZR_UNTRUSTED]));
}

/* The enabled zones whose stored health makes their answers unknown
 * (anything but ok or untested), up to three of them named in names. */
static unsigned unknown_zones(struct daemon *d, char *names, size_t size) {
  struct store_zone z;
  unsigned n = 0;
  size_t len = 0;
  bool found;
  char err[BW_ERRLEN];

  names[0] = '\0';
  for (size_t i = 0; i < d->cfg.cat.n; i++) {
    if (!d->cfg.enabled[i])
      continue;
    if (store_zone_get(d->store, d->cfg.cat.zones[i].id, &z, &found, err) !=
        BW_OK) {
      log_err("%s", err);
      continue;
    }
    if (strcmp(z.health, "ok") == 0 || strcmp(z.health, "untested") == 0)
      continue;
    if (n++ < 3 && len < size)
      len += (size_t)snprintf(names + len, size - len, "%s%s %s",
                              len ? ", " : "", z.list, z.health);
  }
  if (n > 3 && len < size)
    snprintf(names + len, size - len, ", ...");
  return n;
}

/* STATUS= for systemctl status: the last cycle in one line, e.g.
 * "cycle 12: 256 targets, 3 listed, 1 of 23 zones unknown (x dead)". */
static void notify_status(struct daemon *d) {
  struct store_cycle last, *f = &last;
  bool found = false;
  char names[200], err[BW_ERRLEN];
  unsigned unknown;

  if (store_cycle_last(d->store, &last, &found, err) != BW_OK)
    log_err("%s", err);
  if (!found) {
    notify_send("STATUS=first cycle running");
    return;
  }
  unknown = unknown_zones(d, names, sizeof(names));
  notify_send("STATUS=cycle %lld: %lld targets, %lld listed, %u of %zu zones "
              "unknown%s%s%s",
              (long long)f->id, (long long)f->targets,
              (long long)f->counts[ZR_LISTED], unknown, d->cfg.nenabled,
              unknown ? " (" : "", names, unknown ? ")" : "");
}

/* The start-up line says where the database is (in full: a relative
 * path depends on the folder blwatch was started in) and, on a terminal
 * or when there is nothing to watch, how to add targets. */
static void log_started(struct daemon *d) {
  const char *slash = strrchr(d->cfg.database, '/');
  char *copy = strdup(d->cfg.database);
  char *dir = copy ? realpath(dirname(copy), NULL) : NULL;
  unsigned long long n = cfg_target_lines(&d->cfg);

  if (dir != NULL)
    log_notice("started: %llu config targets, %zu of %zu zones, database "
               "%s%s%s", n, d->cfg.nenabled, d->cfg.cat.n, dir,
               strcmp(dir, "/") ? "/" : "", slash ? slash + 1 : d->cfg.database);
  else
    log_notice("started: %llu config targets, %zu of %zu zones, database %s",
               n, d->cfg.nenabled, d->cfg.cat.n, d->cfg.database);
  free(dir);
  free(copy);
  if (n == 0)
    log_warn("no targets: add ip =, domain = or host = lines under "
             "[targets] in %s, then reload (SIGHUP)", d->config_path);
  else if (isatty(2))
    log_notice("to watch more: add ip =, domain = or host = lines under "
               "[targets] in %s, then kill -HUP %ld", d->config_path,
               (long)getpid());
}

static void on_cycle_done(void *arg) {
  struct daemon *d = arg;
  struct store_cycle fig;
  bool interrupted = cycle_interrupted(d->cycle), only_new = d->part_only_new;
  int64_t last = cycle_last_id(d->cycle);
  char err[BW_ERRLEN];

  cycle_figures(d->cycle, &fig);
  cycle_free(d->cycle);
  d->cycle = NULL;
  if (!only_new)
    add_figures(&d->acc, &fig);
  if (d->stopping || interrupted) {
    record_commit(&d->rec);
    if (d->stopping) {
      log_cycle(&fig, "stopped");
      confirm_on_idle(d->conf, after_confirmations, d);
      return;
    }
    /* Stopped for a reload: the rest of the cycle comes after it. */
    if (!only_new)
      d->resume_after = last;
    else
      d->new_targets = true;
    continue_work(d);
    return;
  }
  if (only_new) {
    record_commit(&d->rec);
    continue_work(d);
    return;
  }
  d->acc.id = d->cycle_id;
  d->acc.ended = now_s();
  if (store_cycle_end(d->store, &d->acc, err) != BW_OK)
    log_err("%s", err);
  if (record_commit(&d->rec) && !d->rec.failed)
    log_cycle(&d->acc, "done");
  else
    log_cycle(&d->acc, "done, but not all of it could be stored (the next "
                       "cycle records the rest)");
  notify_status(d);
  confirm_on_idle(d->conf, after_confirmations, d);
}

static void on_next_timer(uv_timer_t *t) { start_cycle(t->data); }

/* The next cycle starts one interval after the last one started. */
static void schedule_next(struct daemon *d) {
  uint64_t due = d->last_start_ms + d->cfg.interval_ms;
  uint64_t now = uv_now(&d->loop);

  if (d->stopping || d->cycle != NULL || d->hosts_pending > 0)
    return;
  uv_timer_start(&d->next_timer, on_next_timer, due <= now ? 0 : due - now,
                 0);
}

/* ---- reload and stop --------------------------------------------------- */

/* The counters of the running config's zones, for the cycles' results.
 * Called when no cycle runs; without them the counters just stop. */
static void map_zone_metrics(struct daemon *d) {
  struct metrics_zone **map;
  char err[BW_ERRLEN];

  if (d->metrics == NULL)
    return;
  map = realloc(d->zone_metrics, (d->cfg.nenabled + 1) * sizeof(*map));
  if (map == NULL || metrics_zones(d->metrics, &d->cfg, map, err) != BW_OK) {
    log_err("http: no query counters: out of memory");
    free(map != NULL ? map : d->zone_metrics);
    map = NULL;
  }
  d->zone_metrics = map;
}

static bool differ(const char *a, const char *b) {
  return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

static void apply_reload(struct daemon *d) {
  if (differ(d->cfg.http_listen, d->next_cfg.http_listen) ||
      differ(d->cfg.http_token, d->next_cfg.http_token))
    log_warn("[http] changed in the config: that needs a restart; the "
             "endpoint stays as it was");
  if (strcmp(d->cfg.database, d->next_cfg.database) != 0)
    log_warn("database moved to %s in the config: that needs a restart; "
             "still using %s", d->next_cfg.database, d->cfg.database);
  if (!sync_targets(d, &d->next_cfg)) {
    log_err("reload not applied; the running config stays");
    cfg_free(&d->next_cfg);
    d->have_next = false;
    return;
  }
  char *db = d->cfg.database;
  http_lock(d->http); /* the HTTP thread reads d->cfg */
  d->cfg.database = NULL;
  cfg_free(&d->cfg);
  d->cfg = d->next_cfg;
  free(d->cfg.database);
  d->cfg.database = db;
  http_unlock(d->http);
  d->have_next = false;
  map_zone_metrics(d);
  d->announce = true;
  if (d->engine != NULL)
    confirm_use(d->conf, d->engine, &d->cfg);
  log_notice("config reloaded: %llu targets, %zu zones",
             (unsigned long long)cfg_target_lines(&d->cfg),
             d->cfg.nenabled);
}

static void reload(struct daemon *d) {
  struct config fresh;
  char err[BW_ERRLEN];

  notify_reloading();
  if (cfg_load(&fresh, d->config_path, err) != BW_OK ||
      cfg_load_secrets(&fresh, err) != BW_OK) {
    if (fresh.path != NULL)
      cfg_free(&fresh);
    log_err("reload failed, the running config stays: %s", err);
    notify_send("READY=1\nSTATUS=reload failed: %s", err);
    return;
  }
  /* The new config is valid; it takes effect within seconds.  The status
   * line goes back to the last cycle (it may say a reload failed). */
  notify_send("READY=1");
  notify_status(d);
  if (d->have_next)
    cfg_free(&d->next_cfg);
  d->next_cfg = fresh;
  d->have_next = true;
  /* A running part holds pointers into the running config: it is stopped
   * and the swap happens when its queries are in (within seconds); the
   * cycle then goes on where it stopped.  Host lookups in flight are as
   * short, and the part that follows them applies the reload. */
  if (d->cycle != NULL)
    cycle_stop(d->cycle);
  else if (d->hosts_pending == 0)
    continue_work(d);
}

static void on_stop_timer(uv_timer_t *t) {
  struct daemon *d = t->data;

  log_warn("queries still unanswered after %d ms; cancelling them",
           STOP_GRACE_MS);
  finish(d);
}

static void on_signal(uv_signal_t *h, int signum) {
  struct daemon *d = h->data;

  if (signum == SIGHUP) {
    log_notice("SIGHUP: reloading %s", d->config_path);
    reload(d);
    return;
  }
  if (d->stopping) {
    finish(d); /* a second signal: stop now */
    return;
  }
  log_notice("%s: stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
  notify_send("STOPPING=1");
  d->stopping = true;
  uv_timer_stop(&d->next_timer);
  if (d->cycle == NULL && d->hosts_pending == 0) {
    finish(d);
    return;
  }
  if (d->cycle != NULL)
    cycle_stop(d->cycle);
  uv_timer_start(&d->stop_timer, on_stop_timer, STOP_GRACE_MS, 0);
}

/* Runs from a timer callback, so no engine or scan frame is on the stack:
 * closing the engine cancels what is in flight while the cycle still
 * exists to receive the cancellations. */
static void on_finish(uv_timer_t *t) {
  struct daemon *d = t->data;

  if (d->engine != NULL)
    dns_close(d->engine);
  d->engine = NULL;
  if (d->cycle != NULL) {
    cycle_free(d->cycle);
    d->cycle = NULL;
  }
  /* For run --once, a write that failed at any point (a full disk at the
   * last commit included) makes the run a failure: nothing of it may be
   * missing silently.  A daemon fails only if its last commit does. */
  if (!record_commit(&d->rec) || (d->once && d->rec.failed))
    d->failed = true;
  alert_close(d->relay); /* transfers in flight stay in the outbox */
  d->relay = NULL;
  uv_stop(&d->loop);
}

static void finish(struct daemon *d) {
  if (d->finishing)
    return;
  d->finishing = true;
  uv_timer_stop(&d->next_timer);
  uv_timer_start(&d->stop_timer, on_finish, 0, 0);
}

/* ---- setup and teardown ------------------------------------------------ */

static void setup_handles(struct daemon *d) {
  static const int signums[] = {SIGHUP, SIGTERM, SIGINT};

  uv_timer_init(&d->loop, &d->next_timer);
  uv_timer_init(&d->loop, &d->stop_timer);
  d->next_timer.data = d;
  d->stop_timer.data = d;
  for (int i = 0; i < 3; i++) {
    uv_signal_init(&d->loop, &d->sig[i]);
    d->sig[i].data = d;
    uv_signal_start(&d->sig[i], on_signal, signums[i]);
    uv_unref((uv_handle_t *)&d->sig[i]);
  }
  signal(SIGPIPE, SIG_IGN);
}

static void close_handles(struct daemon *d) {
  for (int i = 0; i < 3; i++)
    uv_close((uv_handle_t *)&d->sig[i], NULL);
  uv_close((uv_handle_t *)&d->next_timer, NULL);
  uv_close((uv_handle_t *)&d->stop_timer, NULL);
  record_close(&d->rec);
  confirm_free(d->conf);
  alert_close(d->relay);
  d->relay = NULL;
  uv_run(&d->loop, UV_RUN_DEFAULT);
  uv_loop_close(&d->loop);
}

static int parse_args(struct daemon *d, int argc, char **argv) {
  static const struct option longopts[] = {
      {"once", no_argument, NULL, 'o'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int c;

  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (c == 'o') {
      d->once = true;
    } else if (c == 'h') {
      fputs(run_usage, stdout);
      return -1;
    } else {
      fputs(run_usage, stderr);
      return EX_USAGE;
    }
  }
  if (optind < argc) {
    fputs(run_usage, stderr);
    return EX_USAGE;
  }
  return 0;
}

static int open_state(struct daemon *d) {
  char err[BW_ERRLEN];

  if (store_open(d->cfg.database, 0, &d->store, err) != BW_OK) {
    log_err("%s", err);
    return 1;
  }
  if (confirm_new(&d->loop, &d->rec, &d->conf, err) != BW_OK) {
    log_err("%s", err);
    return 1;
  }
  record_init(&d->rec, &d->loop, d->store, &d->cfg);
  if (alert_open(&d->loop, d->store, &d->rec, &d->cfg, &d->relay, err) !=
      BW_OK) {
    log_err("%s", err);
    return 1;
  }
  if (d->once)
    alert_hold(d->relay); /* run --once: one notice per channel per cycle */
  return sync_targets(d, &d->cfg) ? 0 : 1;
}

/* The [http] endpoint, on its own thread, once the database exists. */
static int open_http(struct daemon *d) {
  char err[BW_ERRLEN];

  if (d->cfg.http_listen == NULL)
    return 0;
  if (metrics_new(&d->metrics, err) != BW_OK ||
      http_start(&d->cfg, d->metrics, &d->http, err) != BW_OK) {
    log_err("%s", err);
    return 1;
  }
  map_zone_metrics(d);
  log_notice("http: serving / (status page), /metrics, /api/status and "
             "/api/history on %s%s", d->cfg.http_listen,
             d->cfg.http_token ? " (token required)" : "");
  return 0;
}

int daemon_run(const struct cli *cli, int argc, char **argv) {
  struct daemon *d = calloc(1, sizeof(*d));
  int rc;

  if (d == NULL)
    return 1;
  log_init();
  rc = parse_args(d, argc, argv);
  if (rc == 0)
    rc = cli_load_config_secrets(cli, &d->cfg);
  if (rc != 0) {
    free(d);
    return rc < 0 ? 0 : rc;
  }
  d->config_path = strdup(d->cfg.path);
  d->announce = true;
  uv_loop_init(&d->loop);
  setup_handles(d);
  rc = open_state(d);
  if (rc == 0)
    rc = open_http(d);
  if (rc == 0) {
    log_started(d);
    notify_send("READY=1");
    notify_status(d);
    start_cycle(d);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    rc = d->failed ? 1 : 0;
  }
  if (d->conf != NULL)
    close_handles(d);
  else {
    uv_close((uv_handle_t *)&d->next_timer, NULL);
    uv_close((uv_handle_t *)&d->stop_timer, NULL);
    for (int i = 0; i < 3; i++)
      uv_close((uv_handle_t *)&d->sig[i], NULL);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    uv_loop_close(&d->loop);
  }
  http_stop(d->http); /* before the config it reads goes */
  metrics_free(d->metrics);
  free(d->zone_metrics);
  store_close(d->store);
  if (d->have_next)
    cfg_free(&d->next_cfg);
  cfg_free(&d->cfg);
  free(d->config_path);
  free(d);
  return rc;
}
