/* The embedded DNS server's redirect: 127.0.0.11:53 -> 127.0.0.11:PORT in the container's
 * network namespace, as one nftables transaction over netlink.
 *
 * Docker's embedded DNS listens on a random port and redirects port 53 to it, so a DNS server
 * inside the container can still bind port 53 on every address. The rules are those of
 *
 *   table ip dockyard_dns {
 *       chain output { type nat hook output priority -100; policy accept;
 *           ip daddr 127.0.0.11 udp dport 53 dnat to 127.0.0.11:UDP_PORT
 *           ip daddr 127.0.0.11 tcp dport 53 dnat to 127.0.0.11:TCP_PORT } }
 *
 * (conntrack turns the replies' source back into port 53). Sent as raw netlink messages
 * rather than by running `nft`, which costs ~8 ms on every container start; the table lives
 * in the container's namespace and goes with it.
 */
#include "shim_dns.h"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define TABLE "dockyard_dns"
#define CHAIN "output"

struct msg { unsigned char buf[4096]; size_t len; int nest[8], depth, overflow; uint32_t seq; };

static void *put(struct msg *m, const void *data, size_t len) {
    size_t padded = NLMSG_ALIGN(len);
    if (m->len + padded > sizeof m->buf) { m->overflow = 1; return m->buf; }
    void *at = m->buf + m->len;
    memset(at, 0, padded);
    if (data) memcpy(at, data, len);
    m->len += padded;
    return at;
}

/* A netlink message with its nfgenmsg; it ends where the next begins (end_message). */
static void begin_message(struct msg *m, uint16_t type, uint16_t flags, uint8_t family) {
    struct nlmsghdr h = {.nlmsg_type = type, .nlmsg_flags = NLM_F_REQUEST | flags,
                         .nlmsg_seq = ++m->seq};
    m->nest[0] = m->len;
    put(m, &h, sizeof h);
    struct nfgenmsg g = {.nfgen_family = family, .version = NFNETLINK_V0,
                         .res_id = htons(type == NFNL_MSG_BATCH_BEGIN || type == NFNL_MSG_BATCH_END
                                         ? NFNL_SUBSYS_NFTABLES : 0)};
    put(m, &g, sizeof g);
}

static void end_message(struct msg *m) {
    if (!m->overflow) ((struct nlmsghdr *)(m->buf + m->nest[0]))->nlmsg_len = m->len - m->nest[0];
}

static void attr(struct msg *m, uint16_t type, const void *data, size_t len) {
    struct nlattr a = {.nla_len = NLA_HDRLEN + len, .nla_type = type};
    put(m, &a, sizeof a);
    put(m, data, len);
}

static void attr_str(struct msg *m, uint16_t type, const char *s) { attr(m, type, s, strlen(s) + 1); }

static void attr_u32(struct msg *m, uint16_t type, uint32_t host_order) {
    uint32_t v = htonl(host_order);
    attr(m, type, &v, sizeof v);
}

static void nest_begin(struct msg *m, uint16_t type) {
    m->nest[++m->depth] = m->len;
    struct nlattr a = {.nla_type = NLA_F_NESTED | type};
    put(m, &a, sizeof a);
}

static void nest_end(struct msg *m) {
    int at = m->nest[m->depth--];
    if (!m->overflow) ((struct nlattr *)(m->buf + at))->nla_len = m->len - at;
}

static void expr_begin(struct msg *m, const char *name) {
    nest_begin(m, NFTA_LIST_ELEM);
    attr_str(m, NFTA_EXPR_NAME, name);
    nest_begin(m, NFTA_EXPR_DATA);
}

static void expr_end(struct msg *m) { nest_end(m); nest_end(m); }

static void data_value(struct msg *m, uint16_t type, const void *value, size_t len) {
    nest_begin(m, type);
    attr(m, NFTA_DATA_VALUE, value, len);
    nest_end(m);
}

/* reg 1 == value */
static void match(struct msg *m, const void *value, size_t len) {
    expr_begin(m, "cmp");
    attr_u32(m, NFTA_CMP_SREG, NFT_REG_1);
    attr_u32(m, NFTA_CMP_OP, NFT_CMP_EQ);
    data_value(m, NFTA_CMP_DATA, value, len);
    expr_end(m);
}

static void load_payload(struct msg *m, uint32_t base, uint32_t offset, uint32_t len) {
    expr_begin(m, "payload");
    attr_u32(m, NFTA_PAYLOAD_DREG, NFT_REG_1);
    attr_u32(m, NFTA_PAYLOAD_BASE, base);
    attr_u32(m, NFTA_PAYLOAD_OFFSET, offset);
    attr_u32(m, NFTA_PAYLOAD_LEN, len);
    expr_end(m);
}

static void immediate(struct msg *m, uint32_t reg, const void *value, size_t len) {
    expr_begin(m, "immediate");
    attr_u32(m, NFTA_IMMEDIATE_DREG, reg);
    data_value(m, NFTA_IMMEDIATE_DATA, value, len);
    expr_end(m);
}

