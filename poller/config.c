/* Parsing of blwatch.conf.  Each known key is one row of a table with its
 * type, bounds and place in struct config; anything else is an error. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns.h"
#include "http.h"
#include "ini.h"
#include "log.h"
#include "transition.h"

enum opt_type { OPT_STR, OPT_UINT, OPT_DURATION, OPT_BOOL, OPT_CHOICE };

struct opt {
  const char *section;
  const char *key;
  enum opt_type type;
  size_t offset;
  uint64_t min, max;   /* OPT_UINT / OPT_DURATION (ms) bounds */
  const char *choices; /* OPT_CHOICE: space-separated */
};

#define C(field) offsetof(struct config, field)
#define A(field) offsetof(struct alert_cfg, field)
#define DAY_MS (86400ULL * 1000)

static const struct opt options[] = {
    {"poller", "interval", OPT_DURATION, C(interval_ms), 60000, 7 * DAY_MS,
     NULL},
    {"poller", "database", OPT_STR, C(database), 0, 0, NULL},
    {"poller", "concurrency", OPT_UINT, C(concurrency), 1, 10000, NULL},
    {"poller", "rate", OPT_UINT, C(rate), 0, 1000000, NULL},
    {"poller", "confirm", OPT_DURATION, C(confirm_ms), 0, DAY_MS, NULL},
    {"resolver", "servers", OPT_STR, C(servers), 0, 0, NULL},
    {"resolver", "timeout", OPT_DURATION, C(timeout_ms), 100, 60000, NULL},
    {"resolver", "tries", OPT_UINT, C(tries), 1, 10, NULL},
    {"targets", "max_range", OPT_UINT, C(max_range), 1, 1ULL << 32, NULL},
    {"zones", "catalog", OPT_STR, C(catalog_path), 0, 0, NULL},
    {"zones", "use", OPT_STR, C(use), 0, 0, NULL},
    {"zones", "skip", OPT_STR, C(skip), 0, 0, NULL},
    {"zones", "dqs_key", OPT_STR, C(dqs_key), 0, 0, NULL},
    {"identity", "enabled", OPT_BOOL, C(identity), 0, 0, NULL},
    {"http", "listen", OPT_STR, C(http_listen), 0, 0, NULL},
    {"http", "token_file", OPT_STR, C(http_token_file), 0, 0, NULL},
};

/* The keys of an [alert "NAME"] section, named so that the checks after
 * the section can find each key's line (struct alert_cfg key_line). */
enum alert_key {
  AK_TYPE, AK_URL, AK_URL_FILE, AK_URL_ENV, AK_STARTTLS, AK_USERNAME,
  AK_PASSWORD_FILE, AK_PASSWORD_ENV, AK_FROM, AK_TO, AK_FORMAT,
  AK_SECRET_FILE, AK_SECRET_ENV, AK_CA_FILE, AK_EVENTS, AK_RETRY,
  AK_GIVE_UP, AK_GROUP_INTERVAL, AK_COUNT
};

_Static_assert(AK_COUNT <= CFG_ALERT_KEYS, "raise CFG_ALERT_KEYS");

static const struct opt alert_options[AK_COUNT] = {
    [AK_TYPE] = {"alert", "type", OPT_CHOICE, A(type), 0, 0, "email webhook"},
    [AK_URL] = {"alert", "url", OPT_STR, A(url), 0, 0, NULL},
    [AK_URL_FILE] = {"alert", "url_file", OPT_STR, A(url_file), 0, 0, NULL},
    [AK_URL_ENV] = {"alert", "url_env", OPT_STR, A(url_env), 0, 0, NULL},
    [AK_STARTTLS] = {"alert", "starttls", OPT_CHOICE, A(starttls), 0, 0,
                     "required try no"},
    [AK_USERNAME] = {"alert", "username", OPT_STR, A(username), 0, 0, NULL},
    [AK_PASSWORD_FILE] = {"alert", "password_file", OPT_STR,
                          A(password_file), 0, 0, NULL},
    [AK_PASSWORD_ENV] = {"alert", "password_env", OPT_STR, A(password_env),
                         0, 0, NULL},
    [AK_FROM] = {"alert", "from", OPT_STR, A(from), 0, 0, NULL},
    [AK_TO] = {"alert", "to", OPT_STR, A(to), 0, 0, NULL},
    [AK_FORMAT] = {"alert", "format", OPT_CHOICE, A(format), 0, 0,
                   "json slack"},
    [AK_SECRET_FILE] = {"alert", "secret_file", OPT_STR, A(secret_file), 0,
                        0, NULL},
    [AK_SECRET_ENV] = {"alert", "secret_env", OPT_STR, A(secret_env), 0, 0,
                       NULL},
    [AK_CA_FILE] = {"alert", "ca_file", OPT_STR, A(ca_file), 0, 0, NULL},
    [AK_EVENTS] = {"alert", "events", OPT_STR, A(events), 0, 0, NULL},
    [AK_RETRY] = {"alert", "retry", OPT_DURATION, A(retry_ms), 100, DAY_MS,
                  NULL},
    [AK_GIVE_UP] = {"alert", "give_up", OPT_DURATION, A(give_up_ms), 60000,
                    30 * DAY_MS, NULL},
    [AK_GROUP_INTERVAL] = {"alert", "group_interval", OPT_DURATION,
                           A(group_interval_ms), 0, DAY_MS, NULL},
};

/* A [targets] line kept until the whole file is read, because max_range
 * may come after the ranges it governs. */
struct raw_target {
  char *key;
  char *value;
  int line;
};

struct parse_state {
  struct config *cfg;
  const char *path;
  struct alert_cfg *alert; /* the [alert] section being read */
  struct raw_target *raw;
  size_t nraw;
  char seen[sizeof(options) / sizeof(options[0])]; /* keys given */
  int servers_line;
  int dqs_line;
  int use_line, skip_line;
  int catalog_line;
  int *extra_lines; /* of each [zones] extra, as cfg->extra */
};

static const char *const sections[] = {"poller", "resolver", "targets",
                                       "zones", "identity", "alert",
                                       "http"};

static enum bw_err dup_into(char **slot, const char *v, char *err) {
  char *copy = strdup(v);

