/* Fuzz target: the config file (poller/config.c) through cfg_load().
 *
 * The bytes are written to a temporary blwatch.conf and loaded.  File
 * names in the values of keys that read files (file, catalog, extra, and
 * anything else whose key contains one of those words) are confined to the
 * fuzzer's private directory: every '/' becomes '_' and the directory is
 * put in front, so no input can make the fuzzer read /dev/stdin, a FIFO
 * or a device.  That directory holds a small catalog (zones.conf), a
 * second one (extra.conf) and two target lists (a.list, b.list).
 *
 * Checked: an error names a file (and no line 0), a failed load leaves the
 * struct zeroed, and a loaded config printed by cfg_print() loads again
 * (secrets aside) and prints the same settings.
 *
 * BLWATCH_FUZZ_VERBOSE=1 prints what each load gave.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

static const char small_catalog[] =
    "[t-ip]\n"
    "name = Test IP list\n"
    "zone = ip.bl.test\n"
    "kind = ip4, ip6\n"
    "code = 127.0.0.2 listed\n"
    "code = 127.0.0.4-127.0.0.7 exploited\n"
    "refusal = 127.255.255.254 public resolver\n"
    "default = yes\n"
    "testpoints = yes\n"
    "dqs = ip.dq.test\n"
    "max_daily = 1000\n"
    "\n"
    "[t-dom]\n"
    "zone = dom.bl.test\n"
    "kind = domain\n"
    "bitmask = 2 black\n"
    "bitmask = 4 grey\n"
    "refusal = 127.0.0.1 refused\n"
    "default = yes\n"
    "\n"
    "[t-optin]\n"
    "zone = optin.bl.test\n"
    "kind = ip4\n"
    "default = no\n";

static const char extra_catalog[] =
    "[t-ip]\n"
    "zone = other.bl.test\n"
    "kind = ip4\n"
    "[t-extra]\n"
    "zone = extra.bl.test\n"
    "kind = ip6\n"
    "default = yes\n";

static const char list_a[] = "# a list\n"
                             "192.0.2.1 mx-1\n"
                             "198.51.100.0/30 range\n"
                             "host mx.example.com relay\n"
                             "example.org\n";
static const char list_b[] = "2001:db8::/126 v6\n";

static void setup(void) {
  static bool done;

  if (done)
    return;
  done = true;
  unsetenv("BLWATCH_DQS_KEY");
  fuzz_write("zones.conf", small_catalog, sizeof(small_catalog) - 1);
  fuzz_write("extra.conf", extra_catalog, sizeof(extra_catalog) - 1);
  fuzz_write("a.list", list_a, sizeof(list_a) - 1);
  fuzz_write("b.list", list_b, sizeof(list_b) - 1);
}

/* True when the key part of a line (before its first '=') mentions a key
 * that names a file to read. */
static bool names_file(const uint8_t *line, size_t eq) {
  char key[64];
  size_t k = 0;

  for (size_t i = 0; i < eq; i++) {
    if (isspace(line[i]))
      continue;
    if (k + 1 < sizeof(key))
      key[k++] = (char)tolower(line[i]);
    else
      return true; /* a very long key: confine it anyway */
  }
  key[k] = '\0';
  return strstr(key, "file") != NULL || strstr(key, "catalog") != NULL ||
         strstr(key, "extra") != NULL;
}

/* The input with file names confined as described above (malloc'd). */
static char *confine(const uint8_t *data, size_t size, size_t *out_len) {
  const char *dir = fuzz_dir();
  size_t dlen = strlen(dir);
  size_t cap = size + 1, used = 0, start = 0;
  char *out = malloc(cap);

  if (out == NULL)
    abort();
  while (start < size) {
    const uint8_t *nl = memchr(data + start, '\n', size - start);
    size_t end = nl ? (size_t)(nl - data) : size;
    const uint8_t *line = data + start;
    size_t len = end - start;
    const uint8_t *eq = memchr(line, '=', len);
    size_t need = len + dlen + 3;
    if (used + need + 1 > cap) {
      cap = (used + need + 1) * 2;
      out = realloc(out, cap);
      if (out == NULL)
        abort();
    }
    if (eq != NULL && names_file(line, (size_t)(eq - line))) {
      size_t keylen = (size_t)(eq - line) + 1, v = keylen;
      memcpy(out + used, line, keylen);
      used += keylen;
      out[used++] = ' ';
      memcpy(out + used, dir, dlen);
      used += dlen;
      out[used++] = '/';
      while (v < len && (line[v] == ' ' || line[v] == '\t'))
        v++;
      for (; v < len; v++)
        out[used++] = line[v] == '/' ? '_' : (char)line[v];
    } else {
      memcpy(out + used, line, len);
      used += len;
    }
    if (nl != NULL)
      out[used++] = '\n';
    start = end + 1;
  }
  *out_len = used;
  return out;
}

