/* DNS messages for the embedded DNS server (RFC 1035): the one question of a query, answers
 * from the records file the engine keeps (engine/network/dns.py), and error replies.
 *
 * The bytes come from the container: every read is bounds-checked, a question with anything
 * unusual in it (compression, a dot or a control byte inside a label) is never answered from
 * the records, and a message we can't parse is answered FORMERR or dropped.
 */
#include "shim_dns.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER 12
#define TTL 600             /* Docker's for container names */
#define TYPE_A 1
#define TYPE_PTR 12
#define TYPE_ANY 255
#define CLASS_IN 1

static unsigned get16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }
static void put16(unsigned char *p, unsigned v) { p[0] = v >> 8; p[1] = v & 0xff; }

int dns_parse_query(const unsigned char *msg, size_t len, struct dns_question *q) {
    memset(q, 0, sizeof *q);
    if (len < HEADER || msg[2] & 0x80) return -1;            /* too short, or a response */
    memcpy(q->id, msg, 2);
    if ((msg[2] >> 3 & 0xf) != 0) return DNS_NOTIMP;          /* only QUERY */
    if (get16(msg + 4) != 1) return DNS_FORMERR;
    size_t at = HEADER, out = 0;
    q->plain = 1;
    for (;;) {
        if (at >= len) return DNS_FORMERR;
        unsigned n = msg[at++];
        if (n == 0) break;
        if (n > 63 || at + n > len || out + n + 1 >= sizeof q->name) return DNS_FORMERR;
        if (out) q->name[out++] = '.';
        for (unsigned i = 0; i < n; i++) {
            unsigned char c = msg[at + i];
            if (c == '.' || c == '\\' || c <= ' ' || c >= 0x7f) q->plain = 0;
            q->name[out++] = c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c ? c : '?';
        }
        at += n;
    }
    if (at + 4 > len) return DNS_FORMERR;
    q->type = get16(msg + at);
    q->class = get16(msg + at + 2);
    q->end = at + 4;
    return 0;
}

/* The reply's header and question: the query's id, question and RD flag. */
static size_t reply_head(const unsigned char *msg, const struct dns_question *q, int rcode,
                         unsigned char *out) {
    memcpy(out, q->id, 2);
    out[2] = 0x80 | (msg[2] & 0x01);              /* QR, opcode QUERY, RD as asked */
    out[3] = 0x80 | rcode;                        /* RA */
    put16(out + 4, q->end ? 1 : 0);
    memset(out + 6, 0, 6);
    if (!q->end) return HEADER;
    memcpy(out + HEADER, msg + HEADER, q->end - HEADER);
    return q->end;
}

size_t dns_error(const unsigned char *msg, const struct dns_question *q, int rcode,
                 unsigned char *out) {
    return reply_head(msg, q, rcode, out);
}

/* One answer RR for the question's name (a pointer to it); 0 if it doesn't fit in `cap`. */
static size_t put_rr(unsigned char *out, size_t at, size_t cap, unsigned type,
                     const unsigned char *rdata, size_t rdlen) {
    if (at + 12 + rdlen > cap) return 0;
    unsigned char *p = out + at;
    put16(p, 0xc000 | HEADER);
    put16(p + 2, type);
    put16(p + 4, CLASS_IN);
    put16(p + 6, 0);
    put16(p + 8, TTL);
    put16(p + 10, rdlen);
    memcpy(p + 12, rdata, rdlen);
    return at + 12 + rdlen;
}

/* "web.appnet" as labels; 0 when it isn't a valid name */
static size_t encode_name(const char *dotted, unsigned char *out, size_t cap) {
    size_t at = 0;
    while (*dotted) {
        size_t n = strcspn(dotted, ".");
        if (n == 0 || n > 63 || at + n + 2 > cap) return 0;
        out[at++] = n;
        memcpy(out + at, dotted, n);
        at += n;
        dotted += n + (dotted[n] == '.');
    }
    out[at++] = 0;
    return at;
}

size_t dns_answer(const unsigned char *msg, const struct dns_question *q,
                  const struct dns_records *r, unsigned char *out, size_t cap) {
    if (!q->plain || q->class != CLASS_IN) return 0;
    int known = 0;
    for (size_t i = 0; i < r->n && !known; i++)
        known = strcmp(r->rec[i].kind, "server") && !strcmp(r->rec[i].name, q->name);
    if (!known) return 0;                         /* not a container's name: upstream */
    size_t at = reply_head(msg, q, 0, out), count = 0;
    out[2] |= 0x04;                               /* AA: these names are ours */
    for (size_t i = 0; i < r->n; i++) {
        const struct dns_record *rec = &r->rec[i];
        unsigned char rdata[256];
        size_t rdlen = 0, next;
        unsigned type = 0;
        if (strcmp(rec->name, q->name)) continue;
        if (!strcmp(rec->kind, "a") && (q->type == TYPE_A || q->type == TYPE_ANY)
            && inet_pton(AF_INET, rec->value, rdata) == 1) {
            type = TYPE_A;
            rdlen = 4;
        } else if (!strcmp(rec->kind, "ptr") && (q->type == TYPE_PTR || q->type == TYPE_ANY)) {
            type = TYPE_PTR;
            rdlen = encode_name(rec->value, rdata, sizeof rdata);
        }
        if (!rdlen) continue;                     /* e.g. AAAA of a container: NODATA */
        if (!(next = put_rr(out, at, cap, type, rdata, rdlen))) {
            out[2] |= 0x02;                       /* TC: the rest over TCP */
            break;
        }
        at = next;
        count++;
    }
    put16(out + 6, count);
    return at;
}

/* ---------------------------------------------------------------- the records file */

int dns_servers(const struct dns_records *r, char servers[][64]) {
    int n = 0;
    for (size_t i = 0; i < r->n && n < DNS_MAX_SERVERS; i++)
        if (!strcmp(r->rec[i].kind, "server")) snprintf(servers[n++], 64, "%s", r->rec[i].name);
    return n;
}

void dns_records_free(struct dns_records *r) {
    free(r->text);
    free(r->rec);
    memset(r, 0, sizeof *r);
}

/* Split the text into records in place: "kind name [value]" per line. */
static void split_records(struct dns_records *r) {
    size_t cap = 0;
    for (char *line = r->text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        char *kind = strtok(line, " \t"), *name = strtok(NULL, " \t"), *value = strtok(NULL, " \t");
        if (!kind || !name || *kind == '#') continue;
        if (r->n == cap) r->rec = xrealloc(r->rec, (cap = cap ? cap * 2 : 64) * sizeof *r->rec);
        r->rec[r->n++] = (struct dns_record){kind, name, value ? value : ""};
    }
}

int dns_records_load(const char *path, struct dns_records *r) {
    memset(r, 0, sizeof *r);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) return -1;
    if (fstat(fd, &st) < 0 || st.st_size > DNS_RECORDS_MAX) {
        close(fd);
        return -1;
    }
    r->text = xrealloc(NULL, st.st_size + 1);
    size_t got = 0;
    ssize_t n;
    while (got < (size_t)st.st_size && (n = read(fd, r->text + got, st.st_size - got)) > 0) got += n;
    close(fd);
    r->text[got] = 0;
    split_records(r);
    return 0;
}
