#include "zonescmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "json.h"
#include "scan.h"
#include "store.h"


static const char zones_usage[] =
    "usage: blwatch [-c FILE] zones [--json] [--probe]\n"
    "\n"
    "Lists the zone catalog: id, zone, kinds, whether it is in the default\n"
    "set and enabled by the config, and its health as the poller last saw\n"
    "it (from the database, when there is one).\n"
    "\n"
    "  --json    print {\"zones\":[...]} (see SPEC.md)\n"
    "  --probe   query the RFC 5782 test points of every enabled zone now;\n"
    "            health is ok, wildcard (lists 127.0.0.1/INVALID), dead\n"
    "            (does not list 127.0.0.2/TEST), refused, error or untested\n";

struct probe {
  uv_loop_t loop;
  char (*health)[16]; /* per catalog zone */
  int64_t *checked;   /* 0: never */
};

static enum scan_next no_targets(void *arg, struct scan_target *out) {
  (void)arg;
  (void)out;
  return SCAN_END;
}

static void no_result(void *arg, const struct scan_result *r) {
  (void)arg;
  (void)r;
}

static void probe_done(void *arg) { uv_stop(&((struct probe *)arg)->loop); }

static const struct scan_ops probe_ops = {
    .next_target = no_targets,
    .result = no_result,
    .finished = probe_done,
};

/* Queries the test points of the enabled zones. */
static int probe_zones(const struct config *cfg, struct probe *p) {
  struct dns_options dopt = {cfg->servers, (unsigned)cfg->timeout_ms,
                             (unsigned)cfg->tries,
                             (unsigned)cfg->concurrency, (unsigned)cfg->rate};
  struct zone **zones = calloc(cfg->cat.n + 1, sizeof(*zones));
  size_t *index = calloc(cfg->cat.n + 1, sizeof(*index));
  struct dns_engine *e = NULL;
  struct scan *s = NULL;
  char err[BW_ERRLEN];
  size_t n = 0;
  int rc = 0;

  if (zones == NULL || index == NULL) {
    free(zones);
    free(index);
    return EX_OSERR;
  }
  for (size_t i = 0; i < cfg->cat.n; i++)
    if (cfg->enabled[i]) {
      index[n] = i;
      zones[n++] = &cfg->cat.zones[i];
    }
  uv_loop_init(&p->loop);
  if (dns_open(&p->loop, &dopt, &e, err) != BW_OK ||
      scan_open(e, zones, n, &probe_ops, p, &s, err) != BW_OK) {
    fprintf(stderr, "blwatch: %s\n", err);
    rc = 1;
  } else {
    scan_start(s);
    uv_run(&p->loop, UV_RUN_DEFAULT);
    for (size_t i = 0; i < n; i++) {
      snprintf(p->health[index[i]], sizeof(p->health[0]), "%s",
               zone_health_name(scan_health(s, i)));
      if (zones[i]->testpoints)
        p->checked[index[i]] = time(NULL);
    }
  }
  if (e != NULL)
    dns_close(e);
  scan_free(s);
  uv_run(&p->loop, UV_RUN_DEFAULT);
  uv_loop_close(&p->loop);
  free(zones);
  free(index);
  return rc;
}

/* Health as the poller recorded it; a missing database is no error. */
static void stored_health(const struct config *cfg, struct probe *p) {
  struct store *st = NULL;
  char err[BW_ERRLEN];

  if (access(cfg->database, R_OK) != 0 ||
      store_open(cfg->database, STORE_READONLY, &st, err) != BW_OK)
    return;
  for (size_t i = 0; i < cfg->cat.n; i++) {
    struct store_zone z;
    bool found = false;
    if (store_zone_get(st, cfg->cat.zones[i].id, &z, &found, err) == BW_OK &&
        found) {
      snprintf(p->health[i], sizeof(p->health[0]), "%s", z.health);
      p->checked[i] = z.checked;
    }
  }
  store_close(st);
}

