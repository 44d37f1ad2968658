/* blwatch: command line entry point. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "alert.h"
#include "check.h"
#include "cli.h"
#include "config.h"
#include "cycle.h"
#include "daemon.h"
#include "ini.h"
#include "report.h"
#include "statuscmd.h"
#include "zonescmd.h"

static const char usage_text[] =
    "usage: blwatch [-c FILE] COMMAND [OPTIONS] [ARGS]\n"
    "\n"
    "Watches IP addresses and domains on DNS blocklists.\n"
    "\n"
    "Commands:\n"
    "  run [--once]      the poller: check every target each interval\n"
    "  check TARGET...   look targets up now on every enabled zone\n"
    "  status            current listings and unknown results (--json,\n"
    "                    --nagios)\n"
    "  history [TARGET]  events, newest first (--since 7d, --json)\n"
    "  report TARGET...  evidence packet for a postmaster or delisting\n"
    "                    request (Markdown; --since 90d, --json)\n"
    "  test-alert [NAME] send a test notice through each alert channel\n"
    "  zones             list the zone catalog\n"
    "  config-check      validate the config and print the effective "
    "settings\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE  config file (default: $BLWATCH_CONFIG, then\n"
    "                     " CFG_DEFAULT_PATH ")\n"
    "  -h, --help         show this help; COMMAND --help for a command\n"
    "  -V, --version      show the version\n"
    "\n"
    "Exit codes: 0 nothing listed, 1 listed, 2 incomplete, 64 usage error,\n"
    "78 config error.\n";

static const char check_usage[] =
    "usage: blwatch [-c FILE] check [--json] [--identity] [--stats] "
    "[-f LIST] TARGET...\n"
    "\n"
    "Looks each target up on every enabled zone now and writes nothing.\n"
    "TARGET is an IPv4 or IPv6 address, a CIDR range (every address in it),\n"
    "a domain (checked on domain lists), host:NAME (a mail server's name:\n"
    "its A and AAAA addresses are checked on IP lists), or '-' to read\n"
    "targets from standard input, one per line: ADDRESS|RANGE|DOMAIN [LABEL]\n"
    "or host NAME [LABEL], # comments.\n"
    "-f LIST reads targets from the file LIST the same way (repeatable).\n"
    "With no TARGET, the targets of the config file are checked.\n"
    "Works without a config file: default catalog, system resolver.\n"
    "\n"
    "  --json      print the result as JSON (see SPEC.md)\n"
    "  --identity  also check each target's sender identity: an address's\n"
    "              PTR (present, forward-confirmed, not generic-looking), a\n"
    "              domain's MX, SPF (one record, parses, at most 10 DNS\n"
    "              lookups), DMARC (parses, policy, rua), MTA-STS and\n"
    "              TLS-RPT; JSON: an \"identity\" object per target\n"
    "  --stats     print resolver figures (queries, retries, CPU) on "
    "stderr\n"
    "  -f, --file LIST  read targets from LIST, one per line\n"
    "\n"
    "Exit codes: 0 nothing listed, 1 at least one listing, 2 nothing listed\n"
    "but some zone could not be queried (or no enabled zone lists a\n"
    "target's kind), 64 bad target or unreadable LIST, 78 config error.\n";

static const char config_check_usage[] =
    "usage: blwatch [-c FILE] config-check\n"
    "\n"
    "Reads the config, its target files and the zone catalog, reports the\n"
    "first error as FILE:LINE: problem (exit 78), or prints the effective\n"
    "settings with secrets left out (exit 0).\n";

/* The config to read: -c, $BLWATCH_CONFIG, then the default path when it
 * exists.  NULL means none (allowed only where optional). */
static const char *config_path(const struct cli *cli, bool required) {
  const char *env = getenv("BLWATCH_CONFIG");

  if (cli->config != NULL)
    return cli->config;
  if (env != NULL && *env != '\0')
    return env;
  if (required || access(CFG_DEFAULT_PATH, F_OK) == 0)
    return CFG_DEFAULT_PATH;
  return NULL;
}

