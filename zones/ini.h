/* Readers for the line-oriented files blwatch takes: INI (config, catalog)
 * and plain target lists.
 *
 * Comments start with ';' or '#' at the beginning of a line, or after
 * white space inside a line.  Blank lines are skipped and values are
 * trimmed.  Every error message is "FILE:LINE: problem".
 */
#ifndef BW_INI_H
#define BW_INI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

/* Longest line accepted; longer lines are an error, never split. */
#define INI_MAX_LINE 4096

/* Called for each non-blank line with comments removed and white space
 * trimmed.  text may be modified.  A non-zero return stops reading; the
 * callback puts the problem (without a FILE:LINE prefix) in err. */
typedef enum bw_err (*ini_line_fn)(void *arg, int line, char *text,
                                   char *err);

/* Reads fp line by line; name is used in messages. */
enum bw_err ini_read_lines_fp(FILE *fp, const char *name, ini_line_fn fn,
                              void *arg, char *err);
/* Opens path ("-" is stdin) and reads it as above. */
enum bw_err ini_read_lines(const char *path, ini_line_fn fn, void *arg,
                           char *err);

/* One INI event: a section header (key == NULL) or a key = value line. */
struct ini_entry {
  const char *file;
  int line;
  const char *section; /* "alert" for [alert "ops"] */
  const char *subname; /* "ops" for [alert "ops"], "" when absent */
  const char *key;     /* lowercase; NULL for a section header */
  char *value;         /* trimmed, may be empty, may be modified */
};

typedef enum bw_err (*ini_fn)(void *arg, const struct ini_entry *e,
                              char *err);

enum bw_err ini_parse(const char *path, ini_fn fn, void *arg, char *err);

/* Value helpers shared by the config and catalog parsers.  Each returns
 * BW_OK or BW_EINVAL/BW_ERANGE with a message in err (no prefix). */
enum bw_err ini_bool(const char *v, bool *out, char *err);
enum bw_err ini_uint(const char *v, uint64_t max, uint64_t *out, char *err);
/* "90", "90s", "5m", "1h", "2d" -> milliseconds; "1.5s" is accepted. */
enum bw_err ini_duration(const char *v, uint64_t *ms, char *err);

/* Splits a list separated by commas and/or white space in place; calls fn
 * for each non-empty item and stops at the first error. */
typedef enum bw_err (*ini_item_fn)(void *arg, char *item, char *err);
enum bw_err ini_split(char *v, ini_item_fn fn, void *arg, char *err);

/* Trims white space at both ends in place and returns the start. */
char *ini_trim(char *s);

#endif
