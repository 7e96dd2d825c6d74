/*
 * hdlload: a load generator for the native Handle protocol (RESOLUTION requests over UDP or TCP), what wrk
 * is for HTTP. It keeps `depth` requests in flight on each of `connections` sockets, spread over `threads`
 * epoll loops, for `seconds`, and prints one JSON line of what came back.
 *
 *   hdlload --udp|--tcp --host H --port P --handles FILE --seconds S
 *           [--connections C] [--depth D] [--threads T] [--minor N] [--timeout-ms MS]
 *
 * Build: gcc -O2 -Wall -Wextra -pthread -o hdlload hdlload.c
 *
 * Counting:
 *  - an answer is a complete response message whose request id is one in flight; `codes` counts answers by
 *    response code, `ok` is code 1, `not_found` code 100; rps is ok per second of the run.
 *  - UDP answers larger than 492 bytes of message come as several datagrams (sequence numbers 0, 1, ...):
 *    they are reassembled by request id, and the answer counts (and its latency ends) when the last missing
 *    datagram arrives; the code is read from datagram 0. `parts` counts the datagrams beyond the first.
 *  - a request unanswered after --timeout-ms (1000) counts as `lost` and its slot sends a new request; this
 *    holds for TCP too, so that a server that drops requests cannot drain a pipeline. An answer to a request
 *    already given up on counts as `late`, not as an answer.
 *  - `errors` is answers with a code other than 1 and 100, plus protocol and transport errors: a message
 *    longer than 262144 bytes or too short to hold a code, a malformed datagram, a TCP connection closed or
 *    failed (then reopened, its requests in flight counted as lost; `reconnects` counts the reopenings).
 *  - requests still in flight when the time is up are neither answers nor lost: sent >= answers + lost.
 * Exit status: 0 after a run (whatever the server answered), 2 on a usage error or when the server cannot
 * be reached at the start (TCP connect; UDP cannot tell).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define ENVELOPE 20
#define HEADER 24
#define UDP_PAYLOAD 492 /* 512-byte datagrams less the envelope */
#define MAX_MESSAGE 262144
#define MAX_PARTS ((MAX_MESSAGE + UDP_PAYLOAD - 1) / UDP_PAYLOAD)
#define PART_WORDS ((MAX_PARTS + 63) / 64)
#define OP_RESOLUTION 1
#define RC_SUCCESS 1
#define RC_NOT_FOUND 100
#define KEEP_ALIVE 0x02000000u
#define MAX_CODE 1024 /* codes at or above go to "other" */
#define BATCH 64      /* datagrams per recvmmsg / sendmmsg */
#define TICK_MS 20    /* how often a loop looks at the clock for timeouts and the end */
#define RETRY_NS 100000000ull /* between attempts to reopen a TCP connection */

/* Latency histogram: exact below 128 us, then 64 buckets per power of two (under 1.6 % error). */
#define LINEAR 128
#define HIST_BUCKETS (LINEAR + (31 - 7) * 64)

typedef struct {
    char *bytes; /* every request, back to back, each ready to send but for its id and expiration */
    size_t *offset;
    uint32_t *length;
    size_t count;
    uint32_t longest;
} Requests;

typedef struct {
    uint64_t sent, answers, ok, not_found, errors, lost, late, parts, reconnects;
    uint64_t codes[MAX_CODE + 1];
    uint64_t hist[HIST_BUCKETS];
} Stats;

typedef struct {
    uint32_t id;     /* 0: free */
    uint32_t round;  /* ids of this slot: slot + 1 + round * total_slots, so that id -> slot is a division */
    uint64_t sent_ns;
    /* UDP reassembly */
    uint32_t code, length, parts_expected, parts_seen;
    uint64_t seen[PART_WORDS];
} Slot;