int cli_load_config(const struct cli *cli, bool required,
                       struct config *cfg) {
  char err[BW_ERRLEN];

  if (cfg_load(cfg, config_path(cli, required), err) != BW_OK) {
    fprintf(stderr, "blwatch: %s\n", err);
    return EX_CONFIG;
  }
  return 0;
}

int cli_load_config_secrets(const struct cli *cli, struct config *cfg) {
  char err[BW_ERRLEN];
  int rc = cli_load_config(cli, true, cfg);

  if (rc == 0 && cfg_load_secrets(cfg, err) != BW_OK) {
    fprintf(stderr, "blwatch: %s\n", err);
    cfg_free(cfg);
    return EX_CONFIG;
  }
  return rc;
}

/* Targets collected from the command line and standard input. */
struct spec_list {
  struct target_spec *v;
  size_t n;
  uint64_t max_range;
};

static enum bw_err spec_push(struct spec_list *l, struct target_spec *t,
                             char *err) {
  struct target_spec *grown = realloc(l->v, (l->n + 1) * sizeof(*grown));

  if (grown == NULL) {
    target_spec_free(t);
    return bw_fail(err, BW_ENOMEM, "out of memory");
  }
  l->v = grown;
  l->v[l->n++] = *t;
  return BW_OK;
}

static enum bw_err stdin_line(void *arg, int line, char *text, char *err) {
  struct spec_list *l = arg;
  struct target_spec t;
  enum bw_err rc;

  (void)line;
  rc = target_parse_line(text, l->max_range, &t, err);
  return rc == BW_OK ? spec_push(l, &t, err) : rc;
}

static void spec_list_free(struct spec_list *l) {
  for (size_t i = 0; i < l->n; i++)
    target_spec_free(&l->v[i]);
  free(l->v);
}

/* Reads the targets of a list file ("-": standard input) into l; a bad
 * line is a usage error naming FILE:LINE. */
static int read_target_list(const char *path, struct spec_list *l) {
  char err[BW_ERRLEN];
  enum bw_err rc = ini_read_lines(path, stdin_line, l, err);

  if (rc == BW_OK)
    return 0;
  fprintf(stderr, "blwatch: check: %s\n", err);
  return rc == BW_ENOMEM ? EX_OSERR : EX_USAGE;
}

static int parse_targets(int argc, char **argv, struct spec_list *l) {
  char err[BW_ERRLEN];
  struct target_spec t;

  for (int i = 0; i < argc; i++) {
    enum bw_err rc;
    if (strcmp(argv[i], "-") == 0) {
      int code = read_target_list("-", l);
      if (code != 0)
        return code;
      continue;
    }
    if ((rc = target_parse(argv[i], NULL, -1, l->max_range, &t, err)) ==
        BW_OK)
      rc = spec_push(l, &t, err);
    if (rc != BW_OK) {
      fprintf(stderr, "blwatch: check: %s\n", err);
      return rc == BW_ENOMEM ? EX_OSERR : EX_USAGE;
    }
  }
  return 0;
}