/* ip daddr 127.0.0.11 PROTO dport 53 dnat to 127.0.0.11:port */
static void redirect_rule(struct msg *m, uint8_t proto, uint16_t port) {
    struct in_addr resolver;
    inet_pton(AF_INET, DNS_ADDRESS, &resolver);
    uint16_t dns_port = htons(53), to_port = htons(port);
    begin_message(m, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWRULE,
                  NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, NFPROTO_IPV4);
    attr_str(m, NFTA_RULE_TABLE, TABLE);
    attr_str(m, NFTA_RULE_CHAIN, CHAIN);
    nest_begin(m, NFTA_RULE_EXPRESSIONS);
    load_payload(m, NFT_PAYLOAD_NETWORK_HEADER, 16, 4);   /* the IPv4 destination */
    match(m, &resolver, 4);
    expr_begin(m, "meta");
    attr_u32(m, NFTA_META_KEY, NFT_META_L4PROTO);
    attr_u32(m, NFTA_META_DREG, NFT_REG_1);
    expr_end(m);
    match(m, &proto, 1);
    load_payload(m, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);  /* the destination port */
    match(m, &dns_port, 2);
    immediate(m, NFT_REG_1, &resolver, 4);
    immediate(m, NFT_REG_2, &to_port, 2);
    expr_begin(m, "nat");
    attr_u32(m, NFTA_NAT_TYPE, NFT_NAT_DNAT);
    attr_u32(m, NFTA_NAT_FAMILY, NFPROTO_IPV4);
    attr_u32(m, NFTA_NAT_REG_ADDR_MIN, NFT_REG_1);
    attr_u32(m, NFTA_NAT_REG_PROTO_MIN, NFT_REG_2);
    expr_end(m);
    nest_end(m);
    end_message(m);
}

static void table_message(struct msg *m, uint16_t type, uint16_t flags) {
    begin_message(m, NFNL_SUBSYS_NFTABLES << 8 | type, flags | NLM_F_ACK, NFPROTO_IPV4);
    attr_str(m, NFTA_TABLE_NAME, TABLE);
    end_message(m);
}

/* Wait for the acknowledgement of every message from `first` to `last`; 0, or -errno. */
static int read_acks(int fd, uint32_t first, uint32_t last) {
    static unsigned char buf[8192];
    uint32_t acked = 0;
    while (acked < last - first + 1) {
        ssize_t got = recv(fd, buf, sizeof buf, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return -errno;
        int len = (int)got;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq < first || h->nlmsg_seq > last) continue;
            struct nlmsgerr *e = NLMSG_DATA(h);
            if (e->error) return e->error;
            acked++;
        }
    }
    return 0;
}

/* One transaction: the table, its chain, the two rules; `replace` deletes a table of that
 * name first ("table; delete table; table", which never fails but waits for an RCU grace
 * period, ~10 ms: only for a namespace that has one already). 0, or -errno. */
static int send_batch(unsigned short udp_port, unsigned short tcp_port, int replace) {
    static struct msg m;
    memset(&m, 0, sizeof m);
    begin_message(&m, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC);
    end_message(&m);
    uint32_t first = m.seq + 1;
    if (replace) {
        table_message(&m, NFT_MSG_NEWTABLE, NLM_F_CREATE);
        table_message(&m, NFT_MSG_DELTABLE, 0);
    }
    table_message(&m, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL);
    begin_message(&m, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_ACK,
                  NFPROTO_IPV4);
    attr_str(&m, NFTA_CHAIN_TABLE, TABLE);
    attr_str(&m, NFTA_CHAIN_NAME, CHAIN);
    nest_begin(&m, NFTA_CHAIN_HOOK);
    attr_u32(&m, NFTA_HOOK_HOOKNUM, NF_INET_LOCAL_OUT);
    attr_u32(&m, NFTA_HOOK_PRIORITY, (uint32_t)-100);   /* NF_IP_PRI_NAT_DST */
    nest_end(&m);
    attr_u32(&m, NFTA_CHAIN_POLICY, NF_ACCEPT);
    attr_str(&m, NFTA_CHAIN_TYPE, "nat");
    end_message(&m);
    redirect_rule(&m, IPPROTO_UDP, udp_port);
    redirect_rule(&m, IPPROTO_TCP, tcp_port);
    uint32_t last = m.seq;
    begin_message(&m, NFNL_MSG_BATCH_END, 0, AF_UNSPEC);
    end_message(&m);
    if (m.overflow) return -EMSGSIZE;

    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    struct timeval timeout = {.tv_sec = 5};
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    int rc = fd < 0 ? -errno : 0;
    if (!rc && setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0) rc = -errno;
    if (!rc && sendto(fd, m.buf, m.len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) rc = -errno;
    if (!rc) rc = read_acks(fd, first, last);
    if (fd >= 0) close(fd);
    return rc;
}

int dns_redirect(unsigned short udp_port, unsigned short tcp_port, char *err, size_t errlen) {
    int rc = send_batch(udp_port, tcp_port, 0);
    if (rc == -EEXIST) rc = send_batch(udp_port, tcp_port, 1);   /* a previous start's */
    if (rc) snprintf(err, errlen, "nftables redirect of %s:53: %s", DNS_ADDRESS, strerror(-rc));
    return rc ? -1 : 0;
}