static char *print_config(const struct config *cfg) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);

  if (out == NULL)
    abort();
  cfg_print(cfg, out);
  fclose(out);
  return text;
}

/* Where the printed settings start after the first line, which names
 * the file. */
static size_t body(const char *printed) {
  return strcspn(printed, "\n") + (printed[strcspn(printed, "\n")] != '\0');
}

static void check_error(const char *err, const char *conf) {
  const char *dir = fuzz_dir();
  const char *catalog = cfg_default_catalog();

  FUZZ_CHECK(err[0] != '\0', "cfg_load failed without a message");
  FUZZ_CHECK(strncmp(err, dir, strlen(dir)) == 0 ||
                 strncmp(err, catalog, strlen(catalog)) == 0,
             "error does not start with a file name: %s", err);
  /* The file names here hold no ':', so the first one ends the name. */
  const char *colon = strchr(err, ':');
  FUZZ_CHECK(colon != NULL, "error without ':' after the file: %s", err);
  if (colon[1] >= '0' && colon[1] <= '9')
    FUZZ_CHECK(atoi(colon + 1) >= 1, "error names line 0: %s", err);
  if (strncmp(err, conf, strlen(conf)) == 0 && err[strlen(conf)] == ':')
    FUZZ_CHECK(fuzz_err_has_line(err, conf) || err[strlen(conf) + 1] == ' ',
               "malformed error: %s", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[BW_ERRLEN];
  struct config cfg, again;
  size_t len;
  char *text, *printed, *printed2;
  const char *conf, *conf2;
  enum bw_err rc;

  setup();
  text = confine(data, size, &len);
  conf = fuzz_write("blwatch.conf", text, len);
  free(text);
  err[0] = '\0';
  rc = cfg_load(&cfg, conf, err);
  if (getenv("BLWATCH_FUZZ_VERBOSE") != NULL)
    fprintf(stderr, "fuzz_config: %s\n", rc == BW_OK ? "loaded" : err);
  if (rc != BW_OK) {
    check_error(err, conf);
    FUZZ_CHECK(cfg.path == NULL && cfg.ntargets == 0 && cfg.cat.n == 0,
               "a failed cfg_load left state behind");
    return 0;
  }
  FUZZ_CHECK(cfg.path != NULL && strcmp(cfg.path, conf) == 0, "cfg.path");
  FUZZ_CHECK(cfg.nenabled > 0 && cfg.nenabled <= cfg.cat.n,
             "%zu of %zu zones enabled", cfg.nenabled, cfg.cat.n);
  for (size_t i = 0; i < cfg.cat.n; i++)
    fuzz_check_zone(&cfg.cat.zones[i]);
  for (size_t i = 0; i < cfg.ntargets; i++)
    FUZZ_CHECK(cfg.targets[i].name != NULL ||
                   target_count(&cfg.targets[i]) <= cfg.max_range,
               "target %zu is larger than max_range", i);
  FUZZ_CHECK(cfg.database != NULL && cfg.catalog_path != NULL,
             "defaults missing");

  /* The printed settings are a config that loads to the same settings.
   * A DQS key is printed as "(set, not shown)", so not with one. */
  printed = print_config(&cfg);
  if (cfg.dqs_key == NULL) {
    conf2 = fuzz_write("printed.conf", printed, strlen(printed));
    err[0] = '\0';
    rc = cfg_load(&again, conf2, err);
    /* A value can grow past INI_MAX_LINE when printed with padding, or
     * repeated `to` lines joined into one. */
    if (rc != BW_OK && strstr(err, "longer than") != NULL) {
      free(printed);
      cfg_free(&cfg);
      return 0;
    }
    FUZZ_CHECK(rc == BW_OK, "printed config does not load: %s\n%s", err,
               printed);
    printed2 = print_config(&again);
    FUZZ_CHECK(strcmp(printed + body(printed), printed2 + body(printed2)) ==
                   0,
               "printed config loads to other settings:\n%s\n----\n%s",
               printed, printed2);
    free(printed2);
    cfg_free(&again);
  }
  free(printed);
  cfg_free(&cfg);
  return 0;
}