typedef struct {
    int fd;
    int up;          /* TCP: 1 connected, 0 connect under way, -1 down (retry at retry_ns) */
    uint64_t retry_ns;
    uint32_t first;  /* its first slot in the global numbering */
    Slot *slots;
    /* TCP buffers */
    char *out;
    size_t out_at, out_len, out_cap;
    char *in;
    size_t in_len, in_cap;
    int want_out;
} Conn;

typedef struct {
    int index;
    int epoll;
    Conn **conns;
    int nconns;
    size_t cursor;
    Stats stats;
    pthread_t thread;
} Worker;

static struct {
    int udp;
    const char *host, *port, *handles;
    double seconds;
    int connections, depth, threads, minor, timeout_ms;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int family;
    Requests req;
    uint32_t total_slots;
    uint64_t end_ns;
    Conn *conns;
} cfg = {.connections = 0, .depth = 1, .threads = 1, .minor = 10, .timeout_ms = 1000};

static void usage(const char *why) {
    if (why)
        fprintf(stderr, "hdlload: %s\n", why);
    fprintf(stderr,
            "usage: hdlload --udp|--tcp --host H --port P --handles FILE --seconds S\n"
            "               [--connections C] [--depth D] [--threads T] [--minor N] [--timeout-ms MS]\n");
    exit(2);
}

static void fail(const char *what) {
    fprintf(stderr, "hdlload: %s: %s\n", what, strerror(errno));
    exit(2);
}

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void put32(char *p, uint32_t v) {
    p[0] = (char)(v >> 24), p[1] = (char)(v >> 16), p[2] = (char)(v >> 8), p[3] = (char)v;
}

static void put16(char *p, uint16_t v) {
    p[0] = (char)(v >> 8), p[1] = (char)v;
}

static uint32_t get32(const char *p) {
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* ---- arguments and the handles file ---- */

static long number(const char *text, long lo, long hi, const char *name) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || *end || end == text || v < lo || v > hi) {
        char why[128];
        snprintf(why, sizeof why, "%s must be an integer from %ld to %ld", name, lo, hi);
        usage(why);
    }
    return v;
}

static void parse_args(int argc, char **argv) {
    int mode = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--udp") || !strcmp(a, "--tcp")) {
            cfg.udp = a[2] == 'u', mode++;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            usage(NULL);
        if (i + 1 >= argc)
            usage("an option lacks its value");
        const char *v = argv[++i];
        if (!strcmp(a, "--host"))
            cfg.host = v;
        else if (!strcmp(a, "--port"))
            cfg.port = v, number(v, 1, 65535, "--port");
        else if (!strcmp(a, "--handles"))
            cfg.handles = v;
        else if (!strcmp(a, "--seconds")) {
            char *end;
            cfg.seconds = strtod(v, &end);
            if (*end || end == v || !(cfg.seconds > 0 && cfg.seconds <= 86400))
                usage("--seconds must be a number above 0");
        } else if (!strcmp(a, "--connections"))
            cfg.connections = (int)number(v, 1, 100000, a);
        else if (!strcmp(a, "--depth"))
            cfg.depth = (int)number(v, 1, 100000, a);
        else if (!strcmp(a, "--threads"))
            cfg.threads = (int)number(v, 1, 1024, a);
        else if (!strcmp(a, "--minor"))
            cfg.minor = (int)number(v, 0, 255, a);
        else if (!strcmp(a, "--timeout-ms"))
            cfg.timeout_ms = (int)number(v, 1, 3600000, a);
        else {
            char why[300];
            snprintf(why, sizeof why, "unknown option %.200s", a);
            usage(why);
        }
    }
    if (mode != 1)
        usage("give one of --udp and --tcp");
    if (!cfg.host || !cfg.port || !cfg.handles || cfg.seconds <= 0)
        usage("--host, --port, --handles and --seconds are required");
    if (!cfg.connections)
        cfg.connections = cfg.threads;
    if (cfg.threads > cfg.connections)
        cfg.threads = cfg.connections; /* a thread without a socket would do nothing */
    if ((uint64_t)cfg.connections * (uint64_t)cfg.depth > 10000000)
        usage("connections x depth is too large");
}

