/* The embedded DNS server of a container on a user-defined network: Docker's 127.0.0.11.
 *
 * The monitor starts it before the container (dns_start): a child enters the container's
 * network namespace, binds a UDP and a TCP socket to 127.0.0.11 on free ports, redirects port
 * 53 to them (shim_nft.c), goes back to the host's namespace and execs
 * `dockyard-shim dns BUNDLE` with the sockets as fds 3 and 4. It dies with the monitor
 * (PR_SET_PDEATHSIG), and the monitor kills it as soon as the container has exited
 * (dns_stop), before the exit is recorded: it never outlives its container. It keeps no
 * capability.
 *
 * Each query is answered from BUNDLE/dns-records, read afresh every time (the engine rewrites
 * it whenever an endpoint comes or goes: engine/network/dns.py). A name with no record goes to
 * the file's servers, from the host's namespace, one after the other for DNS_TRY_MS each: their
 * answer is passed back as it is; SERVFAIL after GIVE_UP_MS (before a client's own 5 s time-out),
 * REFUSED at once when there is no server. A TCP connection (a client retrying a truncated
 * answer) is served by a short-lived child, at most MAX_TCP at once.
 */
#include "shim_dns.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <time.h>
#include <unistd.h>

#define UDP_FD 3
#define TCP_FD 4
#define GIVE_UP_MS 4000
#define MAX_PENDING 128
#define MAX_TCP 8
#define QUERY_MAX 1232       /* the usual EDNS size; a longer query is FORMERR */
#define UDP_REPLY 512        /* our own answers over UDP; more sets TC */

/* ---------------------------------------------------------------- the monitor's side */

/* Why the set-up failed, to the monitor (which waits for "+" or this). */
static void report_and_exit(int fd, const char *what) {
    char msg[512];
    int n = snprintf(msg, sizeof msg, "embedded DNS server: %s: %s", what, strerror(errno));
    if (write(fd, msg, n) < 0) { /* the monitor is gone */ }
    _exit(1);
}

static int bound_socket(int type, unsigned short *port) {
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof addr;
    inet_pton(AF_INET, DNS_ADDRESS, &addr.sin_addr);
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0
        || (type == SOCK_STREAM && listen(fd, 64) < 0)
        || getsockname(fd, (struct sockaddr *)&addr, &len) < 0) return -1;
    *port = ntohs(addr.sin_port);
    return fd;
}

/* In the forked child: set up in the container's namespace, then exec the server. */
static void start_child(const char *bundle, const char *netns, pid_t monitor, int report) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) report_and_exit(report, "prctl");
    if (getppid() != monitor) _exit(1);           /* the monitor died meanwhile */
    int host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), ns = open(netns, O_RDONLY | O_CLOEXEC);
    if (host < 0 || ns < 0) report_and_exit(report, netns);
    if (setns(ns, CLONE_NEWNET) < 0) report_and_exit(report, "setns");
    unsigned short uport, tport;
    int udp = bound_socket(SOCK_DGRAM, &uport), tcp = bound_socket(SOCK_STREAM, &tport);
    if (udp < 0 || tcp < 0) report_and_exit(report, "bind " DNS_ADDRESS);
    char err[300];
    if (dns_redirect(uport, tport, err, sizeof err) < 0) {
        if (write(report, err, strlen(err)) < 0) { /* gone */ }
        _exit(1);
    }
    if (setns(host, CLONE_NEWNET) < 0) report_and_exit(report, "setns back");
    /* the sockets become fds 3 and 4; every other fd but 0-2 is closed by the exec */
    udp = fcntl(udp, F_DUPFD_CLOEXEC, 10);
    tcp = fcntl(tcp, F_DUPFD_CLOEXEC, 10);
    report = fcntl(report, F_DUPFD_CLOEXEC, 10);
    if (udp < 0 || tcp < 0 || report < 0 || dup2(udp, UDP_FD) < 0 || dup2(tcp, TCP_FD) < 0)
        report_and_exit(report, "dup2");
    cloexec_from(TCP_FD + 1);
    /* Ready: the sockets take queries from now on, and the server reads them once it has
     * exec'd, while the container starts. */
    if (write(report, "+", 1) < 0) _exit(1);
    const char *argv[] = {"dockyard-shim", "dns", bundle, NULL};
    execv("/proc/self/exe", (char **)argv);
    _exit(127);
}

