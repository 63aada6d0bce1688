/* The embedded DNS server's files (shim_dns.c, shim_dnsmsg.c, shim_dnstcp.c, shim_nft.c). */
#ifndef DOCKYARD_SHIM_DNS_H
#define DOCKYARD_SHIM_DNS_H

#include "shim.h"

#define DNS_ADDRESS "127.0.0.11"
#define DNS_RECORDS_MAX (4 << 20)    /* a records file past this is refused (SERVFAIL) */
#define DNS_TRY_MS 2000              /* per upstream server */
#define DNS_MAX_SERVERS 3            /* as many as a resolv.conf's */

enum { DNS_FORMERR = 1, DNS_SERVFAIL = 2, DNS_NOTIMP = 4, DNS_REFUSED = 5 };

struct dns_question {
    unsigned char id[2];
    char name[256];          /* lower case, dotted, no final dot */
    int plain;               /* only hostname bytes: may be one of the records' names */
    unsigned type, class;
    size_t end;              /* where the question ends in the message; 0: none parsed */
};

/* BUNDLE/dns-records: "server ADDR", "a NAME IPV4", "ptr NAME TARGET" lines (network/dns.py) */
struct dns_record { const char *kind, *name, *value; };
struct dns_records { char *text; struct dns_record *rec; size_t n; };

/* 0 and *q filled; an RCODE to answer with (FORMERR, NOTIMP); -1: not a query, no answer */
int dns_parse_query(const unsigned char *msg, size_t len, struct dns_question *q);
/* The answer from the records, at most `cap` bytes (TC set when cut); 0: not our name */
size_t dns_answer(const unsigned char *msg, const struct dns_question *q,
                  const struct dns_records *r, unsigned char *out, size_t cap);
/* A reply with `rcode` and the question (if parsed): at most 12 + 260 bytes */
size_t dns_error(const unsigned char *msg, const struct dns_question *q, int rcode,
                 unsigned char *out);
int dns_records_load(const char *path, struct dns_records *r);   /* 0, or -1 */
void dns_records_free(struct dns_records *r);
/* The first DNS_MAX_SERVERS "server" records into servers; their count */
int dns_servers(const struct dns_records *r, char servers[][64]);

/* A non-blocking socket connecting to `server` port 53 (in this process's namespace), or -1 */
int dns_connect_server(const char *server, int type);
/* Accept a TCP connection and serve it in a child: its pid, or -1 */
pid_t dns_tcp_accept(int listener, const char *records);
/* Redirect DNS_ADDRESS:53 to the ports, in this process's network namespace (shim_nft.c) */
int dns_redirect(unsigned short udp_port, unsigned short tcp_port, char *err, size_t errlen);

#endif
