/* admin_json: JSON in and out for the admin API (jansson). */
#ifndef TERN_HTTP_ADMIN_JSON_H
#define TERN_HTTP_ADMIN_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct http_session;
struct store_account;
struct store_queue_row;
struct store_dkim_key;

#define HTTP_JSON_FIELDS_MAX 8

/* Answer with body (which this takes over) as application/json, never
 * cached. extra: more header lines, or NULL. */
void http_json_respond(struct http_session *s, int status, json_t *body, const char *extra);
/* Answer {"error": msg}. */
void http_json_error(struct http_session *s, int status, const char *msg, const char *extra);

/* A time as RFC 3339 UTC ("2026-01-02T03:04:05Z"), or null for 0. */
json_t *http_json_time(int64_t t);
json_t *http_json_user(const struct store_account *a);
json_t *http_json_queue_row(const struct store_queue_row *r);
/* A DKIM key's public side (the private key is not in the struct). */
json_t *http_json_dkim_key(const struct store_dkim_key *k);

/* The request's body as a JSON object whose members are all among the n
 * names and all strings; values[i] is the string of names[i], or NULL
 * when absent (they live as long as *doc: json_decref it). An empty body
 * counts as {}. Returns 0, or the status to answer (400: not JSON, not
 * an object, an unknown member, a member not a string; 415: a body whose
 * Content-Type is not application/json) with err set. */
/* The same checks, members of any JSON type: values[i] is the member
 * named names[i], or NULL. */
int http_json_members(struct http_session *s, const char *const *names, json_t **values, size_t n,
                      json_t **doc, char *err, size_t errlen);
int http_json_fields(struct http_session *s, const char *const *names, const char **values,
                     size_t n, json_t **doc, char *err, size_t errlen);

#endif
