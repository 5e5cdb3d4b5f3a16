/* email_methods: the JMAP Mail methods for Email, Thread and
 * SearchSnippet (RFC 8621 §3, §4, §5); methods.c puts them in the table
 * the request runner (api.c) looks calls up in. */
#ifndef TERN_JMAP_EMAIL_METHODS_H
#define TERN_JMAP_EMAIL_METHODS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/jmap/jmap_int.h"

void jmap_email_get(struct jmap_call *c);           /* email_get.c */
void jmap_email_changes(struct jmap_call *c);       /* email_changes.c */
void jmap_email_set(struct jmap_call *c);           /* email_set.c */
void jmap_email_copy(struct jmap_call *c);          /* email_copy.c */
void jmap_email_import(struct jmap_call *c);        /* email_import.c */
void jmap_email_query(struct jmap_call *c);         /* email_query.c */
void jmap_email_query_changes(struct jmap_call *c); /* email_query.c */
void jmap_thread_get(struct jmap_call *c);          /* thread.c */
void jmap_thread_changes(struct jmap_call *c);      /* email_changes.c */
void jmap_search_snippet_get(struct jmap_call *c);  /* search_snippet.c */

/* t (unix seconds) as a UTCDate, "YYYY-MM-DDTHH:MM:SSZ" (email_get.c).
 * 0, or a negative errno. */
int jmap_utc_date(int64_t t, char *out, size_t outlen);

#endif
