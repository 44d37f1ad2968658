/* main() for a fuzz target built without libFuzzer: runs
 * LLVMFuzzerTestOneInput() once on every file named on the command line,
 * and on every file (not starting with '.') of every directory named,
 * in name order.
 *
 *   fuzz_catalog tests/fuzz/corpus/catalog [MORE FILES OR DIRS...]
 *
 * Exits 0 when at least one input ran and none aborted; a broken
 * invariant or a sanitizer report aborts with the input's name on stderr.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path) {
  FILE *fp = fopen(path, "rb");
  uint8_t *data = NULL;
  size_t len = 0, cap = 0, n;

  if (fp == NULL) {
    perror(path);
    return -1;
  }
  do {
    if (len == cap) {
      cap = cap ? cap * 2 : 4096;
      data = realloc(data, cap);
      if (data == NULL) {
        perror("replay: realloc");
        exit(1);
      }
    }
    n = fread(data + len, 1, cap - len, fp);
    len += n;
  } while (n > 0);
  if (ferror(fp)) {
    perror(path);
    fclose(fp);
    free(data);
    return -1;
  }
  fclose(fp);
  /* Announced first, so that the input is named if it aborts. */
  fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
  /* A private copy of exactly len bytes, so that ASan sees an overread. */
  uint8_t *exact = malloc(len ? len : 1);
  if (exact == NULL)
    exit(1);
  if (len > 0)
    memcpy(exact, data, len);
  free(data);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  return 0;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns the number of inputs run, or -1 on an error. */
static long run_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *ent;
  char **names = NULL;
  size_t n = 0;
  long ran = 0;

  if (d == NULL) {
    perror(dir);
    return -1;
  }
  while ((ent = readdir(d)) != NULL) {
    if (ent->d_name[0] == '.')
      continue;
    names = realloc(names, (n + 1) * sizeof(*names));
    if (names == NULL || (names[n] = strdup(ent->d_name)) == NULL) {
      perror("replay");
      exit(1);
    }
    n++;
  }
  closedir(d);
  qsort(names, n, sizeof(*names), cmp_names);
  for (size_t i = 0; i < n; i++) {
    char path[4096];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
    free(names[i]);
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
      continue;
    if (run_file(path) != 0)
      ran = -1;
    else if (ran >= 0)
      ran++;
  }
  free(names);
  return ran;
}

int main(int argc, char **argv) {
  long total = 0;

  if (argc < 2) {
    fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 64;
  }
  for (int i = 1; i < argc; i++) {
    struct stat sb;
    long ran;
    if (stat(argv[i], &sb) != 0) {
      perror(argv[i]);
      return 1;
    }
    ran = S_ISDIR(sb.st_mode) ? run_dir(argv[i])
                              : (run_file(argv[i]) == 0 ? 1 : -1);
    if (ran < 0)
      return 1;
    total += ran;
  }
  if (total == 0) {
    fprintf(stderr, "replay: no inputs found\n");
    return 1;
  }
  printf("replay: %ld inputs, no failure\n", total);
  return 0;
}