/* The request for `handle`, its request id and expiration left 0 (set when sent). */
static uint32_t encode(char *p, const char *handle, uint32_t n) {
    uint32_t body = 4 + n + 4 + 4;
    uint32_t message = HEADER + body + 4;
    memset(p, 0, ENVELOPE + message);
    p[0] = 2, p[1] = (char)cfg.minor;
    put16(p + 2, (uint16_t)(0x0200 | cfg.minor)); /* suggested major (low 2 bits), suggested minor */
    put32(p + 16, message);
    char *h = p + ENVELOPE;
    put32(h, OP_RESOLUTION);
    put32(h + 8, cfg.udp ? 0 : KEEP_ALIVE);
    put32(h + 20, body);
    put32(h + HEADER, n);
    memcpy(h + HEADER + 4, handle, n);
    /* index list, type list and credential lengths stay 0 */
    return ENVELOPE + message;
}

static void load_handles(void) {
    FILE *f = fopen(cfg.handles, "r");
    if (!f)
        fail(cfg.handles);
    size_t cap = 1024, used = 0, count = 0, ocap = 64;
    Requests *r = &cfg.req;
    r->bytes = malloc(cap);
    r->offset = malloc(ocap * sizeof *r->offset);
    r->length = malloc(ocap * sizeof *r->length);
    char *line = NULL;
    size_t linecap = 0;
    ssize_t got;
    while ((got = getline(&line, &linecap, f)) >= 0) {
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = 0;
        if (got == 0)
            continue;
        if (got > 65536)
            usage("a handle in the file is longer than 65536 bytes");
        size_t need = ENVELOPE + HEADER + 16 + (size_t)got;
        if (cfg.udp && need > ENVELOPE + UDP_PAYLOAD)
            usage("a handle is too long for a one-datagram UDP request");
        while (used + need > cap)
            cap *= 2, r->bytes = realloc(r->bytes, cap);
        if (count == ocap) {
            ocap *= 2;
            r->offset = realloc(r->offset, ocap * sizeof *r->offset);
            r->length = realloc(r->length, ocap * sizeof *r->length);
        }
        if (!r->bytes || !r->offset || !r->length)
            fail("memory");
        uint32_t len = encode(r->bytes + used, line, (uint32_t)got);
        r->offset[count] = used, r->length[count] = len, count++;
        used += len;
        if (len > r->longest)
            r->longest = len;
    }
    free(line);
    fclose(f);
    if (!count)
        usage("the handles file has no handle");
    r->count = count;
}

/* ---- statistics ---- */

static int bucket(uint64_t us) {
    if (us < LINEAR)
        return (int)us;
    if (us > 0x7fffffffu)
        us = 0x7fffffffu;
    int e = 63 - __builtin_clzll(us); /* 7..30 */
    return LINEAR + (e - 7) * 64 + (int)((us >> (e - 6)) & 63);
}

static double bucket_ms(int b) {
    if (b < LINEAR)
        return (b + 0.5) / 1000.0;
    int e = (b - LINEAR) / 64 + 7, sub = (b - LINEAR) % 64;
    double lo = (double)((uint64_t)(64 + sub) << (e - 6));
    double width = (double)(1ull << (e - 6));
    return (lo + width / 2) / 1000.0;
}

static void count_answer(Stats *s, uint32_t code, uint64_t latency_ns) {
    s->answers++;
    s->codes[code < MAX_CODE ? code : MAX_CODE]++;
    if (code == RC_SUCCESS)
        s->ok++;
    else if (code == RC_NOT_FOUND)
        s->not_found++;
    else
        s->errors++;
    s->hist[bucket(latency_ns / 1000)]++;
}

/* ---- requests and slots ---- */

