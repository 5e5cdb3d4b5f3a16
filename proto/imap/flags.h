/* flags: IMAP flag lists and the store's flag bits (RFC 9051 §2.3.2).
 *
 * Pure: no session. The system flags are bits (STORE_FLAG_*, store/);
 * keywords travel as one space-separated string. STORE and APPEND parse
 * flag lists with these; FETCH, STORE's replies and the update queue
 * format them. */
#ifndef TERN_IMAP_FLAGS_H
#define TERN_IMAP_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct arena;
struct imap_arg;

/* Not a store flag: added to flags for output only (imap_output_flags(),
 * recent.c), so that imap_format_flags() lists \Recent. */
#define IMAP_FLAG_RECENT (1u << 5)

/* "(\Seen \Deleted kw1 kw2)" appended to b. 0, or negative when out of
 * memory. */
int imap_format_flags(struct buf *b, uint32_t flags, const char *keywords);

/* A keyword (RFC 9051 flag-keyword: an atom): one or more ATOM-CHARs
 * (parser.h). */
bool imap_keyword_valid(const char *s, size_t len);

/* One flag atom: 1 and *bit for a storable system flag, 2 for \Recent
 * (ignored), 0 for a valid keyword, -1 otherwise. */
int imap_flag_parse(const char *s, size_t len, uint32_t *bit);

/* A run of flag atoms (a list's children, or STORE's trailing atoms) into
 * a system flag mask and a space-separated keyword list (in the arena),
 * each keyword once. The atom NIL is the keyword "NIL". -EINVAL for a bad
 * flag. */
int imap_flags_collect(const struct imap_arg *args, size_t n, struct arena *a, uint32_t *mask,
                       char **keywords);

#endif
