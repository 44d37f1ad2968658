/* The blwatch configuration file (SPEC.md "Config file").
 *
 * cfg_load() parses the whole file, the target files it names and the zone
 * catalog, and either returns a complete config or an error naming the
 * file, line and problem; nothing is half-applied, so a reload can parse
 * into a fresh struct and swap.
 */
#ifndef BW_CONFIG_H
#define BW_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "catalog.h"
#include "err.h"
#include "target.h"

#define CFG_DEFAULT_PATH "/etc/blwatch/blwatch.conf"
/* The event_mask bit of identity_changed events (after enum event_type's
 * pair and zone events). */
#define CFG_EV_IDENTITY_CHANGED 6

/* Room for the line of each [alert] key (config.c checks that its table
 * fits). */
#define CFG_ALERT_KEYS 24

struct alert_cfg {
  char *name;
  char *type; /* "email" or "webhook" */
  char *url;  /* as written, or read from url_file/url_env by
                 cfg_load_secrets(); may hold a password or a webhook
                 token: print it only through cfg_url_hidden() */
  char *url_file;
  char *url_env;
  char *starttls; /* required | try | no */
  char *username;
  char *password_file;
  char *from;
  char *to; /* the list as written */
  char *format; /* json | slack */
  char *secret_file;
  char *ca_file;
  char *password_env; /* name of an environment variable */
  char *secret_env;
  char *events;   /* the event types this channel gets; NULL: all */
  uint64_t retry_ms;   /* first retry delay; doubles up to an hour */
  uint64_t give_up_ms; /* a notice older than this is given up */
  uint64_t group_interval_ms; /* after a notice, new events wait this long
                                 for more to join them; 0: only the quiet
                                 period */
  unsigned event_mask; /* bit per enum event_type, from events; and
                          CFG_EV_IDENTITY_CHANGED */
  char *password; /* loaded secrets: never printed or logged */
  char *secret;
  char *file;
  int line; /* of the section header */
  int key_line[CFG_ALERT_KEYS]; /* where each key was given; 0: not */
};

struct config {
  char *path; /* NULL when running without a config file */

  /* [poller] */
  uint64_t interval_ms;
  char *database;
  uint64_t concurrency;
  uint64_t rate;
  uint64_t confirm_ms;

  /* [resolver] */
  char *servers; /* c-ares CSV form; NULL: /etc/resolv.conf */
  uint64_t timeout_ms;
  uint64_t tries;

  /* [targets]: the config's own target lines in order, the hosts of the
   * target files (resolved every cycle), and the matched target files,
   * whose address and domain lines are read again by cfg_each_target()
   * instead of being kept: a file of a million addresses costs no memory
   * between syncs. */
  struct target_spec *targets;
  size_t ntargets;
  struct target_spec *file_hosts;
  size_t nfile_hosts;
  char **target_files;
  size_t ntarget_files;
  uint64_t nfile_targets; /* address and domain lines in the files */
  uint64_t max_range;

  /* [zones] */
  char *catalog_path;
  char **extra;
  size_t nextra;
  char *use;
  char *skip;
  char *dqs_key; /* a secret: never printed */
  struct catalog cat;
  bool *enabled; /* parallel to cat.zones */
  size_t nenabled;

  /* [identity] */
  bool identity;

  /* [http] */
  char *http_listen;     /* "127.0.0.1:9850"; NULL: no HTTP endpoint */
  char *http_token_file; /* required unless listen is a loopback address */
  char *http_token;      /* loaded secret: never printed or logged */
  int http_line;         /* where listen is set, for messages */

  struct alert_cfg *alerts;
  size_t nalerts;
};

/* Loads path (NULL: no config file, defaults only, default catalog).  On
 * success *cfg is complete; on failure it is freed and err holds the
 * message.  The caller frees a loaded config with cfg_free(). */
enum bw_err cfg_load(struct config *cfg, const char *path, char *err);

void cfg_free(struct config *cfg);

/* Calls fn for each address and domain target: the config's lines, then
 * each target file's lines, read again now.  A file that changed since
 * the config was loaded and no longer parses is an error (FILE:LINE). */
typedef enum bw_err (*cfg_target_fn)(void *arg, const struct target_spec *t,
                                     char *err);
enum bw_err cfg_each_target(const struct config *cfg, cfg_target_fn fn,
                            void *arg, char *err);

/* The host targets (config lines and target files), *pos from 0; NULL
 * after the last. */
const struct target_spec *cfg_next_host(const struct config *cfg,
                                        size_t *pos);

/* Target lines in all: what config-check and the log report. */
uint64_t cfg_target_lines(const struct config *cfg);

/* Reads the alert channels' secrets (password_file/_env, secret_file/_env).
 * Only the commands that send or validate notices need them, so `status`
 * works for a user who may not read them. */
enum bw_err cfg_load_secrets(struct config *cfg, char *err);

/* Prints the effective settings in config-file form, secrets redacted:
 * an [alert] url keeps its scheme, host and port; its password (and, for
 * a webhook, its userinfo, path and query) is printed as <hidden>. */
void cfg_print(const struct config *cfg, FILE *out);

/* The parts of an [alert] url that are never shown, as byte ranges
 * [span[i][0], span[i][1]) of url: the password of an smtp(s) URL's
 * userinfo and its query; all the userinfo of an http(s) URL and all that
 * follows the '/' or '?' after its host.  Returns how many (0 to 2). */
size_t cfg_url_hidden(const char *url, size_t span[2][2]);

/* The [alert "NAME"] channel of cfg, or NULL. */
const struct alert_cfg *cfg_alert(const struct config *cfg, const char *name);

/* Where the default catalog is: the installed one, or the source tree's
 * for an uninstalled build. */
const char *cfg_default_catalog(void);

#endif