static Slot *slot_of(Conn *c, uint32_t id) {
    if (id == 0)
        return NULL;
    uint32_t global = (id - 1) % cfg.total_slots;
    if (global < c->first || global >= c->first + (uint32_t)cfg.depth)
        return NULL;
    Slot *s = &c->slots[global - c->first];
    return s->id == id ? s : NULL;
}

/* Writes the next request of the round into `p` for slot `s`; its length. */
static uint32_t next_request(Worker *w, Conn *c, Slot *s, char *p, uint64_t now, uint32_t expiration) {
    uint32_t global = c->first + (uint32_t)(s - c->slots);
    uint64_t id = (uint64_t)global + 1 + (uint64_t)s->round * cfg.total_slots;
    if (id > 0xffffffffull)
        s->round = 0, id = (uint64_t)global + 1; /* wrapped: ids stay unique for 2^32 requests */
    s->round++;
    s->id = (uint32_t)id;
    s->sent_ns = now;
    s->parts_expected = s->parts_seen = 0;
    size_t k = w->cursor;
    w->cursor = (k + 1) % cfg.req.count;
    uint32_t len = cfg.req.length[k];
    memcpy(p, cfg.req.bytes + cfg.req.offset[k], len);
    put32(p + 8, s->id);
    put32(p + ENVELOPE + 16, expiration);
    w->stats.sent++;
    return len;
}

static uint32_t expiration_now(void) {
    return (uint32_t)time(NULL) + 3600;
}

/* ---- UDP ---- */

