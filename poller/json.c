#include "json.h"

void json_str(FILE *out, const char *s) {
  static const char hex[] = "0123456789abcdef";

  if (s == NULL) {
    fputs("null", out);
    return;
  }
  putc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
    switch (*p) {
    case '"':
      fputs("\\\"", out);
      break;
    case '\\':
      fputs("\\\\", out);
      break;
    case '\n':
      fputs("\\n", out);
      break;
    case '\t':
      fputs("\\t", out);
      break;
    default:
      if (*p < 0x20 || *p == 0x7f) {
        fputs("\\u00", out);
        putc(hex[*p >> 4], out);
        putc(hex[*p & 0xf], out);
      } else {
        putc(*p, out);
      }
    }
  }
  putc('"', out);
}