pid_t dns_start(const char *bundle, char *err, size_t errlen) {
    if (!flag("dns_resolver")) return 0;
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "embedded DNS server: pipe2: %s", strerror(errno));
        return -1;
    }
    pid_t monitor = getpid(), pid = fork();
    if (pid == 0) {
        close(report[0]);
        start_child(bundle, get("netns"), monitor, report[1]);
    }
    close(report[1]);
    ssize_t n = 0, got;     /* "+": ready; else why not, up to EOF */
    while (pid > 0 && (n == 0 || err[0] != '+') && (got = read(report[0], err + n, errlen - 1 - n)) != 0)
        if (got > 0) n += got;
        else if (errno != EINTR) break;
    close(report[0]);
    if (pid > 0 && n > 0 && err[0] == '+') {
        err[0] = 0;
        return pid;
    }
    if (pid < 0) snprintf(err, errlen, "embedded DNS server: fork: %s", strerror(errno));
    else {
        if (n == 0) snprintf(err, errlen, "embedded DNS server: its set-up died");
        else err[n] = 0;
        waitpid(pid, NULL, 0);
    }
    return -1;
}

void dns_stop(pid_t pid) {
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* ---------------------------------------------------------------- forwarding */

struct pending {
    int active;                      /* 0: a free slot (untouched slots cost no memory) */
    int fd;                          /* connected to the server tried now, or -1 */
    struct sockaddr_storage client;
    socklen_t client_len;
    unsigned char query[QUERY_MAX];  /* as sent upstream: with an id of our own */
    size_t len;
    struct dns_question q;           /* the client's id and question */
    char servers[DNS_MAX_SERVERS][64];
    int nservers, tried;
    long long try_until, give_up;
};

static struct pending pending[MAX_PENDING];

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* "10.0.0.1", "fd00::1" or "fe80::1%eth0" on port 53; 0 when it isn't an address. */
static socklen_t server_address(const char *server, struct sockaddr_storage *ss) {
    char host[64];
    snprintf(host, sizeof host, "%s", server);
    char *zone = strchr(host, '%');
    if (zone) *zone++ = 0;
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof *ss);
    if (!zone && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(53);
        return sizeof *v4;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) != 1) return 0;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(53);
    if (zone) v6->sin6_scope_id = if_nametoindex(zone) ? if_nametoindex(zone) : (unsigned)atoi(zone);
    return sizeof *v6;
}