static int open_udp(void) {
    int fd = socket(cfg.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail("socket");
    int size = 4 << 20; /* deep pipelines of multi-datagram answers must not overflow the queue */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (connect(fd, (struct sockaddr *)&cfg.addr, cfg.addrlen) < 0)
        fail("connect");
    return fd;
}

typedef struct {
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    char *buf;
    int n;
} Batch;

static void udp_flush(Worker *w, Conn *c, Batch *b) {
    int at = 0;
    while (at < b->n) {
        int done = sendmmsg(c->fd, b->msgs + at, (unsigned)(b->n - at), 0);
        if (done < 0) {
            /* the requests not sent time out and are sent again; a full send queue is no error */
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                w->stats.errors++;
            break;
        }
        at += done;
    }
    b->n = 0;
}

static void udp_queue(Worker *w, Conn *c, Slot *s, Batch *b, uint64_t now, uint32_t expiration) {
    if (b->n == BATCH)
        udp_flush(w, c, b);
    char *p = b->buf + (size_t)b->n * (ENVELOPE + UDP_PAYLOAD);
    b->iov[b->n].iov_base = p;
    b->iov[b->n].iov_len = next_request(w, c, s, p, now, expiration);
    memset(&b->msgs[b->n].msg_hdr, 0, sizeof b->msgs[b->n].msg_hdr);
    b->msgs[b->n].msg_hdr.msg_iov = &b->iov[b->n];
    b->msgs[b->n].msg_hdr.msg_iovlen = 1;
    b->n++;
}

/* One datagram of an answer; the slot whose answer it completed (the slot is then free), else NULL. */
static Slot *udp_datagram(Worker *w, Conn *c, const char *d, size_t n, uint64_t now) {
    if (n < ENVELOPE) {
        w->stats.errors++;
        return NULL;
    }
    uint32_t id = get32(d + 8), seq = get32(d + 12), length = get32(d + 16);
    size_t expected = length > (uint64_t)seq * UDP_PAYLOAD ? length - (uint64_t)seq * UDP_PAYLOAD : 0;
    if (expected > UDP_PAYLOAD)
        expected = UDP_PAYLOAD;
    if (length > MAX_MESSAGE || length < 8 || expected == 0 || n - ENVELOPE != expected) {
        w->stats.errors++;
        return NULL;
    }
    if (seq > 0)
        w->stats.parts++;
    Slot *s = slot_of(c, id);
    if (!s) {
        if (seq == 0)
            w->stats.late++;
        return NULL;
    }
    uint64_t bit = 1ull << (seq % 64);
    if (s->parts_seen == 0) {
        s->length = length;
        s->parts_expected = (length + UDP_PAYLOAD - 1) / UDP_PAYLOAD;
        memset(s->seen, 0, sizeof(uint64_t) * ((s->parts_expected + 63) / 64));
    } else if (length != s->length) {
        w->stats.errors++; /* parts of different messages under one request id */
        return NULL;
    } else if (s->seen[seq / 64] & bit) {
        return NULL; /* a duplicate */
    }
    s->seen[seq / 64] |= bit;
    s->parts_seen++;
    if (seq == 0)
        s->code = get32(d + ENVELOPE + 4);
    if (s->parts_seen < s->parts_expected)
        return NULL;
    count_answer(&w->stats, s->code, now - s->sent_ns);
    s->id = 0;
    return s;
}

static void udp_readable(Worker *w, Conn *c, Batch *out, char *in) {
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    for (int round = 0; round < 16; round++) { /* then let the other sockets have a turn */
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = in + (size_t)i * 65536;
            iov[i].iov_len = 65536;
            memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(c->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) {
            /* ECONNREFUSED: an ICMP port unreachable, nobody listens; the requests will time out */
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                w->stats.errors++;
            break;
        }
        uint64_t now = now_ns();
        uint32_t expiration = expiration_now();
        for (int i = 0; i < n; i++) {
            Slot *s = udp_datagram(w, c, in + (size_t)i * 65536, msgs[i].msg_len, now);
            if (s && now < cfg.end_ns)
                udp_queue(w, c, s, out, now, expiration);
        }
        udp_flush(w, c, out);
        if (n < BATCH)
            break;
    }
}

/* ---- TCP ---- */

static int tcp_socket(void) {
    int fd = socket(cfg.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void tcp_watch(Worker *w, Conn *c, int op) {
    struct epoll_event ev = {.events = EPOLLIN | (c->want_out || c->up == 0 ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(w->epoll, op, c->fd, &ev) < 0 && op != EPOLL_CTL_DEL)
        w->stats.errors++;
}

static void tcp_fill(Worker *w, Conn *c, uint64_t now) {
    uint32_t expiration = expiration_now();
    for (int i = 0; i < cfg.depth; i++) {
        if (c->slots[i].id || now >= cfg.end_ns)
            continue;
        if (c->out_len + cfg.req.longest > c->out_cap) {
            memmove(c->out, c->out + c->out_at, c->out_len - c->out_at);
            c->out_len -= c->out_at, c->out_at = 0;
            /* requests timed out before the server read them still take room: wait for it to read */
            if (c->out_len + cfg.req.longest > c->out_cap)
                break;
        }
        c->out_len += next_request(w, c, &c->slots[i], c->out + c->out_len, now, expiration);
    }
}

static int tcp_flush(Worker *w, Conn *c) {
    while (c->out_at < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_at, c->out_len - c->out_at, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return -1;
        }
        c->out_at += (size_t)n;
    }
    if (c->out_at == c->out_len)
        c->out_at = c->out_len = 0;
    int want = c->out_len > 0;
    if (want != c->want_out) {
        c->want_out = want;
        tcp_watch(w, c, EPOLL_CTL_MOD);
    }
    return 0;
}

/* Closes the connection, counts what was in flight as lost, and starts opening it again. */
static void tcp_drop(Worker *w, Conn *c, uint64_t now) {
    w->stats.errors++;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    for (int i = 0; i < cfg.depth; i++)
        if (c->slots[i].id)
            c->slots[i].id = 0, w->stats.lost++;
    c->out_at = c->out_len = c->in_len = 0;
    c->want_out = 0;
    c->up = -1;
    c->retry_ns = now; /* at the next tick */
}

static void tcp_reopen(Worker *w, Conn *c, uint64_t now) {
    int fd = tcp_socket();
    fcntl(fd, F_SETFL, O_NONBLOCK);
    if (connect(fd, (struct sockaddr *)&cfg.addr, cfg.addrlen) < 0 && errno != EINPROGRESS) {
        close(fd);
        w->stats.errors++;
        c->retry_ns = now + RETRY_NS;
        return;
    }
    c->fd = fd, c->up = 0;
    w->stats.reconnects++;
    tcp_watch(w, c, EPOLL_CTL_ADD);
}

static void tcp_connected(Worker *w, Conn *c, uint64_t now) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
        close(c->fd);
        c->fd = -1, c->up = -1, c->retry_ns = now + RETRY_NS;
        w->stats.errors++;
        return;
    }
    c->up = 1;
    tcp_fill(w, c, now);
    c->want_out = -1; /* neither 0 nor 1: tcp_flush sets the watch to what is left to write */
    if (tcp_flush(w, c) < 0)
        tcp_drop(w, c, now);
}

/* The complete messages at the front of the input; -1 when the connection must be dropped. */
static int tcp_messages(Worker *w, Conn *c, uint64_t now) {
    size_t at = 0;
    while (c->in_len - at >= ENVELOPE) {
        const char *m = c->in + at;
        uint32_t length = get32(m + 16);
        if (length > MAX_MESSAGE || length < 8)
            return -1; /* nothing after it can be framed */
        if (c->in_len - at < ENVELOPE + (size_t)length)
            break;
        Slot *s = slot_of(c, get32(m + 8));
        if (s) {
            count_answer(&w->stats, get32(m + ENVELOPE + 4), now - s->sent_ns);
            s->id = 0;
        } else {
            w->stats.late++;
        }
        at += ENVELOPE + length;
    }
    memmove(c->in, c->in + at, c->in_len - at);
    c->in_len -= at;
    return 0;
}

static void tcp_readable(Worker *w, Conn *c) {
    uint64_t now;
    for (;;) {
        /* room is left: what stays in the buffer is less than one message of the largest size */
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
        now = now_ns();
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            tcp_drop(w, c, now);
            return;
        }
        if (n < 0)
            break;
        c->in_len += (size_t)n;
        if (tcp_messages(w, c, now) < 0) {
            tcp_drop(w, c, now);
            return;
        }
    }
    tcp_fill(w, c, now);
    if (tcp_flush(w, c) < 0)
        tcp_drop(w, c, now);
}

