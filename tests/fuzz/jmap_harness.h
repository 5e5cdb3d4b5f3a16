/* jmap_harness: what the JMAP fuzzers share (fuzz_jmap_request,
 * fuzz_jmap_sieve, fuzz_jmap_contacts): small limits, a temporary store
 * filled by the fuzzer's own setup job, and the check of an answer: each
 * request gets exactly one, at once, a 200 or 400 of JSON. */
#ifndef TERN_FUZZ_JMAP_HARNESS_H
#define TERN_FUZZ_JMAP_HARNESS_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "proto/jmap/jmap.h"
#include "store/store.h"

static const struct jmap_limits fuzz_jmap_limits = {
    .max_size_upload = 1 << 20,
    .max_concurrent_upload = 2,
    .max_size_request = 1 << 16,
    .max_concurrent_requests = 2,
    .max_calls_in_request = 16,
    .max_objects_in_get = 50,
    .max_objects_in_set = 50,
};

/* A store in a new directory under /tmp (dir: a mkdtemp template), with
 * setup run in it; aborts with name's message when that fails. */
static inline struct store *fuzz_jmap_store(const char *name, char *dir,
                                            int (*setup)(struct store_tx *, void *))
{
	struct store *st = NULL;
	char err[200] = "";
	if (!mkdtemp(dir) || store_open(&st, dir, NULL, err, sizeof err) < 0 ||
	    store_exec(st, setup, NULL) < 0) {
		fprintf(stderr, "%s: no store: %s\n", name, err);
		abort();
	}
	return st;
}

/* The request runner's answer callback; ud is an int counting answers. */
static inline void fuzz_jmap_on_answer(void *ud, int status, const char *type, const char *body,
                                       size_t len)
{
	int *answers = ud;
	++*answers;
	if ((status != 200 && status != 400) || !type || !*type)
		abort();
	json_t *doc = json_loadb(body, len, 0, NULL);
	if (!doc)
		abort();
	json_decref(doc);
}

#endif
