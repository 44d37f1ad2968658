#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static bool prefixes;

/* $JOURNAL_STREAM is "DEV:INODE" of the stream journald gave us; it is
 * only ours if stderr is still that stream (see systemd.exec(5)). */
void log_init(void) {
  const char *js = getenv("JOURNAL_STREAM");
  unsigned long long dev, ino;
  struct stat sb;

  prefixes = js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
             fstat(2, &sb) == 0 && sb.st_dev == dev && sb.st_ino == ino;
}

void log_msg(enum log_level level, const char *fmt, ...) {
  char line[1024];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (prefixes)
    fprintf(stderr, "<%d>%s\n", (int)level, line);
  else
    fprintf(stderr, "blwatch: %s\n", line);
}