static void tcp_event(Worker *w, Conn *c, uint32_t events) {
    uint64_t now = now_ns();
    if (c->fd < 0)
        return;
    if (c->up == 0) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            tcp_connected(w, c, now);
        return;
    }
    if (events & EPOLLIN)
        tcp_readable(w, c);
    else if (events & (EPOLLERR | EPOLLHUP))
        tcp_drop(w, c, now);
    if (c->up == 1 && (events & EPOLLOUT) && tcp_flush(w, c) < 0)
        tcp_drop(w, c, now);
}

/* ---- the loops ---- */

/* Requests past their time are lost and their slots send anew; closed TCP connections are reopened. */
static void tick(Worker *w, Batch *out, uint64_t now) {
    uint64_t timeout = (uint64_t)cfg.timeout_ms * 1000000ull;
    uint32_t expiration = expiration_now();
    for (int k = 0; k < w->nconns; k++) {
        Conn *c = w->conns[k];
        if (!cfg.udp && c->up == -1) {
            if (now >= c->retry_ns && now < cfg.end_ns)
                tcp_reopen(w, c, now);
            continue;
        }
        int expired = 0;
        for (int i = 0; i < cfg.depth; i++) {
            Slot *s = &c->slots[i];
            if (s->id && now - s->sent_ns >= timeout) {
                w->stats.lost++, s->id = 0, expired++;
                if (cfg.udp && now < cfg.end_ns)
                    udp_queue(w, c, s, out, now, expiration);
            }
        }
        if (cfg.udp)
            udp_flush(w, c, out);
        else if (expired && c->up == 1) {
            tcp_fill(w, c, now);
            if (tcp_flush(w, c) < 0)
                tcp_drop(w, c, now);
        }
    }
}

