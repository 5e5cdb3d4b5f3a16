/* dkim_dnsfile: fake DNS for the DKIM tests, from a file in chasquid's
 * format: "name: TXT-value" lines, a "\" at a line's end continues it,
 * several lines for one name are several TXT records, and the values
 * TEMPERROR, PERMERROR, NOTFOUND stand for DNS errors. A file without any
 * "name:" line (dkimpy's *.txt) is one record for whatever name is asked.
 * Shared by tests/unit/test_dkim.c and tests/tools/dkim_tool.c. */
#ifndef TERN_TESTS_DKIM_DNSFILE_H
#define TERN_TESTS_DKIM_DNSFILE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailauth/dkim.h"

#define DNSFILE_MAX 32

struct dnsfile {
	size_t n;
	char *name[DNSFILE_MAX]; /* NULL: any name */
	char *value[DNSFILE_MAX];
};

/* All of f, NUL-terminated (len: its size without the NUL); NULL when out
 * of memory. */
static inline char *dnsfile_read_all(FILE *f, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *s = malloc(cap + 1);
	size_t k;
	while (s && (k = fread(s + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap) {
			char *t = realloc(s, cap * 2 + 1);
			if (!t) {
				free(s);
				s = NULL;
				break;
			}
			s = t;
			cap *= 2;
		}
	}
	if (s)
		s[n] = '\0';
	if (len)
		*len = n;
	return s;
}

static inline char *dnsfile_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *s = dnsfile_read_all(f, len);
	fclose(f);
	return s;
}

static inline char *dnsfile_trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

/* 0, or -1 (no such file). */
static inline int dnsfile_load(struct dnsfile *d, const char *path)
{
	memset(d, 0, sizeof *d);
	char *text = dnsfile_slurp(path, NULL);
	if (!text)
		return -1;
	/* join continued lines */
	char *w = text;
	for (char *r = text; *r; r++) {
		if (r[0] == '\\' && r[1] == '\n') {
			r++;
			continue;
		}
		*w++ = *r;
	}
	*w = '\0';
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line && d->n < DNSFILE_MAX;
	     line = strtok_r(NULL, "\n", &save)) {
		line = dnsfile_trim(line);
		if (!*line)
			continue;
		char *colon = strstr(line, ": ");
		if (colon && !memchr(line, '=', (size_t)(colon - line)) &&
		    !memchr(line, ';', (size_t)(colon - line))) {
			*colon = '\0';
			d->name[d->n] = strdup(dnsfile_trim(line));
			d->value[d->n++] = strdup(dnsfile_trim(colon + 1));
		} else {
			d->name[d->n] = NULL;
			d->value[d->n++] = strdup(line);
		}
	}
	free(text);
	return 0;
}

static inline void dnsfile_free(struct dnsfile *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->name[i]);
		free(d->value[i]);
	}
	memset(d, 0, sizeof *d);
}

/* The answer for name q: its status, and the TXT records in txt/len
 * (n of them, at most DNSFILE_MAX). */
static inline enum dkim_dns dnsfile_lookup(const struct dnsfile *d, const char *q, const char **txt,
                                           size_t *len, size_t *n)
{
	*n = 0;
	for (size_t k = 0; k < d->n; k++) {
		if (d->name[k] && strcasecmp(d->name[k], q) != 0)
			continue;
		if (strcmp(d->value[k], "TEMPERROR") == 0)
			return DKIM_DNS_TEMPFAIL;
		if (strcmp(d->value[k], "PERMERROR") == 0)
			return DKIM_DNS_PERMFAIL;
		if (strcmp(d->value[k], "NOTFOUND") == 0)
			return DKIM_DNS_NOKEY;
		txt[*n] = d->value[k];
		len[(*n)++] = strlen(d->value[k]);
	}
	return *n ? DKIM_DNS_OK : DKIM_DNS_NOKEY;
}

/* Answers the query of signature i of v from d. */
static inline void dnsfile_answer(const struct dnsfile *d, struct dkim_verify *v, size_t i)
{
	const char *q = dkim_verify_query(v, i);
	if (!q)
		return;
	const char *txt[DNSFILE_MAX];
	size_t len[DNSFILE_MAX], n = 0;
	enum dkim_dns st = dnsfile_lookup(d, q, txt, len, &n);
	dkim_verify_key(v, i, st, txt, len, n);
}

#endif