static void kinds_text(unsigned kinds, char *buf, size_t size, bool json) {
  const char *names[] = {"ip4", "ip6", "domain"};
  size_t used = 0;

  buf[0] = '\0';
  for (int i = 0; i < 3; i++) {
    if (!(kinds & (1u << i)))
      continue;
    used += (size_t)snprintf(buf + used, size - used,
                             json ? "%s\"%s\"" : "%s%s",
                             used ? "," : "", names[i]);
  }
}

static void print_json(const struct config *cfg, const struct probe *p) {
  char kinds[64], when[32];

  fputs("{\"zones\":[", stdout);
  for (size_t i = 0; i < cfg->cat.n; i++) {
    const struct zone *z = &cfg->cat.zones[i];
    kinds_text(z->kinds, kinds, sizeof(kinds), true);
    fputs(i ? ",\n" : "\n", stdout);
    fputs("{\"id\":", stdout);
    json_str(stdout, z->id);
    fputs(",\"name\":", stdout);
    json_str(stdout, z->name);
    fputs(",\"zone\":", stdout);
    json_str(stdout, z->zone);
    printf(",\"kind\":[%s],\"default\":%s,\"enabled\":%s,\"health\":\"%s\"",
           kinds, z->is_default ? "true" : "false",
           cfg->enabled[i] ? "true" : "false", p->health[i]);
    fputs(",\"checked\":", stdout);
    json_str(stdout, p->checked[i] ? rfc3339(p->checked[i], when) : NULL);
    fputs(",\"delist\":", stdout);
    json_str(stdout, z->delist);
    fputs("}", stdout);
  }
  fputs("]}\n", stdout);
}

static void print_table(const struct config *cfg, const struct probe *p) {
  char kinds[64];

  printf("%-18s %-32s %-15s %-7s %-7s %s\n", "ID", "ZONE", "KIND", "DEFAULT",
         "ENABLED", "HEALTH");
  for (size_t i = 0; i < cfg->cat.n; i++) {
    const struct zone *z = &cfg->cat.zones[i];
    kinds_text(z->kinds, kinds, sizeof(kinds), false);
    printf("%-18s %-32s %-15s %-7s %-7s %s\n", z->id, z->zone, kinds,
           z->is_default ? "yes" : "no", cfg->enabled[i] ? "yes" : "no",
           p->health[i]);
  }
  printf("\n%zu zones, %zu enabled (%s)\n", cfg->cat.n, cfg->nenabled,
         cfg->catalog_path);
}

int zonescmd_run(const struct cli *cli, int argc, char **argv) {
  static const struct option longopts[] = {
      {"json", no_argument, NULL, 'j'},
      {"probe", no_argument, NULL, 'p'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  bool json = false, probe = false;
  struct probe p = {0};
  struct config cfg;
  int c, rc;

  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (c == 'h') {
      fputs(zones_usage, stdout);
      return 0;
    }
    if (c != 'j' && c != 'p') {
      fputs(zones_usage, stderr);
      return EX_USAGE;
    }
    json |= c == 'j';
    probe |= c == 'p';
  }
  if (optind < argc) {
    fputs(zones_usage, stderr);
    return EX_USAGE;
  }
  if ((rc = cli_load_config(cli, false, &cfg)) != 0)
    return rc;
  p.health = calloc(cfg.cat.n + 1, sizeof(*p.health));
  p.checked = calloc(cfg.cat.n + 1, sizeof(*p.checked));
  if (p.health == NULL || p.checked == NULL) {
    rc = EX_OSERR;
  } else {
    for (size_t i = 0; i < cfg.cat.n; i++)
      snprintf(p.health[i], sizeof(p.health[0]), "untested");
    if (probe)
      rc = probe_zones(&cfg, &p);
    else
      stored_health(&cfg, &p);
  }
  if (rc == 0 && json)
    print_json(&cfg, &p);
  else if (rc == 0)
    print_table(&cfg, &p);
  free(p.health);
  free(p.checked);
  cfg_free(&cfg);
  return rc;
}