static void *run_worker(void *arg) {
    Worker *w = arg;
    Batch out = {.n = 0, .buf = malloc((size_t)BATCH * (ENVELOPE + UDP_PAYLOAD))};
    char *in = cfg.udp ? malloc((size_t)BATCH * 65536) : NULL;
    if (!out.buf || (cfg.udp && !in))
        fail("memory");
    uint64_t now = now_ns(), last_tick = now;
    for (int k = 0; k < w->nconns; k++) { /* the first `depth` requests of every socket */
        Conn *c = w->conns[k];
        if (cfg.udp) {
            for (int i = 0; i < cfg.depth; i++)
                udp_queue(w, c, &c->slots[i], &out, now, expiration_now());
            udp_flush(w, c, &out);
        } else {
            c->up = 0; /* connected already: tcp_connected fills and flushes */
            tcp_connected(w, c, now);
        }
    }
    struct epoll_event events[256];
    while (now < cfg.end_ns) {
        int n = epoll_wait(w->epoll, events, 256, TICK_MS);
        for (int i = 0; i < n; i++) {
            Conn *c = events[i].data.ptr;
            if (cfg.udp)
                udp_readable(w, c, &out, in);
            else
                tcp_event(w, c, events[i].events);
        }
        now = now_ns();
        if (now - last_tick >= (uint64_t)TICK_MS * 1000000ull) {
            tick(w, &out, now);
            last_tick = now;
        }
    }
    free(out.buf);
    free(in);
    return NULL;
}

static void resolve_address(void) {
    struct addrinfo hints = {.ai_socktype = cfg.udp ? SOCK_DGRAM : SOCK_STREAM}, *found;
    int err = getaddrinfo(cfg.host, cfg.port, &hints, &found);
    if (err) {
        fprintf(stderr, "hdlload: %s: %s\n", cfg.host, gai_strerror(err));
        exit(2);
    }
    memcpy(&cfg.addr, found->ai_addr, found->ai_addrlen);
    cfg.addrlen = found->ai_addrlen;
    cfg.family = found->ai_family;
    freeaddrinfo(found);
}

static void open_connections(Worker *workers) {
    cfg.conns = calloc((size_t)cfg.connections, sizeof *cfg.conns);
    if (!cfg.conns)
        fail("memory");
    for (int i = 0; i < cfg.connections; i++) {
        Conn *c = &cfg.conns[i];
        c->first = (uint32_t)i * (uint32_t)cfg.depth;
        c->slots = calloc((size_t)cfg.depth, sizeof *c->slots);
        if (!c->slots)
            fail("memory");
        Worker *w = &workers[i % cfg.threads];
        w->conns[w->nconns++] = c;
        if (cfg.udp) {
            c->fd = open_udp();
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
            if (epoll_ctl(w->epoll, EPOLL_CTL_ADD, c->fd, &ev) < 0)
                fail("epoll_ctl");
            continue;
        }
        c->fd = tcp_socket();
        if (connect(c->fd, (struct sockaddr *)&cfg.addr, cfg.addrlen) < 0) {
            fprintf(stderr, "hdlload: connect to %s port %s: %s\n", cfg.host, cfg.port, strerror(errno));
            exit(2);
        }
        fcntl(c->fd, F_SETFL, O_NONBLOCK);
        c->out_cap = (size_t)cfg.depth * cfg.req.longest;
        c->in_cap = ENVELOPE + MAX_MESSAGE + 65536;
        c->out = malloc(c->out_cap);
        c->in = malloc(c->in_cap);
        if (!c->out || !c->in)
            fail("memory");
        c->up = 1;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(w->epoll, EPOLL_CTL_ADD, c->fd, &ev) < 0)
            fail("epoll_ctl");
    }
}