int dns_connect_server(const char *server, int type) {
    struct sockaddr_storage ss;
    socklen_t len = server_address(server, &ss);
    int fd = len ? socket(ss.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0) : -1;
    if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static void reply(const void *msg, size_t len, const struct sockaddr_storage *to, socklen_t tolen) {
    if (sendto(UDP_FD, msg, len, MSG_DONTWAIT, (const struct sockaddr *)to, tolen) < 0) {
        /* the client is gone or its buffer full: it asks again */
    }
}

static void fail_query(const unsigned char *msg, const struct dns_question *q, int rcode,
                       const struct sockaddr_storage *to, socklen_t tolen) {
    unsigned char out[UDP_REPLY];
    reply(out, dns_error(msg, q, rcode, out), to, tolen);
}

static void close_upstream(struct pending *p) {
    if (p->fd >= 0) close(p->fd);
    p->fd = -1;
}

static void release(struct pending *p) {
    close_upstream(p);
    p->active = 0;
}

/* Send the query to the next server not tried yet; SERVFAIL once none is left. */
static void try_next(struct pending *p) {
    close_upstream(p);
    long long now = now_ms();
    for (; p->tried < p->nservers && now < p->give_up; p->tried++) {
        if ((p->fd = dns_connect_server(p->servers[p->tried], SOCK_DGRAM)) < 0) continue;
        if (getrandom(p->query, 2, 0) == 2 && send(p->fd, p->query, p->len, 0) == (ssize_t)p->len) {
            p->try_until = now + DNS_TRY_MS < p->give_up ? now + DNS_TRY_MS : p->give_up;
            return;
        }
        close_upstream(p);
    }
    fail_query(p->query, &p->q, DNS_SERVFAIL, &p->client, p->client_len);
    release(p);
}

static void forward(const unsigned char *msg, size_t len, const struct dns_question *q,
                    const struct dns_records *r, const struct sockaddr_storage *from,
                    socklen_t fromlen) {
    struct pending *p = NULL;
    for (int i = 0; i < MAX_PENDING && !p; i++) if (!pending[i].active) p = &pending[i];
    if (!p) { fail_query(msg, q, DNS_SERVFAIL, from, fromlen); return; }
    if (!(p->nservers = dns_servers(r, p->servers))) {
        fail_query(msg, q, DNS_REFUSED, from, fromlen);
        return;
    }
    memcpy(p->query, msg, len);
    p->len = len;
    p->q = *q;
    memcpy(&p->client, from, fromlen);
    p->client_len = fromlen;
    p->tried = 0;
    p->active = 1;
    p->fd = -1;
    p->give_up = now_ms() + GIVE_UP_MS;
    try_next(p);
}

/* A server's reply goes back to the client with the client's id; after a SERVFAIL, REFUSED
 * or ICMP error the next server is asked while one is left. */
static void upstream_reply(struct pending *p) {
    static unsigned char buf[65536];
    ssize_t n = recv(p->fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n >= 0 && (n < 12 || memcmp(buf, p->query, 2) || !(buf[2] & 0x80))) return;  /* not ours */
    int rcode = n < 0 ? DNS_SERVFAIL : buf[3] & 0xf;
    if ((rcode == DNS_SERVFAIL || rcode == DNS_REFUSED) && p->tried + 1 < p->nservers) {
        p->tried++;
        try_next(p);
        return;
    }
    if (n < 0) fail_query(p->query, &p->q, DNS_SERVFAIL, &p->client, p->client_len);
    else {
        memcpy(buf, p->q.id, 2);
        reply(buf, n, &p->client, p->client_len);
    }
    release(p);
}

/* ---------------------------------------------------------------- the server */

/* Answer one datagram, or forward it; 0 when there was none to read. */
static int udp_query(const char *records) {
    unsigned char msg[QUERY_MAX + 1], out[UDP_REPLY];
    struct sockaddr_storage from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(UDP_FD, msg, sizeof msg, MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
    if (n < 0) return errno == EINTR;
    struct dns_question q;
    int rc = dns_parse_query(msg, n, &q);
    if (rc == 0 && n > QUERY_MAX) rc = DNS_FORMERR;
    if (rc) {
        if (rc > 0) fail_query(msg, &q, rc, &from, fromlen);
        return 1;                                   /* rc < 0: not a query, no reply */
    }
    struct dns_records r;
    if (dns_records_load(records, &r) < 0) {
        fail_query(msg, &q, DNS_SERVFAIL, &from, fromlen);
        return 1;
    }
    size_t len = dns_answer(msg, &q, &r, out, sizeof out);
    if (len) reply(out, len, &from, fromlen);
    else forward(msg, n, &q, &r, &from, fromlen);
    dns_records_free(&r);
    return 1;
}

static void drop_privileges(void) {
    struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {{0, 0, 0}, {0, 0, 0}};
    if (syscall(SYS_capset, &head, data) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        perror("dockyard-shim dns: drop capabilities");
        _exit(1);
    }
}

int dns_main(const char *bundle) {
    char *records = xasprintf("%s/dns-records", bundle);
    prctl(PR_SET_NAME, "dockyard-dns");
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD, SIG_DFL);
    drop_privileges();
    if (fcntl(TCP_FD, F_SETFL, O_NONBLOCK) < 0) return 1;   /* a client gone before accept */
    int tcp_children = 0;
    for (;;) {
        struct pollfd p[2 + MAX_PENDING] = {{UDP_FD, POLLIN, 0},
                                            {TCP_FD, tcp_children < MAX_TCP ? POLLIN : 0, 0}};
        int slot[MAX_PENDING], nfds = 2;
        long long now = now_ms(), wake = -1;
        for (int i = 0; i < MAX_PENDING; i++) {
            if (!pending[i].active) continue;
            p[nfds] = (struct pollfd){pending[i].fd, POLLIN, 0};
            slot[nfds++ - 2] = i;
            if (wake < 0 || pending[i].try_until < wake) wake = pending[i].try_until;
        }
        int timeout = wake < 0 ? -1 : wake <= now ? 0 : (int)(wake - now);
        if (tcp_children && (timeout < 0 || timeout > 1000)) timeout = 1000;   /* to reap them */
        if (poll(p, nfds, timeout) < 0 && errno != EINTR) return 1;
        while (tcp_children && waitpid(-1, NULL, WNOHANG) > 0) tcp_children--;
        for (int i = 0; p[0].revents && i < 64 && udp_query(records); i++) { /* a burst at most */ }
        if (p[1].revents && dns_tcp_accept(TCP_FD, records) > 0) tcp_children++;
        for (int k = 2; k < nfds; k++)
            if (p[k].revents && pending[slot[k - 2]].fd == p[k].fd) upstream_reply(&pending[slot[k - 2]]);
        now = now_ms();
        for (int i = 0; i < MAX_PENDING; i++) {
            if (!pending[i].active || now < pending[i].try_until) continue;
            pending[i].tried++;
            try_next(&pending[i]);
        }
    }
}
