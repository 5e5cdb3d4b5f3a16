/* job: what the runner (scheduler.c) and the attempt (attempt.c) both do
 * to a delivery job: change its phase, and read or set the results of its
 * rows.
 *
 * Why a file of its own: these helpers lived in scheduler.c, so attempt.c
 * called up into the runner that had started it (and kept its own copy of
 * the "any row still pending?" test). Here they sit below both; the
 * attempt reports back only through the callback the runner gives it.
 */
#include "relay/scheduler_int.h"

#include <stdio.h>

#include "lib/log.h"

static const char *const phase_names[] = {"claim", "resolve", "connect", "session", "record"};

void queue_job_enter(struct qjob *job, enum qjob_phase to)
{
	if (job->phase != to)
		log_debug("queue domain=%s event=phase from=%s to=%s", job->domain,
		          phase_names[job->phase], phase_names[to]);
	job->phase = to;
}

void queue_rows_set(struct qjob *job, enum qrow_result r, int code, const char *enhanced,
                    const char *text)
{
	for (size_t e = 0; e < job->nenvs; e++)
		for (size_t i = 0; i < job->envs[e].nrows; i++) {
			struct qrow *row = &job->envs[e].rows[i];
			if (!row->claimed || row->result != QR_PENDING)
				continue;
			row->result = r;
			row->code = code;
			snprintf(row->enhanced, sizeof row->enhanced, "%s",
			         enhanced ? enhanced : "");
			snprintf(row->reply, sizeof row->reply, "%s", text);
		}
}

bool queue_job_has_pending(const struct qjob *job)
{
	for (size_t e = 0; e < job->nenvs; e++)
		for (size_t i = 0; i < job->envs[e].nrows; i++)
			if (job->envs[e].rows[i].claimed &&
			    job->envs[e].rows[i].result == QR_PENDING)
				return true;
	return false;
}