static double percentile(const Stats *s, double q) {
    if (!s->answers)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)s->answers + 0.5), seen = 0;
    if (rank < 1)
        rank = 1;
    for (int b = 0; b < HIST_BUCKETS; b++) {
        seen += s->hist[b];
        if (seen >= rank)
            return bucket_ms(b);
    }
    return bucket_ms(HIST_BUCKETS - 1);
}

static void report(const Stats *s, double seconds) {
    printf("{\"mode\":\"%s\",\"seconds\":%.3f,\"connections\":%d,\"depth\":%d,\"threads\":%d,"
           "\"sent\":%llu,\"answers\":%llu,\"ok\":%llu,\"not_found\":%llu,\"errors\":%llu,\"lost\":%llu,"
           "\"late\":%llu,\"parts\":%llu,\"reconnects\":%llu,\"rps\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
           "\"codes\":{",
           cfg.udp ? "udp" : "tcp", seconds, cfg.connections, cfg.depth, cfg.threads,
           (unsigned long long)s->sent, (unsigned long long)s->answers, (unsigned long long)s->ok,
           (unsigned long long)s->not_found, (unsigned long long)s->errors, (unsigned long long)s->lost,
           (unsigned long long)s->late, (unsigned long long)s->parts, (unsigned long long)s->reconnects,
           (double)s->ok / seconds, percentile(s, 0.50), percentile(s, 0.99));
    const char *comma = "";
    for (int code = 0; code <= MAX_CODE; code++) {
        if (!s->codes[code])
            continue;
        if (code == MAX_CODE)
            printf("%s\"other\":%llu", comma, (unsigned long long)s->codes[code]);
        else
            printf("%s\"%d\":%llu", comma, code, (unsigned long long)s->codes[code]);
        comma = ",";
    }
    printf("}}\n");
}

static void merge(Stats *into, const Stats *s) {
    const uint64_t *from = (const uint64_t *)s;
    uint64_t *to = (uint64_t *)into;
    for (size_t i = 0; i < sizeof *s / sizeof(uint64_t); i++) /* Stats is all uint64_t */
        to[i] += from[i];
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    parse_args(argc, argv);
    load_handles();
    resolve_address();
    cfg.total_slots = (uint32_t)cfg.connections * (uint32_t)cfg.depth;
    Worker *workers = calloc((size_t)cfg.threads, sizeof *workers);
    if (!workers)
        fail("memory");
    for (int t = 0; t < cfg.threads; t++) {
        workers[t].index = t;
        workers[t].epoll = epoll_create1(EPOLL_CLOEXEC);
        workers[t].conns = calloc((size_t)cfg.connections / (size_t)cfg.threads + 1, sizeof(Conn *));
        /* each thread starts at its own place in the list, so that threads do not ask in lockstep */
        workers[t].cursor = cfg.req.count * (size_t)t / (size_t)cfg.threads;
        if (workers[t].epoll < 0 || !workers[t].conns)
            fail("epoll");
    }
    open_connections(workers);
    uint64_t start = now_ns();
    cfg.end_ns = start + (uint64_t)(cfg.seconds * 1e9);
    for (int t = 0; t < cfg.threads; t++)
        if (pthread_create(&workers[t].thread, NULL, run_worker, &workers[t]))
            fail("pthread_create");
    Stats *total = calloc(1, sizeof *total);
    if (!total)
        fail("memory");
    for (int t = 0; t < cfg.threads; t++) {
        pthread_join(workers[t].thread, NULL);
        merge(total, &workers[t].stats);
    }
    report(total, (double)(now_ns() - start) / 1e9);
    return 0;
}
