/* fault: the injected failures of store/fault.h. One failure per run, at
 * a count: the counters are atomics because the writer, the syncer and
 * store_exec's callers each reach them from their own thread. */
#include "store/fault.h"
#include "store/fault_int.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

#ifdef TERN_FAULTS

enum site { SITE_NONE, SITE_STEP, SITE_WAL, SITE_SYNC };

static enum site armed_site;
static int step_rc;      /* SITE_STEP: the result code */
static bool wal_short;   /* SITE_WAL: half written, else nothing */
static uint64_t fire_at; /* the N of SITE:N */
static _Atomic uint64_t seen;
static _Atomic bool armed;
static sqlite3 *_Atomic writer;

/* The count reached N: true once, for the call that reaches it. */
static bool count_one(enum site site)
{
	if (!atomic_load(&armed) || armed_site != site)
		return false;
	uint64_t n = atomic_fetch_add(&seen, 1) + 1;
	if (n != fire_at)
		return false;
	log_warn("store event=fault_injected site=%s n=%llu",
	         site == SITE_STEP  ? "step"
	         : site == SITE_WAL ? "wal"
	                            : "sync",
	         (unsigned long long)n);
	return true;
}

int store_fault_step(sqlite3_stmt *st)
{
	if (sqlite3_db_handle(st) == atomic_load(&writer) && count_one(SITE_STEP))
		return step_rc;
	return sqlite3_step(st);
}

void store_fault_note_writer(sqlite3 *db)
{
	atomic_store(&writer, db);
}

long store_fault_wal_write(long len, bool *fail)
{
	*fail = count_one(SITE_WAL);
	if (!*fail)
		return len;
	return wal_short && len > 1 ? len / 2 : 0;
}

bool store_fault_sync(void)
{
	return count_one(SITE_SYNC);
}

static bool parse(const char *spec)
{
	char buf[64];
	if (strlen(spec) >= sizeof buf)
		return false;
	strcpy(buf, spec);
	char *save = NULL;
	const char *site = strtok_r(buf, ":", &save);
	const char *n = strtok_r(NULL, ":", &save);
	const char *kind = strtok_r(NULL, ":", &save);
	if (!site || !n)
		return false;
	char *end;
	unsigned long long v = strtoull(n, &end, 10);
	if (*end || v == 0)
		return false;
	fire_at = v;
	if (!strcmp(site, "step")) {
		armed_site = SITE_STEP;
		if (!kind || !strcmp(kind, "ioerr"))
			step_rc = SQLITE_IOERR;
		else if (!strcmp(kind, "full"))
			step_rc = SQLITE_FULL;
		else if (!strcmp(kind, "busy"))
			step_rc = SQLITE_BUSY;
		else
			return false;
	} else if (!strcmp(site, "wal")) {
		armed_site = SITE_WAL;
		if (!kind || !strcmp(kind, "short"))
			wal_short = true;
		else if (!strcmp(kind, "enospc"))
			wal_short = false;
		else
			return false;
	} else if (!strcmp(site, "sync")) {
		armed_site = SITE_SYNC;
	} else {
		return false;
	}
	return true;
}

void store_fault_arm(void)
{
	const char *spec = getenv("TERN_FAULT");
	if (!spec || !*spec)
		return;
	if (!parse(spec)) {
		log_error("store event=fault_spec_invalid spec=\"%s\"", spec);
		return;
	}
	atomic_store(&seen, 0);
	atomic_store(&armed, true);
	log_warn("store event=fault_armed spec=\"%s\"", spec);
}

void store_fault_summary(void)
{
	if (atomic_load(&armed))
		log_info("store event=fault_count site=%s seen=%llu",
		         armed_site == SITE_STEP  ? "step"
		         : armed_site == SITE_WAL ? "wal"
		                                  : "sync",
		         (unsigned long long)atomic_load(&seen));
}

#else

void store_fault_summary(void) {}

void store_fault_arm(void)
{
	const char *spec = getenv("TERN_FAULT");
	if (spec && *spec)
		log_error("store event=fault_spec_ignored spec=\"%s\" why=\"built without "
		          "TERN_FAULTS\"",
		          spec);
}

#endif