  if (copy == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  free(*slot);
  *slot = copy;
  return BW_OK;
}

static bool choice_ok(const char *choices, const char *v) {
  size_t n = strlen(v);
  const char *p = choices;

  while (*p != '\0') {
    size_t w = strcspn(p, " ");
    if (w == n && strncmp(p, v, n) == 0)
      return true;
    p += w;
    p += strspn(p, " ");
  }
  return false;
}

static enum bw_err set_opt(const struct opt *o, void *base, char *v,
                           char *err) {
  char *field = (char *)base + o->offset;
  uint64_t n;
  enum bw_err rc;

  switch (o->type) {
  case OPT_STR:
    return dup_into((char **)(void *)field, v, err);
  case OPT_CHOICE:
    if (!choice_ok(o->choices, v))
      return bw_fail(err, BW_EINVAL, "%s must be one of: %s", o->key,
                     o->choices);
    return dup_into((char **)(void *)field, v, err);
  case OPT_BOOL:
    return ini_bool(v, (bool *)(void *)field, err);
  case OPT_UINT:
    rc = ini_uint(v, o->max, &n, err);
    break;
  case OPT_DURATION:
    rc = ini_duration(v, &n, err);
    break;
  default:
    return BW_EINVAL;
  }
  if (rc != BW_OK)
    return rc;
  if (n < o->min || n > o->max)
    return bw_fail(err, BW_ERANGE, "%s = %s is out of range", o->key, v);
  *(uint64_t *)(void *)field = n;
  return BW_OK;
}

const struct alert_cfg *cfg_alert(const struct config *cfg, const char *name) {
  for (size_t i = 0; i < cfg->nalerts; i++)
    if (strcmp(cfg->alerts[i].name, name) == 0)
      return &cfg->alerts[i];
  return NULL;
}

static enum bw_err new_alert(struct parse_state *st,
                             const struct ini_entry *e, char *err) {
  struct config *cfg = st->cfg;
  struct alert_cfg *grown;

  if (e->subname[0] == '\0')
    return bw_fail(err, BW_ESYNTAX, "alert sections need a name: "
                   "[alert \"NAME\"]");
  if (cfg_alert(cfg, e->subname) != NULL)
    return bw_fail(err, BW_EINVAL, "[alert \"%s\"] is defined twice",
                   e->subname);
  grown = realloc(cfg->alerts, (cfg->nalerts + 1) * sizeof(*grown));
  if (grown == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  cfg->alerts = grown;
  st->alert = &grown[cfg->nalerts++];
  memset(st->alert, 0, sizeof(*st->alert));
  st->alert->line = e->line;
  if (dup_into(&st->alert->name, e->subname, err) != BW_OK ||
      dup_into(&st->alert->file, st->path, err) != BW_OK)
    return BW_ENOMEM;
  return BW_OK;
}

static enum bw_err section_start(struct parse_state *st,
                                 const struct ini_entry *e, char *err) {
  for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
    if (strcmp(e->section, sections[i]) != 0)
      continue;
    if (strcmp(e->section, "alert") == 0)
      return new_alert(st, e, err);
    if (e->subname[0] != '\0')
      return bw_fail(err, BW_ESYNTAX, "[%s] takes no name", e->section);
    st->alert = NULL;
    return BW_OK;
  }
  return bw_fail(err, BW_EINVAL, "unknown section [%s]", e->section);
}

static enum bw_err add_raw_target(struct parse_state *st,
                                  const struct ini_entry *e, char *err) {
  struct raw_target *grown = realloc(st->raw, (st->nraw + 1) * sizeof(*grown));

  if (grown == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  st->raw = grown;
  grown[st->nraw].key = strdup(e->key);
  grown[st->nraw].value = strdup(e->value);
  grown[st->nraw].line = e->line;
  st->nraw++;
  if (grown[st->nraw - 1].key == NULL || grown[st->nraw - 1].value == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  return BW_OK;
}

static enum bw_err add_extra(struct parse_state *st, const char *v,
                             int line, char *err) {
  struct config *cfg = st->cfg;
  char **grown = realloc(cfg->extra, (cfg->nextra + 1) * sizeof(*grown));
  int *lines;

  if (grown == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  cfg->extra = grown;
  lines = realloc(st->extra_lines, (cfg->nextra + 1) * sizeof(*lines));
  if (lines == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  st->extra_lines = lines;
  lines[cfg->nextra] = line;
  grown[cfg->nextra] = NULL;
  cfg->nextra++;
  return dup_into(&grown[cfg->nextra - 1], v, err);
}

/* Keys whose empty value means something: servers (the system
 * resolver), skip (nothing) and dqs_key (checked with its own message).
 * Any other empty value is a mistake, never a silent default. */
static bool may_be_empty(const char *key) {
  return strcmp(key, "servers") == 0 || strcmp(key, "skip") == 0 ||
         strcmp(key, "dqs_key") == 0;
}

/* Repeated list keys (to = a, then to = b) accumulate. */
static enum bw_err append_list(char **slot, const char *v, char *err) {
  size_t len = strlen(*slot) + 2 + strlen(v) + 1;
  char *joined = malloc(len);

  if (joined == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  snprintf(joined, len, "%s, %s", *slot, v);
  free(*slot);
  *slot = joined;
  return BW_OK;
}

/* An [alert] key: each may be given once, except `to`, whose lines
 * accumulate. */
static enum bw_err alert_entry(struct parse_state *st,
                               const struct ini_entry *e, char *err) {
  struct alert_cfg *a = st->alert;

  /* A CR would let an address add mail headers. */
  if ((strcmp(e->key, "from") == 0 || strcmp(e->key, "to") == 0) &&
      strpbrk(e->value, "\r\n") != NULL)
    return bw_fail(err, BW_EINVAL, "bad address in '%s'", e->key);
  if (strcmp(e->key, "to") == 0 && a->to != NULL)
    return append_list(&a->to, e->value, err);
  for (size_t k = 0; k < AK_COUNT; k++) {
    if (strcmp(alert_options[k].key, e->key) != 0)
      continue;
    if (a->key_line[k] != 0)
      return bw_fail(err, BW_EINVAL, "'%s' is set twice in [alert \"%s\"]",
                     e->key, e->subname);
    a->key_line[k] = e->line;
    return set_opt(&alert_options[k], a, e->value, err);
  }
  return bw_fail(err, BW_EINVAL, "unknown key '%s' in [alert]", e->key);
}

static enum bw_err cfg_entry(void *arg, const struct ini_entry *e,
                             char *err) {
  struct parse_state *st = arg;

  if (e->key == NULL)
    return section_start(st, e, err);
  if (e->value[0] == '\0' && strcmp(e->section, "targets") != 0 &&
      !may_be_empty(e->key))
    return bw_fail(err, BW_EINVAL, "'%s' has no value (remove the line for "
                   "the default)", e->key);
  if (strcmp(e->section, "alert") == 0)
    return alert_entry(st, e, err);
  if (strcmp(e->section, "targets") == 0 &&
      strcmp(e->key, "max_range") != 0)
    return add_raw_target(st, e, err);
  if (strcmp(e->section, "zones") == 0 && strcmp(e->key, "extra") == 0)
    return add_extra(st, e->value, e->line, err);
  for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
    const struct opt *o = &options[i];
    if (strcmp(o->section, e->section) != 0 || strcmp(o->key, e->key) != 0)
      continue;
    if (st->seen[i]++ > 0)
      return bw_fail(err, BW_EINVAL, "'%s' is set twice in [%s]", e->key,
                     e->section);
    if (strcmp(e->key, "use") == 0)
      st->use_line = e->line;
    if (strcmp(e->key, "skip") == 0)
      st->skip_line = e->line;
    if (strcmp(e->key, "servers") == 0)
      st->servers_line = e->line;
    if (strcmp(e->key, "dqs_key") == 0)
      st->dqs_line = e->line;
    if (strcmp(e->key, "catalog") == 0)
      st->catalog_line = e->line;
    if (strcmp(e->section, "http") == 0 && strcmp(e->key, "listen") == 0)
      st->cfg->http_line = e->line;
    return set_opt(o, st->cfg, e->value, err);
  }
  return bw_fail(err, BW_EINVAL, "unknown key '%s' in [%s]", e->key,
                 e->section);
}

/* ---- targets ---------------------------------------------------------- */

static enum bw_err push_target(struct config *cfg, struct target_spec *t,
                               char *err) {
  struct target_spec *grown;

  grown = realloc(cfg->targets, (cfg->ntargets + 1) * sizeof(*grown));
  if (grown == NULL) {
    target_spec_free(t);
    return bw_fail(err, BW_ENOMEM, "out of memory");
  }
  cfg->targets = grown;
  grown[cfg->ntargets++] = *t;
  return BW_OK;
}

/* At load, a target file's lines are checked and counted; only its
 * hosts are kept (they are resolved every cycle). */
static enum bw_err target_file_line(void *arg, int line, char *text,
                                    char *err) {
  struct config *cfg = arg;
  struct target_spec t, *grown;
  enum bw_err rc;

  (void)line;
  if ((rc = target_parse_line(text, cfg->max_range, &t, err)) != BW_OK)
    return rc;
  if (t.kind != TARGET_HOST) {
    cfg->nfile_targets++;
    target_spec_free(&t);
    return BW_OK;
  }
  grown = realloc(cfg->file_hosts, (cfg->nfile_hosts + 1) * sizeof(*grown));
  if (grown == NULL) {
    target_spec_free(&t);
    return bw_fail(err, BW_ENOMEM, "out of memory");
  }
  cfg->file_hosts = grown;
  grown[cfg->nfile_hosts++] = t;
  return BW_OK;
}

static enum bw_err add_target_file(struct config *cfg, const char *path,
                                   char *err) {
  char **grown = realloc(cfg->target_files,
                         (cfg->ntarget_files + 1) * sizeof(*grown));

  if (grown == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  cfg->target_files = grown;
  grown[cfg->ntarget_files] = NULL;
  cfg->ntarget_files++;
  return dup_into(&grown[cfg->ntarget_files - 1], path, err);
}

struct each_line {
  const struct config *cfg;
  cfg_target_fn fn;
  void *arg;
};

static enum bw_err each_file_line(void *arg, int line, char *text,
                                  char *err) {
  struct each_line *e = arg;
  struct target_spec t;
  enum bw_err rc;

  (void)line;
  if ((rc = target_parse_line(text, e->cfg->max_range, &t, err)) != BW_OK)
    return rc;
  if (t.kind != TARGET_HOST)
    rc = e->fn(e->arg, &t, err);
  target_spec_free(&t);
  return rc;
}

enum bw_err cfg_each_target(const struct config *cfg, cfg_target_fn fn,
                            void *arg, char *err) {
  struct each_line e = {cfg, fn, arg};
  enum bw_err rc = BW_OK;

  for (size_t i = 0; rc == BW_OK && i < cfg->ntargets; i++)
    if (cfg->targets[i].kind != TARGET_HOST)
      rc = fn(arg, &cfg->targets[i], err);
  for (size_t i = 0; rc == BW_OK && i < cfg->ntarget_files; i++)
    rc = ini_read_lines(cfg->target_files[i], each_file_line, &e, err);
  return rc;
}

const struct target_spec *cfg_next_host(const struct config *cfg,
                                        size_t *pos) {
  while (*pos < cfg->ntargets + cfg->nfile_hosts) {
    size_t i = (*pos)++;
    const struct target_spec *t = i < cfg->ntargets
                                      ? &cfg->targets[i]
                                      : &cfg->file_hosts[i - cfg->ntargets];
    if (t->kind == TARGET_HOST)
      return t;
  }
  return NULL;
}

uint64_t cfg_target_lines(const struct config *cfg) {
  return cfg->ntargets + cfg->nfile_hosts + cfg->nfile_targets;
}

static enum bw_err load_target_files(struct config *cfg, const char *pattern,
                                     const char *file, int line, char *err) {
  glob_t g;
  enum bw_err rc = BW_OK;
  int r = glob(pattern, GLOB_ERR, NULL, &g);

  if (r == GLOB_NOMATCH && strpbrk(pattern, "*?[") != NULL)
    return BW_OK; /* an empty targets.d is fine */
  if (r != 0)
    return bw_fail(err, BW_EIO, "%s:%d: no target file matches '%s'", file,
                   line, pattern);
  for (size_t i = 0; rc == BW_OK && i < g.gl_pathc; i++) {
    rc = ini_read_lines(g.gl_pathv[i], target_file_line, cfg, err);
    if (rc == BW_OK)
      rc = add_target_file(cfg, g.gl_pathv[i], err);
  }
  globfree(&g);
  return rc;
}

/* Turns the [targets] lines into target specs, reading target files. */
static enum bw_err resolve_targets(struct config *cfg, struct parse_state *st,
                                   char *err) {
  static const struct {
    const char *key;
    int hint;
  } keys[] = {{"ip", TARGET_IP4}, {"domain", TARGET_DOMAIN},
              {"host", TARGET_HOST}};
  char msg[BW_ERRLEN];

  for (size_t i = 0; i < st->nraw; i++) {
    struct raw_target *r = &st->raw[i];
    struct target_spec t;
    int hint = -2;
    if (strcmp(r->key, "file") == 0) {
      enum bw_err rc = load_target_files(cfg, r->value, st->path, r->line,
                                         err);
      if (rc != BW_OK)
        return rc;
      continue;
    }
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
      if (strcmp(r->key, keys[k].key) == 0)
        hint = keys[k].hint;
    if (hint == -2)
      return bw_fail(err, BW_EINVAL, "%s:%d: unknown key '%s' in [targets]",
                     st->path, r->line, r->key);
    char *label = r->value + strcspn(r->value, " \t");
    if (*label != '\0')
      *label++ = '\0';
    enum bw_err rc = target_parse(r->value, ini_trim(label), hint,
                                  cfg->max_range, &t, msg);
    if (rc != BW_OK)
      return bw_fail(err, rc, "%s:%d: %s", st->path, r->line, msg);
    rc = push_target(cfg, &t, err);
    if (rc != BW_OK)
      return rc;
  }
  return BW_OK;
}

/* ---- zones ------------------------------------------------------------ */

const char *cfg_default_catalog(void) {
  if (access(BLWATCH_CATALOG_PATH, R_OK) == 0)
    return BLWATCH_CATALOG_PATH;
#ifdef BLWATCH_SOURCE_CATALOG
  if (access(BLWATCH_SOURCE_CATALOG, R_OK) == 0)
    return BLWATCH_SOURCE_CATALOG;
#endif
  return BLWATCH_CATALOG_PATH;
}

struct select_state {
  struct config *cfg;
  bool value;
  const char *what;
};

static enum bw_err select_zone(void *arg, char *item, char *err) {
  struct select_state *s = arg;
  struct config *cfg = s->cfg;
  bool all = strcmp(item, "all") == 0, def = strcmp(item, "default") == 0;
  bool found = false;

  for (size_t i = 0; i < cfg->cat.n; i++) {
    struct zone *z = &cfg->cat.zones[i];
    if (all || (def && z->is_default) || strcmp(z->id, item) == 0) {
      cfg->enabled[i] = s->value;
      found = true;
    }
  }
  if (!found && !all && !def)
    return bw_fail(err, BW_EINVAL, "%s: no zone '%s' in the catalog",
                   s->what, item);
  return BW_OK;
}

static enum bw_err apply_selection(struct config *cfg, const char *list,
                                   bool value, int line, char *err) {
  struct select_state s = {cfg, value, value ? "use" : "skip"};
  char msg[BW_ERRLEN];
  char *copy;
  enum bw_err rc;

  copy = strdup(list);
  if (copy == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  rc = ini_split(copy, select_zone, &s, msg);
  free(copy);
  if (rc != BW_OK)
    return bw_fail(err, rc, "%s:%d: %s", cfg->path ? cfg->path : "-", line,
                   msg);
  return BW_OK;
}

/* Loads one catalog.  An error inside it names the catalog's own line;
 * one opening it (missing, unreadable, not a file) also names the config
 * line that asked for it. */
static enum bw_err load_catalog(struct config *cfg, const char *path,
                                int line, char *err) {
  size_t n = strlen(path);
  char msg[BW_ERRLEN];
  enum bw_err rc = zone_catalog_load(&cfg->cat, path, msg);

  if (rc == BW_OK)
    return BW_OK;
  /* BW_EIO: could not read it (its message may be cut short by a long
   * path, so the text alone cannot tell). */
  if (line > 0 && cfg->path != NULL &&
      (rc == BW_EIO ||
       (strncmp(msg, path, n) == 0 && strncmp(msg + n, ": ", 2) == 0)))
    return bw_fail(err, rc, "%s:%d: catalog %s", cfg->path, line, msg);
  return bw_fail(err, rc, "%s", msg);
}

static enum bw_err load_zones(struct config *cfg, struct parse_state *st,
                              char *err) {
  enum bw_err rc;

  if (cfg->catalog_path == NULL &&
      dup_into(&cfg->catalog_path, cfg_default_catalog(), err) != BW_OK)
    return BW_ENOMEM;
  rc = load_catalog(cfg, cfg->catalog_path, st->catalog_line, err);
  for (size_t i = 0; rc == BW_OK && i < cfg->nextra; i++)
    rc = load_catalog(cfg, cfg->extra[i], st->extra_lines[i], err);
  if (rc == BW_OK && cfg->dqs_key != NULL)
    rc = zone_catalog_apply_dqs(&cfg->cat, cfg->dqs_key, err);
  if (rc != BW_OK)
    return rc;
  cfg->enabled = calloc(cfg->cat.n, sizeof(*cfg->enabled));
  if (cfg->enabled == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  rc = apply_selection(cfg, cfg->use ? cfg->use : "default", true,
                       st->use_line, err);
  if (rc == BW_OK && cfg->skip != NULL)
    rc = apply_selection(cfg, cfg->skip, false, st->skip_line, err);
  for (size_t i = 0; i < cfg->cat.n; i++)
    cfg->nenabled += cfg->enabled[i];
  if (rc == BW_OK && cfg->nenabled == 0)
    rc = bw_fail(err, BW_EINVAL, "%s: no zone is enabled ([zones] use/skip)",
                 cfg->path ? cfg->path : cfg->catalog_path);
  return rc;
}

/* ---- alerts ----------------------------------------------------------- */

/* Reads a secret file: one trailing newline is not part of the secret; a
 * file other users can read is allowed with a warning.  A secret longer
 * than the buffer or with a NUL byte would be cut short without a word:
 * refused.  Returns 0 or an errno value for secret_error(). */
#define SECRET_MAX 4096
static int read_secret(const char *file, char **out) {
  char buf[SECRET_MAX + 1];
  struct stat sb;
  size_t len;
  FILE *fp;
  char err[BW_ERRLEN];

  if ((fp = fopen(file, "r")) == NULL)
    return errno;
  len = fread(buf, 1, sizeof(buf) - 1, fp);
  if (fstat(fileno(fp), &sb) == 0 && (sb.st_mode & S_IROTH))
    log_warn("%s is readable by other users; chmod o-r it", file);
  fclose(fp);
  buf[len] = '\0';
  if (len == SECRET_MAX)
    return EFBIG;
  if (memchr(buf, '\0', len) != NULL)
    return EILSEQ;
  if (len > 0 && buf[len - 1] == '\n')
    buf[--len] = '\0';
  if (len > 0 && buf[len - 1] == '\r')
    buf[--len] = '\0';
  return dup_into(out, buf, err) == BW_OK ? 0 : ENOMEM;
}

/* What read_secret()'s e means. */
static const char *secret_error(int e) {
  if (e == EFBIG)
    return "longer than 4095 bytes";
  if (e == EILSEQ)
    return "holds a NUL byte";
  return strerror(e);
}

/* The value of a string key of an [alert] section; NULL when not given. */
static const char *alert_str(const struct alert_cfg *a, enum alert_key k) {
  return *(char *const *)(const void *)((const char *)a +
                                        alert_options[k].offset);
}

/* Reads the secret that the file key fk or the environment key ek names
 * (check_sources() let at most one of them through) into *out.  Errors
 * name the line of the key. */
static enum bw_err load_secret(const struct alert_cfg *a, enum alert_key fk,
                               enum alert_key ek, char **out, char *err) {
  const char *file = alert_str(a, fk), *env = alert_str(a, ek);
  int e;

  if (env != NULL) {
    const char *v = getenv(env);
    if (v == NULL || *v == '\0')
      return bw_fail(err, BW_EINVAL, "%s:%d: [alert \"%s\"]: environment "
                     "variable %s is not set", a->file, a->key_line[ek],
                     a->name, env);
    return dup_into(out, v, err);
  }
  if (file == NULL)
    return BW_OK;
  if ((e = read_secret(file, out)) != 0)
    return bw_fail(err, BW_EIO, "%s:%d: [alert \"%s\"]: cannot read %s: %s",
                   a->file, a->key_line[fk], a->name, file,
                   secret_error(e));
  return BW_OK;
}

/* Why url cannot be this channel's URL, or NULL.  Never quotes the URL:
 * it may hold a password or a webhook token. */
static const char *url_problem(const struct alert_cfg *a, const char *url) {
  bool email = strcmp(a->type, "email") == 0;

  if (email ? strncmp(url, "smtp://", 7) != 0 &&
                  strncmp(url, "smtps://", 8) != 0
            : strncmp(url, "http://", 7) != 0 &&
                  strncmp(url, "https://", 8) != 0)
    return email ? "url must start with smtp:// or smtps://"
                 : "url must start with http:// or https://";
  /* A line break would end an SMTP command or a header early. */
  for (const unsigned char *p = (const unsigned char *)url; *p != '\0'; p++)
    if (*p <= ' ' || *p == 0x7f)
      return "url holds a space or a control character";
  return NULL;
}

/* Checks a->url, which key k gave (url, url_file or url_env). */
static enum bw_err check_url(const struct alert_cfg *a, enum alert_key k,
                             char *err) {
  const char *why = url_problem(a, a->url);

  if (why == NULL)
    return BW_OK;
  if (k == AK_URL)
    return bw_fail(err, BW_EINVAL, "%s:%d: [alert \"%s\"] %s", a->file,
                   a->key_line[k], a->name, why);
  return bw_fail(err, BW_EINVAL, "%s:%d: [alert \"%s\"] %s (read from %s "
                 "%s)", a->file, a->key_line[k], a->name, why,
                 alert_options[k].key, alert_str(a, k));
}

/* Keys that give the same thing in different ways: at most one of them
 * may be set.  The error names the line of the later one. */
static enum bw_err at_most_one(const struct alert_cfg *a,
                               const enum alert_key *keys, size_t n,
                               char *err) {
  int first = -1;

  for (size_t i = 0; i < n; i++) {
    enum alert_key k = keys[i], o;
    if (a->key_line[k] == 0)
      continue;
    if (first < 0) {
      first = (int)k;
      continue;
    }
    o = (enum alert_key)first;
    if (a->key_line[o] > a->key_line[k]) {
      o = k;
      k = (enum alert_key)first;
    }
    return bw_fail(err, BW_EINVAL, "%s:%d: [alert \"%s\"] %s and %s (line "
                   "%d) are both set: give only one", a->file,
                   a->key_line[k], a->name, alert_options[k].key,
                   alert_options[o].key, a->key_line[o]);
  }
  return BW_OK;
}

/* Where the URL and the secrets come from: one source each. */
static enum bw_err check_sources(const struct alert_cfg *a, char *err) {
  static const enum alert_key url[] = {AK_URL, AK_URL_FILE, AK_URL_ENV};
  static const enum alert_key password[] = {AK_PASSWORD_FILE,
                                            AK_PASSWORD_ENV};
  static const enum alert_key secret[] = {AK_SECRET_FILE, AK_SECRET_ENV};

  if (at_most_one(a, url, 3, err) != BW_OK ||
      at_most_one(a, password, 2, err) != BW_OK ||
      at_most_one(a, secret, 2, err) != BW_OK)
    return BW_EINVAL;
  if (a->url == NULL && a->url_file == NULL && a->url_env == NULL)
    return bw_fail(err, BW_EINVAL, "%s:%d: [alert \"%s\"] lacks 'url' (or "
                   "url_file or url_env)", a->file, a->line, a->name);
  if (a->url != NULL)
    return check_url(a, AK_URL, err);
  return BW_OK;
}

struct mask_state {
  unsigned mask;
};

static enum bw_err add_event(void *arg, char *item, char *err) {
  struct mask_state *m = arg;

  if (strcmp(item, "all") == 0) {
    m->mask = ~0u;
    return BW_OK;
  }
  for (int t = EV_LISTED; t <= EV_ZONE_HEALTHY; t++)
    if (strcmp(item, event_type_name((enum event_type)t)) == 0) {
      m->mask |= 1u << t;
      return BW_OK;
    }
  if (strcmp(item, "identity_changed") == 0) {
    m->mask |= 1u << CFG_EV_IDENTITY_CHANGED;
    return BW_OK;
  }
  return bw_fail(err, BW_EINVAL, "unknown event type '%.40s' (listed, "
                 "delisted, changed, zone_unhealthy, zone_healthy, "
                 "identity_changed, all)",
                 item);
}

/* The event filter, and the defaults of the keys not given. */
static enum bw_err alert_events(struct alert_cfg *a, char *err) {
  struct mask_state m = {0};
  char msg[BW_ERRLEN];

  if (a->events != NULL) {
    char *copy = strdup(a->events);
    enum bw_err rc = copy ? ini_split(copy, add_event, &m, msg) : BW_ENOMEM;
    free(copy);
    if (rc != BW_OK)
      return bw_fail(err, rc, "%s:%d: [alert \"%s\"] events: %s", a->file,
                     a->key_line[AK_EVENTS], a->name, msg);
  }
  a->event_mask = a->events != NULL ? m.mask : ~0u;
  if (a->key_line[AK_RETRY] == 0)
    a->retry_ms = 30 * 1000;
  if (a->key_line[AK_GIVE_UP] == 0)
    a->give_up_ms = DAY_MS;
  if (a->key_line[AK_GROUP_INTERVAL] == 0)
    a->group_interval_ms = 5 * 60 * 1000;
  return BW_OK;
}

static enum bw_err check_alert(struct alert_cfg *a, char *err) {
  const char *missing = NULL;
  bool email;

  if (a->type == NULL)
    return bw_fail(err, BW_EINVAL, "%s:%d: [alert \"%s\"] lacks 'type'",
                   a->file, a->line, a->name);
  email = strcmp(a->type, "email") == 0;
  if (check_sources(a, err) != BW_OK)
    return BW_EINVAL;
  if (email && a->from == NULL)
    missing = "from";
  else if (email && a->to == NULL)
    missing = "to";
  if (missing != NULL)
    return bw_fail(err, BW_EINVAL, "%s:%d: [alert \"%s\"] lacks '%s'",
                   a->file, a->line, a->name, missing);
  return alert_events(a, err);
}

/* The [http] token: a file that is empty (or only a newline) would let
 * every request in, so it is an error. */
static enum bw_err load_http_token(struct config *cfg, char *err) {
  int e;

  if (cfg->http_listen == NULL || cfg->http_token_file == NULL)
    return BW_OK;
  if ((e = read_secret(cfg->http_token_file, &cfg->http_token)) != 0)
    return bw_fail(err, BW_EIO, "%s:%d: [http] token_file: cannot read %s: "
                   "%s", cfg->path, cfg->http_line, cfg->http_token_file,
                   secret_error(e));
  if (cfg->http_token[0] == '\0')
    return bw_fail(err, BW_EINVAL, "%s:%d: [http] token_file %s is empty",
                   cfg->path, cfg->http_line, cfg->http_token_file);
  return BW_OK;
}

/* url_file or url_env: the URL is a secret too (a webhook URL is all a
 * sender needs), read like the others and checked like an inline url. */
static enum bw_err load_url(struct alert_cfg *a, char *err) {
  if (a->url_file == NULL && a->url_env == NULL)
    return BW_OK;
  if (load_secret(a, AK_URL_FILE, AK_URL_ENV, &a->url, err) != BW_OK)
    return BW_EINVAL;
  return check_url(a, a->url_file != NULL ? AK_URL_FILE : AK_URL_ENV, err);
}

enum bw_err cfg_load_secrets(struct config *cfg, char *err) {
  if (load_http_token(cfg, err) != BW_OK)
    return BW_EINVAL;
  for (size_t i = 0; i < cfg->nalerts; i++) {
    struct alert_cfg *a = &cfg->alerts[i];
    if (load_secret(a, AK_PASSWORD_FILE, AK_PASSWORD_ENV, &a->password,
                    err) != BW_OK ||
        load_secret(a, AK_SECRET_FILE, AK_SECRET_ENV, &a->secret, err) !=
            BW_OK ||
        load_url(a, err) != BW_OK)
      return BW_EINVAL;
  }
  return BW_OK;
}

/* ---- load / free / print ---------------------------------------------- */

static void set_defaults(struct config *cfg) {
  cfg->interval_ms = 3600 * 1000;
  cfg->concurrency = 100;
  cfg->confirm_ms = 60 * 1000;
  cfg->timeout_ms = 2000;
  cfg->tries = 2;
  cfg->max_range = TARGET_DEFAULT_MAX_RANGE;
  cfg->identity = true;
}

static void free_raw(struct parse_state *st) {
  for (size_t i = 0; i < st->nraw; i++) {
    free(st->raw[i].key);
    free(st->raw[i].value);
  }
  free(st->raw);
  free(st->extra_lines);
}

/* A DQS key becomes one DNS label: letters and digits, 1 to 63 of them. */
static enum bw_err check_dqs_key(struct config *cfg, struct parse_state *st,
                                 char *err) {
  const char *env = getenv("BLWATCH_DQS_KEY");
  const char *where = cfg->path ? cfg->path : "-";
  char at[16] = "";
  const char *problem = NULL;
  size_t len;

  if (env != NULL && *env != '\0') {
    if (dup_into(&cfg->dqs_key, env, err) != BW_OK)
      return BW_ENOMEM;
    where = "BLWATCH_DQS_KEY";
  } else if (st->dqs_line > 0) {
    snprintf(at, sizeof(at), ":%d", st->dqs_line);
  }
  if (cfg->dqs_key == NULL)
    return BW_OK;
  len = strlen(cfg->dqs_key);
  if (len == 0)
    problem = "dqs_key is empty (remove the line to query the public "
              "mirrors)";
  else if (len > 63)
    problem = "dqs_key is longer than 63 characters";
  for (const char *p = cfg->dqs_key; problem == NULL && *p != '\0'; p++)
    if (!isalnum((unsigned char)*p))
      problem = "dqs_key must be letters and digits only";
  if (problem != NULL)
    return bw_fail(err, BW_EINVAL, "%s%s: %s", where, at, problem);
  return BW_OK;
}

/* [http] listen must be ADDRESS:PORT; anything but a loopback address
 * needs a token, or anyone who reaches the port reads the listings. */
static enum bw_err check_http(struct config *cfg, char *err) {
  struct http_addr a;
  char msg[BW_ERRLEN];

  if (cfg->http_listen == NULL) {
    if (cfg->http_token_file != NULL)
      return bw_fail(err, BW_EINVAL, "%s: [http] token_file is set but "
                     "listen is not", cfg->path);
    return BW_OK;
  }
  if (http_parse_listen(cfg->http_listen, &a, msg) != BW_OK)
    return bw_fail(err, BW_EINVAL, "%s:%d: [http] listen: %s", cfg->path,
                   cfg->http_line, msg);
  if (!a.loopback && cfg->http_token_file == NULL)
    return bw_fail(err, BW_EINVAL, "%s:%d: [http] listen = %s is not a "
                   "loopback address: set token_file too (every request "
                   "must then carry the token), or listen on 127.0.0.1",
                   cfg->path, cfg->http_line, cfg->http_listen);
  return BW_OK;
}

static enum bw_err check_servers(struct config *cfg, struct parse_state *st,
                                 char *err) {
  char msg[BW_ERRLEN];
  char *norm;

  if (cfg->servers == NULL)
    return BW_OK;
  if (dns_servers_normalize(cfg->servers, &norm, msg) != BW_OK)
    return bw_fail(err, BW_EINVAL, "%s:%d: servers: %s", st->path,
                   st->servers_line, msg);
  free(cfg->servers);
  cfg->servers = norm;
  return BW_OK;
}

enum bw_err cfg_load(struct config *cfg, const char *path, char *err) {
  struct parse_state st = {.cfg = cfg, .path = path};
  enum bw_err rc = BW_OK;

  memset(cfg, 0, sizeof(*cfg));
  set_defaults(cfg);
  if (path != NULL) {
    if (dup_into(&cfg->path, path, err) != BW_OK)
      return BW_ENOMEM;
    rc = ini_parse(path, cfg_entry, &st, err);
  }
  if (rc == BW_OK)
    rc = resolve_targets(cfg, &st, err);
  if (rc == BW_OK)
    rc = check_dqs_key(cfg, &st, err);
  if (rc == BW_OK)
    rc = check_servers(cfg, &st, err);
  if (rc == BW_OK)
    rc = check_http(cfg, err);
  if (rc == BW_OK)
    rc = load_zones(cfg, &st, err);
  for (size_t i = 0; rc == BW_OK && i < cfg->nalerts; i++)
    rc = check_alert(&cfg->alerts[i], err);
  if (rc == BW_OK && cfg->database == NULL)
    rc = dup_into(&cfg->database, "/var/lib/blwatch/blwatch.db", err);
  free_raw(&st);
  if (rc != BW_OK)
    cfg_free(cfg);
  return rc;
}

static void alert_free(struct alert_cfg *a) {
  char **strs[] = {&a->name,         &a->type,       &a->url,
                   &a->url_file,     &a->url_env,
                   &a->starttls,     &a->username,   &a->password_file,
                   &a->from,         &a->to,         &a->format,
                   &a->secret_file,  &a->ca_file,    &a->password_env,
                   &a->secret_env,   &a->events,     &a->password,
                   &a->secret,       &a->file};

  for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
    free(*strs[i]);
}

void cfg_free(struct config *cfg) {
  for (size_t i = 0; i < cfg->ntargets; i++)
    target_spec_free(&cfg->targets[i]);
  for (size_t i = 0; i < cfg->nfile_hosts; i++)
    target_spec_free(&cfg->file_hosts[i]);
  for (size_t i = 0; i < cfg->ntarget_files; i++)
    free(cfg->target_files[i]);
  free(cfg->file_hosts);
  free(cfg->target_files);
  for (size_t i = 0; i < cfg->nextra; i++)
    free(cfg->extra[i]);
  for (size_t i = 0; i < cfg->nalerts; i++)
    alert_free(&cfg->alerts[i]);
  free(cfg->targets);
  free(cfg->extra);
  free(cfg->alerts);
  free(cfg->path);
  free(cfg->database);
  free(cfg->servers);
  free(cfg->catalog_path);
  free(cfg->use);
  free(cfg->skip);
  free(cfg->dqs_key);
  free(cfg->enabled);
  free(cfg->http_listen);
  free(cfg->http_token_file);
  free(cfg->http_token);
  zone_catalog_free(&cfg->cat);
  memset(cfg, 0, sizeof(*cfg));
}

/* ms as the config file writes it: "90m", "1.500s". */
static const char *duration_str(uint64_t ms, char *buf, size_t size) {
  if (ms % 1000 != 0)
    snprintf(buf, size, "%llu.%03llus", (unsigned long long)(ms / 1000),
             (unsigned long long)(ms % 1000));
  else if (ms % 3600000 == 0 && ms > 0)
    snprintf(buf, size, "%lluh", (unsigned long long)(ms / 3600000));
  else if (ms % 60000 == 0 && ms > 0)
    snprintf(buf, size, "%llum", (unsigned long long)(ms / 60000));
  else
    snprintf(buf, size, "%llus", (unsigned long long)(ms / 1000));
  return buf;
}

static void print_duration(FILE *out, const char *key, uint64_t ms) {
  char buf[32];

  fprintf(out, "%-12s= %s\n", key, duration_str(ms, buf, sizeof(buf)));
}

static void print_targets(const struct config *cfg, FILE *out) {
  static const char *const keys[] = {"ip", "ip", "domain", "host"};
  char buf[64];

  fprintf(out, "\n[targets]\nmax_range   = %llu\n",
          (unsigned long long)cfg->max_range);
  for (size_t i = 0; i < cfg->ntargets; i++) {
    const struct target_spec *t = &cfg->targets[i];
    const char *text = t->name;
    if (text == NULL) {
      bool v6 = t->kind == TARGET_IP6;
      target_addr_str(t->addr, v6, buf);
      if (t->prefix != (v6 ? 128u : 32u))
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "/%u",
                 t->prefix);
      text = buf;
    }
    fprintf(out, "%-12s= %s%s%s\n", keys[t->kind], text,
            t->label ? " " : "", t->label ? t->label : "");
  }
  for (size_t i = 0; i < cfg->ntarget_files; i++)
    fprintf(out, "%-12s= %s\n", "file", cfg->target_files[i]);
}

/* The end of the authority of the URL part p (after "scheme://"): where
 * its path, query or fragment begins. */
static size_t authority_len(const char *p) { return strcspn(p, "/?#"); }

size_t cfg_url_hidden(const char *url, size_t span[2][2]) {
  const char *sep = url ? strstr(url, "://") : NULL, *rest, *at = NULL;
  const char *host;
  bool web = url != NULL && strncmp(url, "http", 4) == 0;
  size_t n = 0, after;

  if (url == NULL)
    return 0;
  if (sep == NULL) { /* not a URL blwatch accepts: hide it all */
    span[0][0] = 0;
    span[0][1] = strlen(url);
    return 1;
  }
  rest = sep + 3;
  /* The last '@' before the query: a password may hold a '/' or an '@'. */
  for (const char *p = rest; *p != '\0' && *p != '?' && *p != '#'; p++)
    if (*p == '@')
      at = p;
  host = at != NULL ? at + 1 : rest;
  if (at != NULL) {
    const char *colon = memchr(rest, ':', (size_t)(at - rest));
    const char *from = web ? rest : colon != NULL ? colon + 1 : at;
    if (from < at) {
      span[n][0] = (size_t)(from - url);
      span[n++][1] = (size_t)(at - url);
    }
  }
  after = (size_t)(host - url) + authority_len(host);
  if (web) { /* "https://host/<hidden>", "https://host?<hidden>" */
    after += url[after] != '\0';
  } else { /* an SMTP path is the EHLO domain */
    after += strcspn(url + after, "?#");
    after += url[after] != '\0'; /* "smtp://host?<hidden>" */
  }
  if (url[after] != '\0') {
    span[n][0] = after;
    span[n++][1] = strlen(url);
  }
  return n;
}

/* url with its hidden parts (cfg_url_hidden) written as <hidden>. */
static void print_url(FILE *out, const char *url) {
  size_t span[2][2], n = cfg_url_hidden(url, span), done = 0;

  for (size_t i = 0; i < n; i++) {
    fprintf(out, "%.*s<hidden>", (int)(span[i][0] - done), url + done);
    done = span[i][1];
  }
  fprintf(out, "%s\n", url + done);
}

/* One [alert] section, its keys in table order.  A url read from
 * url_file or url_env is not printed: the key that names it is. */
static void print_alert(const struct alert_cfg *a, FILE *out) {
  char buf[32];

  fprintf(out, "\n[alert \"%s\"]\n", a->name);
  for (size_t k = 0; k < AK_COUNT; k++) {
    const struct opt *o = &alert_options[k];
    const char *v;
    if (o->type == OPT_DURATION) {
      uint64_t ms = *(const uint64_t *)(const void *)((const char *)a +
                                                      o->offset);
      fprintf(out, "%-14s = %s\n", o->key,
              duration_str(ms, buf, sizeof(buf)));
      continue;
    }
    if ((v = alert_str(a, (enum alert_key)k)) == NULL ||
        (k == AK_URL && (a->url_file != NULL || a->url_env != NULL)))
      continue;
    fprintf(out, "%-14s = ", o->key);
    if (k == AK_URL)
      print_url(out, v);
    else
      fprintf(out, "%s\n", v);
  }
}

static void print_alerts(const struct config *cfg, FILE *out) {
  for (size_t i = 0; i < cfg->nalerts; i++)
    print_alert(&cfg->alerts[i], out);
}

void cfg_print(const struct config *cfg, FILE *out) {
  fprintf(out, "; effective settings of %s\n",
          cfg->path ? cfg->path : "(no config file)");
  fprintf(out, "[poller]\n");
  print_duration(out, "interval", cfg->interval_ms);
  fprintf(out, "%-12s= %s\n", "database", cfg->database);
  fprintf(out, "%-12s= %llu\n", "concurrency",
          (unsigned long long)cfg->concurrency);
  fprintf(out, "%-12s= %llu\n", "rate", (unsigned long long)cfg->rate);
  print_duration(out, "confirm", cfg->confirm_ms);
  fprintf(out, "\n[resolver]\n%-12s= %s\n", "servers",
          cfg->servers ? cfg->servers : "");
  print_duration(out, "timeout", cfg->timeout_ms);
  fprintf(out, "%-12s= %llu\n", "tries", (unsigned long long)cfg->tries);
  print_targets(cfg, out);
  fprintf(out, "\n[zones]\n%-12s= %s\n", "catalog", cfg->catalog_path);
  for (size_t i = 0; i < cfg->nextra; i++)
    fprintf(out, "%-12s= %s\n", "extra", cfg->extra[i]);
  fprintf(out, "%-12s=", "use");
  for (size_t i = 0; i < cfg->cat.n; i++)
    if (cfg->enabled[i])
      fprintf(out, " %s", cfg->cat.zones[i].id);
  fprintf(out, "\n");
  if (cfg->dqs_key != NULL)
    fprintf(out, "%-12s= (set, not shown)\n", "dqs_key");
  fprintf(out, "\n[identity]\n%-12s= %s\n", "enabled",
          cfg->identity ? "yes" : "no");
  if (cfg->http_listen != NULL)
    fprintf(out, "\n[http]\n%-12s= %s\n", "listen", cfg->http_listen);
  if (cfg->http_token_file != NULL)
    fprintf(out, "%-12s= %s\n", "token_file", cfg->http_token_file);
  print_alerts(cfg, out);
}
