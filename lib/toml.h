/* toml: a TOML 1.0.0 parser for tern's configuration.
 *
 * The whole document is parsed into an immutable tree of struct toml_value.
 * Accepts and rejects exactly what TOML 1.0.0 does (not 1.1: no newlines or
 * trailing commas in inline tables, no \e or \xHH escapes, seconds required).
 *
 * Hostile input is handled: any byte sequence (NUL, invalid UTF-8, bare CR)
 * yields an error, never a crash. Nesting of arrays and inline tables is
 * limited to TOML_MAX_NEST levels and the depth of the resulting tree to
 * TOML_MAX_DEPTH, so the recursive-descent parser and any recursive consumer
 * of the tree have a bounded stack. Table lookup is hashed once a table
 * grows, so large tables parse in linear time.
 *
 * Columns are 1-based byte offsets within the line. */
#ifndef TERN_TOML_H
#define TERN_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOML_MAX_NEST 128  /* arrays / inline tables inside each other */
#define TOML_MAX_DEPTH 256 /* tables + arrays from the root to a leaf */

enum toml_type {
	TOML_STRING,
	TOML_INTEGER,
	TOML_FLOAT,
	TOML_BOOL,
	TOML_DATETIME,       /* offset date-time: 1979-05-27T07:32:00Z */
	TOML_DATETIME_LOCAL, /* 1979-05-27T07:32:00 */
	TOML_DATE_LOCAL,     /* 1979-05-27 */
	TOML_TIME_LOCAL,     /* 07:32:00 */
	TOML_ARRAY,
	TOML_TABLE
};

struct toml_value;

struct toml_error {
	int line; /* 1-based */
	int col;  /* 1-based byte column */
	char msg[200];
};

/* Parse len bytes of src (need not be NUL-terminated; may contain NULs,
 * which are an error). Returns the root table, or NULL with *err filled in
 * (err may be NULL). A leading UTF-8 BOM is skipped. Free with toml_free. */
struct toml_value *toml_parse(const char *src, size_t len, struct toml_error *err);

/* Free a tree returned by toml_parse (iterative: any depth is fine) and set
 * *v = NULL. v == NULL or *v == NULL is a no-op. Only call on the root. */
void toml_free(struct toml_value **v);

/* All accessors below accept NULL and values of the wrong type; they then
 * return 0 / NULL / false / TOML_TABLE-less defaults as documented. */

enum toml_type toml_type(const struct toml_value *v); /* v != NULL required */

/* Where the value was defined, 1-based. For scalars, arrays and inline
 * tables: the first byte of the value. For tables defined by a [header] or
 * an [[array-of-tables]] header: the header's last key. For tables created
 * implicitly (by a dotted key or a header path): the key that created them.
 * The root table is at 1:1. Returns 0 for NULL. */
int toml_line(const struct toml_value *v);
int toml_col(const struct toml_value *v);

/* Tables: keys are in insertion (document) order. Keys are NUL-terminated;
 * a quoted key may contain "\u0000", use toml_table_key_len for the real
 * length. toml_table_get looks a key up (strlen(key) bytes); NULL if absent
 * or t is not a table. */
size_t toml_table_size(const struct toml_value *t);
const char *toml_table_key(const struct toml_value *t, size_t i);
const char *toml_table_key_len(const struct toml_value *t, size_t i, size_t *len);
struct toml_value *toml_table_value(const struct toml_value *t, size_t i);
struct toml_value *toml_table_get(const struct toml_value *t, const char *key);
struct toml_value *toml_table_getn(const struct toml_value *t, const char *key, size_t keylen);

/* Arrays (both literal arrays and arrays of tables). */
size_t toml_array_size(const struct toml_value *a);
struct toml_value *toml_array_get(const struct toml_value *a, size_t i);

/* Scalars. toml_string returns the decoded UTF-8 bytes, NUL-terminated, with
 * the length in *len (len may be NULL; the string may contain NUL via
 * \u0000). NULL if v is not a string. toml_int / toml_float / toml_bool
 * return 0 / 0.0 / false for a value of another type. */
const char *toml_string(const struct toml_value *v, size_t *len);
int64_t toml_int(const struct toml_value *v);
double toml_float(const struct toml_value *v);
bool toml_bool(const struct toml_value *v);

/* The four date/time types, as normalized text: 'T' as the separator, 'Z'
 * upper-case, fractional seconds kept exactly as written, e.g.
 * "1979-05-27T07:32:00Z", "1979-05-27T00:32:00.999999-07:00",
 * "1979-05-27T07:32:00", "1979-05-27", "07:32:00.5". NULL for other types. */
const char *toml_datetime_text(const struct toml_value *v);

/* Name of a type for messages: "string", "integer", ..., "table". */
const char *toml_type_name(enum toml_type t);

#endif
