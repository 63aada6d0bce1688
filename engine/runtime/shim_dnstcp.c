/* DNS over TCP for the embedded DNS server: what a client asks again after a truncated (TC)
 * answer. Rare, so each connection gets a child of the server that serves it with plain
 * blocking calls and time-outs, and dies with the server (PR_SET_PDEATHSIG) or after
 * CONNECTION_S at the latest. Messages are two length bytes and the message (RFC 1035 4.2.2).
 */
#include "shim_dns.h"

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define CONNECTION_S 30
#define IDLE_S 5

static unsigned char msg[65535], out[2 + 65535], answer[2 + 65535];

static int read_full(int fd, unsigned char *buf, size_t len) {
    for (size_t got = 0; got < len;) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n <= 0 && !(n < 0 && errno == EINTR)) return -1;
        if (n > 0) got += n;
    }
    return 0;
}

static int write_full(int fd, const unsigned char *buf, size_t len) {
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        done += n;
    }
    return 0;
}

static void timeouts(int fd, int seconds) {
    struct timeval tv = {.tv_sec = seconds};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Ask one server over TCP: the reply's length in `answer` (after its length bytes), or 0. */
static size_t ask(const char *server, size_t len) {
    int fd = dns_connect_server(server, SOCK_STREAM), error = 0;
    struct pollfd p = {fd, POLLOUT, 0};
    socklen_t elen = sizeof error;
    size_t got = 0;
    unsigned char head[2] = {len >> 8, len & 0xff};
    if (fd < 0) return 0;
    if (poll(&p, 1, DNS_TRY_MS) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &elen) == 0
        && !error) {
        int flags = 0;
        ioctl(fd, FIONBIO, &flags);                 /* blocking, with time-outs, from here */
        timeouts(fd, DNS_TRY_MS / 1000);
        if (write_full(fd, head, 2) == 0 && write_full(fd, msg, len) == 0
            && read_full(fd, answer, 2) == 0) {
            got = (size_t)answer[0] << 8 | answer[1];
            if (got < 12 || read_full(fd, answer + 2, got) < 0) got = 0;
        }
    }
    close(fd);
    return got;
}

/* Answer the message in `msg` into `out` (after two length bytes); its length, 0 to hang up. */
static size_t respond(size_t len, const char *records) {
    struct dns_question q;
    struct dns_records r;
    int rc = dns_parse_query(msg, len, &q);
    if (rc < 0) return 0;
    if (rc) return dns_error(msg, &q, rc, out + 2);
    if (dns_records_load(records, &r) < 0) return dns_error(msg, &q, DNS_SERVFAIL, out + 2);
    size_t n = dns_answer(msg, &q, &r, out + 2, sizeof out - 2);
    char servers[DNS_MAX_SERVERS][64];
    int nservers = n ? 0 : dns_servers(&r, servers);
    dns_records_free(&r);
    if (n) return n;
    if (!nservers) return dns_error(msg, &q, DNS_REFUSED, out + 2);
    for (int i = 0; i < nservers; i++) {
        size_t got = ask(servers[i], len);
        int rcode = got ? answer[5] & 0xf : DNS_SERVFAIL;
        if (got && ((rcode != DNS_SERVFAIL && rcode != DNS_REFUSED) || i + 1 == nservers)) {
            memcpy(out + 2, answer + 2, got);
            return got;
        }
    }
    return dns_error(msg, &q, DNS_SERVFAIL, out + 2);
}

static void serve(int conn, const char *records, pid_t server) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != server) _exit(1);
    alarm(CONNECTION_S);
    timeouts(conn, IDLE_S);
    unsigned char head[2];
    while (read_full(conn, head, 2) == 0) {
        size_t len = (size_t)head[0] << 8 | head[1], n;
        if (!len || read_full(conn, msg, len) < 0 || !(n = respond(len, records))) break;
        out[0] = n >> 8;
        out[1] = n & 0xff;
        if (write_full(conn, out, 2 + n) < 0) break;
    }
    _exit(0);
}

pid_t dns_tcp_accept(int listener, const char *records) {
    int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);   /* blocking, unlike the listener */
    if (conn < 0) return -1;
    pid_t server = getpid(), pid = fork();
    if (pid == 0) serve(conn, records, server);
    close(conn);
    return pid;
}
