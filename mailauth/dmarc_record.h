/* dmarc_record: the DMARC Policy Record (RFC 9989 4.7, 4.8) parsed from
 * one TXT record (its strings already joined). Pure: no DNS here; the tree
 * walk and the evaluation are in dmarc.c.
 *
 * The rules of 4.7/4.8: "v=DMARC1" must be the first tag (else the TXT is
 * not a DMARC record at all); unknown tags are ignored; a known tag whose
 * value breaks the syntax falls back to its default (t, psd, adkim, aspf,
 * fo) or is dropped (one bad URI of rua/ruf), except p, sp and np, which
 * are kept as DMARC_POLICY_INVALID because 4.10.1 decides what an invalid
 * policy means (p=none when rua has a valid URI, else no DMARC). The legacy
 * pct of RFC 7489 is read as Appendix A.6 says: pct=0 is t=y, any other
 * value is ignored. A tag given twice: the first one counts.
 *
 * Bounded: the input is scanned once whatever its length; at most
 * DMARC_MAX_URIS URIs per list are kept, in a fixed pool. */
#ifndef TERN_DMARC_RECORD_H
#define TERN_DMARC_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DMARC_MAX_URIS 8    /* URIs kept per rua/ruf (more are counted, not kept) */
#define DMARC_URI_POOL 1024 /* bytes for the kept URIs of both lists */

enum dmarc_policy {
	DMARC_POLICY_UNSET = 0, /* tag absent */
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
	DMARC_POLICY_INVALID, /* present, but not none/quarantine/reject */
};

enum dmarc_psd { DMARC_PSD_U = 0, DMARC_PSD_Y, DMARC_PSD_N };

/* fo= (failure reporting options) as bits; default DMARC_FO_0. */
#define DMARC_FO_0 1u
#define DMARC_FO_1 2u
#define DMARC_FO_D 4u
#define DMARC_FO_S 8u

struct dmarc_uri_list {
	size_t valid;                 /* syntactically valid URIs seen */
	size_t kept;                  /* of those, kept (at most DMARC_MAX_URIS) */
	uint16_t off[DMARC_MAX_URIS]; /* offsets into the record's pool */
	bool given;                   /* the tag was present */
};

struct dmarc_record {
	enum dmarc_policy p, sp, np;
	enum dmarc_psd psd;
	bool t_given, t;   /* t= as written (t_given false: absent or invalid) */
	int pct;           /* legacy pct=, 0..100, or -1 when absent/invalid */
	bool testing;      /* t=y, or pct=0 without a valid t= (A.6) */
	bool adkim_strict; /* adkim=s */
	bool aspf_strict;  /* aspf=s */
	unsigned fo;       /* DMARC_FO_* bits */
	struct dmarc_uri_list rua, ruf;
	size_t pool_used;
	char pool[DMARC_URI_POOL];
	unsigned unknown_tags;
	char problem[128]; /* the first syntax error ignored, "" if none */
};

enum dmarc_record_status {
	DMARC_RECORD_OK,        /* a DMARC record (tags may have fallen back to defaults) */
	DMARC_RECORD_NOT_DMARC, /* does not start with v=DMARC1: not a DMARC record */
};

/* Parse txt (len bytes, NULs allowed: they make the tag they are in
 * invalid) into r. */
enum dmarc_record_status dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *r);

/* The i-th kept URI of a list of r (i < list->kept), without any legacy
 * "!size" suffix. */
const char *dmarc_record_uri(const struct dmarc_record *r, const struct dmarc_uri_list *list,
                             size_t i);

/* Whether the record's policy tags are all usable: p valid or absent, sp
 * and np valid when present (4.10.1). */
bool dmarc_record_policy_valid(const struct dmarc_record *r);

/* "none" "quarantine" "reject"; "" for unset, "invalid" for invalid. */
const char *dmarc_policy_name(enum dmarc_policy p);

#endif
