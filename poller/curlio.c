/* After libcurl's docs/examples/multi-uv.c, with the context in a struct,
 * poll errors passed on as CURL_CSELECT_ERR, and a zero timeout turned
 * into 1 ms because libcurl must not be called from its timer callback. */
#include "curlio.h"

#include <stdbool.h>
#include <stdlib.h>

struct job {
  curlio_done_fn fn;
  void *arg;
  CURL *easy;
  struct job *prev, *next;
};

struct csock {
  uv_poll_t poll;
  curl_socket_t fd;
  struct curlio *io;
  struct csock *prev, *next;
};

struct curlio {
  uv_loop_t *loop;
  CURLM *multi;
  uv_timer_t timer;
  struct job *jobs;   /* transfers running */
  struct csock *socks; /* sockets watched */
  unsigned running;
  int open_handles;
  bool closing;
};

/* Doubly linked lists, so either kind can leave from anywhere. */
#define LIST_ADD(head, x)                                                     \
  do {                                                                        \
    (x)->prev = NULL;                                                         \
    (x)->next = (head);                                                       \
    if ((head) != NULL)                                                       \
      (head)->prev = (x);                                                     \
    (head) = (x);                                                             \
  } while (0)
#define LIST_DEL(head, x)                                                     \
  do {                                                                        \
    if ((x)->prev != NULL)                                                    \
      (x)->prev->next = (x)->next;                                            \
    else                                                                      \
      (head) = (x)->next;                                                     \
    if ((x)->next != NULL)                                                    \
      (x)->next->prev = (x)->prev;                                            \
  } while (0)

static void sock_close(struct curlio *io, struct csock *s);

static void maybe_free(struct curlio *io) {
  if (io->closing && io->open_handles == 0)
    free(io);
}

static void on_closed(uv_handle_t *h);

static void sock_close(struct curlio *io, struct csock *s) {
  LIST_DEL(io->socks, s);
  uv_poll_stop(&s->poll);
  uv_close((uv_handle_t *)&s->poll, on_closed);
}

static void on_closed(uv_handle_t *h) {
  struct csock *s = h->data;
  struct curlio *io = s->io;

  free(s);
  io->open_handles--;
  maybe_free(io);
}

static void on_timer_closed(uv_handle_t *h) {
  struct curlio *io = h->data;

  io->open_handles--;
  maybe_free(io);
}

/* Hands finished transfers to their owners. */
static void drain(struct curlio *io) {
  CURLMsg *msg;
  int left;

  while ((msg = curl_multi_info_read(io->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    CURL *easy = msg->easy_handle;
    CURLcode result = msg->data.result;
    struct job *job = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&job);
    curl_multi_remove_handle(io->multi, easy);
    io->running--;
    if (job != NULL) {
      LIST_DEL(io->jobs, job);
      job->fn(job->arg, easy, result);
    }
    free(job);
    curl_easy_cleanup(easy);
  }
}

static void on_poll(uv_poll_t *h, int status, int events) {
  struct csock *s = h->data;
  int flags = 0, running;

  if (status < 0)
    flags = CURL_CSELECT_ERR;
  if (events & UV_READABLE)
    flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE)
    flags |= CURL_CSELECT_OUT;
  curl_multi_socket_action(s->io->multi, s->fd, flags, &running);
  drain(s->io);
}

static void on_timer(uv_timer_t *t) {
  struct curlio *io = t->data;
  int running;

  curl_multi_socket_action(io->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  drain(io);
}

static int on_timeout(CURLM *multi, long ms, void *arg) {
  struct curlio *io = arg;

  (void)multi;
  if (ms < 0)
    uv_timer_stop(&io->timer);
  else
    uv_timer_start(&io->timer, on_timer, ms == 0 ? 1 : (uint64_t)ms, 0);
  return 0;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *arg,
                     void *sockp) {
  struct curlio *io = arg;
  struct csock *s = sockp;
  int events = 0;

  (void)easy;
  if (what == CURL_POLL_REMOVE) {
    if (s != NULL) {
      sock_close(io, s);
      curl_multi_assign(io->multi, fd, NULL);
    }
    return 0;
  }
  if (s == NULL) {
    s = calloc(1, sizeof(*s));
    if (s == NULL || uv_poll_init_socket(io->loop, &s->poll, fd) != 0) {
      free(s);
      return -1;
    }
    s->fd = fd;
    s->io = io;
    s->poll.data = s;
    LIST_ADD(io->socks, s);
    io->open_handles++;
    curl_multi_assign(io->multi, fd, s);
  }
  if (what != CURL_POLL_OUT)
    events |= UV_READABLE;
  if (what != CURL_POLL_IN)
    events |= UV_WRITABLE;
  uv_poll_start(&s->poll, events, on_poll);
  return 0;
}

enum bw_err curlio_open(uv_loop_t *loop, struct curlio **out, char *err) {
  static bool global_ready;
  struct curlio *io;

  if (!global_ready && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return bw_fail(err, BW_EINVAL, "cannot initialise libcurl");
  global_ready = true;
  io = calloc(1, sizeof(*io));
  if (io == NULL || (io->multi = curl_multi_init()) == NULL) {
    free(io);
    return bw_fail(err, BW_ENOMEM, "out of memory");
  }
  io->loop = loop;
  uv_timer_init(loop, &io->timer);
  io->timer.data = io;
  io->open_handles = 1;
  curl_multi_setopt(io->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(io->multi, CURLMOPT_SOCKETDATA, io);
  curl_multi_setopt(io->multi, CURLMOPT_TIMERFUNCTION, on_timeout);
  curl_multi_setopt(io->multi, CURLMOPT_TIMERDATA, io);
  curl_multi_setopt(io->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 16L);
  *out = io;
  return BW_OK;
}

enum bw_err curlio_add(struct curlio *io, CURL *easy, curlio_done_fn fn,
                       void *arg, char *err) {
  struct job *job = malloc(sizeof(*job));

  if (job == NULL) {
    curl_easy_cleanup(easy);
    return bw_fail(err, BW_ENOMEM, "out of memory");
  }
  job->fn = fn;
  job->arg = arg;
  job->easy = easy;
  curl_easy_setopt(easy, CURLOPT_PRIVATE, job);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  if (curl_multi_add_handle(io->multi, easy) != CURLM_OK) {
    free(job);
    curl_easy_cleanup(easy);
    return bw_fail(err, BW_EINVAL, "cannot start a transfer");
  }
  LIST_ADD(io->jobs, job);
  io->running++;
  return BW_OK;
}

unsigned curlio_running(const struct curlio *io) { return io->running; }

void curlio_close(struct curlio *io) {
  struct job *job;

  if (io == NULL)
    return;
  io->closing = true;
  while ((job = io->jobs) != NULL) {
    LIST_DEL(io->jobs, job);
    curl_multi_remove_handle(io->multi, job->easy);
    job->fn(job->arg, job->easy, CURLE_ABORTED_BY_CALLBACK);
    curl_easy_cleanup(job->easy);
    free(job);
  }
  curl_multi_cleanup(io->multi);
  /* Whatever libcurl did not report removed is closed here. */
  while (io->socks != NULL)
    sock_close(io, io->socks);
  uv_close((uv_handle_t *)&io->timer, on_timer_closed);
}
