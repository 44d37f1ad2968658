#include "err.h"

#include <stdarg.h>
#include <stdio.h>

const char *bw_strerror(enum bw_err err) {
  switch (err) {
#define BW_ERR_CASE(name, msg)                                                \
  case name:                                                                  \
    return msg;
    BW_ERR_LIST(BW_ERR_CASE)
#undef BW_ERR_CASE
  }
  return "unknown error";
}

enum bw_err bw_fail(char *buf, enum bw_err code, const char *fmt, ...) {
  va_list ap;

  if (buf != NULL) {
    va_start(ap, fmt);
    vsnprintf(buf, BW_ERRLEN, fmt, ap);
    va_end(ap);
    /* Messages quote what files and the network said: a control byte
     * (an escape sequence, a CR rewriting the line) never reaches a
     * terminal or the journal as is. */
    for (char *p = buf; *p != '\0'; p++)
      if ((unsigned char)*p < 0x20 || *p == 0x7f)
        *p = '?';
  }
  return code;
}
