/* cli_progress: a one-line progress bar on stderr (cli_progress.h). */
#include "app/cli_progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void cli_progress_init(struct cli_progress *p, const char *what, const char *unit, uint64_t goal)
{
	*p = (struct cli_progress){
	    .tty = isatty(STDERR_FILENO) == 1, .what = what, .goal = goal, .unit = unit};
}

void cli_progress_update(struct cli_progress *p, uint64_t done, const char *label)
{
	if (!p->tty)
		return;
	uint64_t t = now_ns();
	if (p->drawn && t - p->last_ns < 100000000u && done < p->goal)
		return;
	p->last_ns = t;
	p->drawn = true;
	char bar[31];
	unsigned fill = p->goal ? (unsigned)(done >= p->goal ? 30 : done * 30 / p->goal) : 0;
	for (unsigned i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = '\0';
	if (p->goal)
		fprintf(stderr, "\r\033[K%s [%s] %3u%% %llu/%llu %s  %.40s", p->what, bar,
		        (unsigned)(done >= p->goal ? 100 : done * 100 / p->goal),
		        (unsigned long long)done, (unsigned long long)p->goal, p->unit,
		        label ? label : "");
	else
		fprintf(stderr, "\r\033[K%s %llu %s  %.40s", p->what, (unsigned long long)done,
		        p->unit, label ? label : "");
	fflush(stderr);
}

void cli_progress_clear(struct cli_progress *p)
{
	if (p->tty && p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		p->drawn = false;
	}
}