static int cmd_check(const struct cli *cli, int argc, char **argv) {
  static const struct option longopts[] = {
      {"json", no_argument, NULL, 'j'},
      {"stats", no_argument, NULL, 's'},
      {"identity", no_argument, NULL, 'i'},
      {"file", required_argument, NULL, 'f'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  struct check_opts opts = {0};
  struct spec_list specs = {0};
  struct config cfg;
  const char **lists = calloc((size_t)argc + 1, sizeof(*lists));
  size_t nlists = 0;
  int c, rc;

  if (lists == NULL)
    return EX_OSERR;
  while ((c = getopt_long(argc, argv, "hf:", longopts, NULL)) != -1) {
    switch (c) {
    case 'f':
      lists[nlists++] = optarg;
      break;
    case 'j':
      opts.json = true;
      break;
    case 's':
      opts.stats = true;
      break;
    case 'i':
      opts.identity = true;
      break;
    case 'h':
      free(lists);
      fputs(check_usage, stdout);
      return 0;
    default:
      free(lists);
      fputs(check_usage, stderr);
      return EX_USAGE;
    }
  }
  if ((rc = cli_load_config(cli, false, &cfg)) != 0) {
    free(lists);
    return rc;
  }
  specs.max_range = cfg.max_range;
  rc = parse_targets(argc - optind, argv + optind, &specs);
  for (size_t i = 0; rc == 0 && i < nlists; i++)
    rc = read_target_list(lists[i], &specs);
  free(lists);
  if (rc == 0 && specs.n == 0 && cfg_target_lines(&cfg) == 0) {
    fprintf(stderr, "blwatch: check: no targets given\n%s", check_usage);
    rc = EX_USAGE;
  }
  if (rc == 0)
    rc = check_run(&cfg, specs.v, specs.n, &opts);
  spec_list_free(&specs);
  cfg_free(&cfg);
  return rc;
}

/* Targets of the config that zone z lists (a host counts as one address:
 * what it resolves to is only known at run time). */
/* Targets of the config by the kind of zone that lists them (a host
 * counts as one address: what it resolves to is only known at run time),
 * indexed by ZONE_IP4, ZONE_IP6, ZONE_DOMAIN. */
struct kind_counts {
  uint64_t n[ZONE_DOMAIN + 1];
};

static enum bw_err count_kind(void *arg, const struct target_spec *t,
                              char *err) {
  struct kind_counts *c = arg;
  unsigned kind = t->kind == TARGET_IP4    ? ZONE_IP4
                  : t->kind == TARGET_IP6  ? ZONE_IP6
                  : t->kind == TARGET_HOST ? ZONE_IP4
                                           : ZONE_DOMAIN;

  (void)err;
  c->n[kind] += target_count(t);
  return BW_OK;
}

static void count_kinds(const struct config *cfg, struct kind_counts *c) {
  const struct target_spec *h;
  char err[BW_ERRLEN];
  size_t pos = 0;

  memset(c, 0, sizeof(*c));
  while ((h = cfg_next_host(cfg, &pos)) != NULL)
    count_kind(c, h, err);
  /* The files were read a moment ago: should one fail now, the warning
   * below only counts fewer targets. */
  cfg_each_target(cfg, count_kind, c, err);
}

static uint64_t targets_for(const struct kind_counts *c,
                            const struct zone *z) {
  uint64_t n = 0;

  for (unsigned k = ZONE_IP4; k <= ZONE_DOMAIN; k <<= 1)
    if (z->kinds & k)
      n += c->n[k];
  return n;
}

/* Warns about zones whose free-use limit the targets and interval would
 * exceed (with the other zones of its limit_group), with the interval
 * that would fit. */
static void warn_limits(const struct config *cfg) {
  struct kind_counts c;
  size_t n = cfg->cat.n + 1;
  uint64_t *nt = calloc(n, sizeof(*nt)), *stride = calloc(n, sizeof(*stride));
  uint64_t *per_cycle = calloc(n, sizeof(*per_cycle));
  uint64_t *limit = calloc(n, sizeof(*limit));

  count_kinds(cfg, &c);
  for (size_t i = 0; nt != NULL && i < cfg->cat.n; i++)
    nt[i] = targets_for(&c, &cfg->cat.zones[i]);

  bool ok = nt != NULL && stride != NULL && per_cycle != NULL &&
            limit != NULL && cycle_strides(cfg, nt, stride, per_cycle, limit);

  if (!ok)
    fprintf(stderr, "blwatch: warning: out of memory: free-use limits not "
                    "checked\n");
  for (size_t i = 0; ok && i < cfg->cat.n; i++) {
    const struct zone *z = &cfg->cat.zones[i];
    uint64_t cycles = (86400000 + cfg->interval_ms - 1) / cfg->interval_ms;
    if (stride[i] <= 1)
      continue;
    fprintf(stderr,
            "blwatch: warning: zone %s: %llu targets every %llus make "
            "%llu queries a day%s%s%s, over its free limit of %llu; each "
            "target will be checked there every %llu cycles. An interval "
            "of at least %llus fits%s\n",
            z->id, (unsigned long long)nt[i],
            (unsigned long long)(cfg->interval_ms / 1000),
            (unsigned long long)(per_cycle[i] * cycles),
            z->limit_group ? " with the other '" : "",
            z->limit_group ? z->limit_group : "",
            z->limit_group ? "' zones (one shared limit)" : "",
            (unsigned long long)limit[i], (unsigned long long)stride[i],
            (unsigned long long)((per_cycle[i] * 86400 + limit[i] - 1) /
                                 limit[i]),
            z->dqs != NULL && cfg->dqs_key == NULL
                ? ", or set [zones] dqs_key to use Spamhaus DQS"
                : "");
  }
  free(nt);
  free(stride);
  free(per_cycle);
  free(limit);
}

static int cmd_config_check(const struct cli *cli, int argc, char **argv) {
  struct config cfg;
  int rc;

  if (argc > 1 && (strcmp(argv[1], "--help") == 0 ||
                   strcmp(argv[1], "-h") == 0)) {
    fputs(config_check_usage, stdout);
    return 0;
  }
  if (argc > 1) {
    fputs(config_check_usage, stderr);
    return EX_USAGE;
  }
  if ((rc = cli_load_config_secrets(cli, &cfg)) != 0)
    return rc;
  cfg_print(&cfg, stdout);
  warn_limits(&cfg);
  fprintf(stderr, "blwatch: %s: ok (%llu targets, %zu of %zu zones enabled)\n",
          cfg.path, (unsigned long long)cfg_target_lines(&cfg), cfg.nenabled,
          cfg.cat.n);
  cfg_free(&cfg);
  return 0;
}

struct command {
  const char *name;
  int (*run)(const struct cli *cli, int argc, char **argv);
};

static const struct command commands[] = {
    {"run", daemon_run},
    {"check", cmd_check},
    {"status", statuscmd_status},
    {"history", statuscmd_history},
    {"report", report_command},
    {"test-alert", alert_test_command},
    {"zones", zonescmd_run},
    {"config-check", cmd_config_check},
};

/* `blwatch check -c FILE ...` works as well as `blwatch -c FILE check`:
 * takes -c FILE, --config FILE and --config=FILE out of a command's
 * arguments (before a "--"). */
static int take_config_option(int *argc, char **argv, struct cli *cli) {
  int out = 1;

  for (int i = 1; i < *argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      while (i < *argc)
        argv[out++] = argv[i++];
      break;
    }
    if (strncmp(a, "--config=", 9) == 0) {
      cli->config = a + 9;
      continue;
    }
    if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
      if (i + 1 >= *argc) {
        fprintf(stderr, "blwatch: %s needs a FILE\n", a);
        return -1;
      }
      cli->config = argv[++i];
      continue;
    }
    argv[out++] = argv[i];
  }
  *argc = out;
  argv[out] = NULL;
  return 0;
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"config", required_argument, NULL, 'c'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0}};
  struct cli cli = {0};
  int c;

  while ((c = getopt_long(argc, argv, "+c:hV", longopts, NULL)) != -1) {
    switch (c) {
    case 'c':
      cli.config = optarg;
      break;
    case 'h':
      fputs(usage_text, stdout);
      return 0;
    case 'V':
      printf("blwatch %s\n", BLWATCH_VERSION);
      return 0;
    default:
      fputs(usage_text, stderr);
      return EX_USAGE;
    }
  }
  if (optind >= argc) {
    fputs(usage_text, stderr);
    return EX_USAGE;
  }
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
    if (strcmp(argv[optind], commands[i].name) == 0) {
      int sub_argc = argc - optind;
      char **sub_argv = argv + optind;
      if (take_config_option(&sub_argc, sub_argv, &cli) != 0)
        return EX_USAGE;
      optind = 0; /* fully restart GNU getopt for the command's options */
      return commands[i].run(&cli, sub_argc, sub_argv);
    }
  }
  fprintf(stderr, "blwatch: unknown command '%s'\n%s", argv[optind],
          usage_text);
  return EX_USAGE;
}
