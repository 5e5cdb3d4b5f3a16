/* reserve: disk space kept aside so that a user can always make room.
 *
 * When the disk fills up, every commit fails, including the ones that would
 * free space: a STORE \Deleted and an EXPUNGE need WAL frames too, and the
 * WAL cannot start over until a checkpoint has copied it into the
 * database, which needs room as well. So the store keeps a file of
 * reserved space (<data_dir>/tern.reserve, allocated with
 * posix_fallocate; default 64 MiB, more than the WAL's checkpoint backlog
 * of at most 16 MiB).
 *
 * When a commit or a checkpoint fails with ENOSPC, the writer gives that
 * space back: the checkpointer finishes its copy, and the jobs that change
 * little and are what a user does to make room (the lazy ones: flags,
 * expunges; see store_submit_lazy()) run again, alone. From then on, jobs
 * that add data (deliveries, APPEND) run only while the disk and the
 * database's free pages together hold more than a reserve's worth of room
 * (store_reserve_room()); the others get -ENOSPC without running (SMTP
 * answers 452 4.3.1: the sender tries later). So a mailbox that was
 * expunged takes mail again, and the reserve's worth stays for the next
 * user who needs to make room. The file itself is taken back once the
 * disk has room for it (tried at most every RESERVE_RETRY_MS).
 *
 * Writer thread, under wlock, except store_set_disk_reserve(). */
#include "store/store.h"
#include "store/store_int.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/statvfs.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define RESERVE_RETRY_MS 10000
#define ROOM_CHECK_MS 200

/* Allocates the reserve; false when the disk has no room for it. */
static bool take(struct store *s)
{
	int rc = posix_fallocate(s->reserve_fd, 0, (off_t)s->reserve_bytes);
	if (rc == 0 && fdatasync(s->reserve_fd) == 0)
		return true;
	if (rc != 0 && rc != ENOSPC)
		log_warn("store event=reserve_failed err=\"%s\"", strerror(rc));
	if (ftruncate(s->reserve_fd, 0) != 0) /* a partial allocation is no reserve */
		log_warn("store event=reserve_truncate_failed err=\"%s\"", strerror(errno));
	return false;
}

int store_set_disk_reserve(struct store *s, const char *dir, uint64_t bytes)
{
	uv_mutex_lock(&s->wlock);
	int ret = 0;
	if (s->reserve_fd < 0 && bytes > 0) {
		char path[4200];
		snprintf(path, sizeof path, "%s/tern.reserve", dir);
		s->reserve_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (s->reserve_fd < 0)
			ret = -errno;
	}
	if (ret == 0 && s->reserve_fd >= 0) {
		s->reserve_bytes = bytes;
		s->reserve_held = bytes > 0 && take(s);
		if (bytes > 0 && !s->reserve_held) {
			log_warn("store event=reserve_unavailable bytes=%llu note=disk_full",
			         (unsigned long long)bytes);
			s->reserve_retry_ns = uv_hrtime() + (uint64_t)RESERVE_RETRY_MS * 1000000u;
		}
	}
	uv_mutex_unlock(&s->wlock);
	return ret;
}

bool store_reserve_release(struct store *s)
{
	if (s->reserve_fd < 0 || !s->reserve_held)
		return false;
	if (ftruncate(s->reserve_fd, 0) != 0) {
		log_error("store event=reserve_release_failed err=\"%s\"", strerror(errno));
		return false;
	}
	s->reserve_held = false;
	s->reserve_retry_ns = uv_hrtime() + (uint64_t)RESERVE_RETRY_MS * 1000000u;
	log_error("store event=disk_full reserve_released=%llu",
	          (unsigned long long)s->reserve_bytes);
	return true;
}

void store_reserve_rearm(struct store *s)
{
	if (s->reserve_fd < 0 || s->reserve_held || s->reserve_bytes == 0 ||
	    uv_hrtime() < s->reserve_retry_ns)
		return;
	if (take(s)) {
		s->reserve_held = true;
		log_info("store event=reserve_restored bytes=%llu",
		         (unsigned long long)s->reserve_bytes);
	} else {
		s->reserve_retry_ns = uv_hrtime() + (uint64_t)RESERVE_RETRY_MS * 1000000u;
	}
}

void store_reserve_close(struct store *s)
{
	if (s->reserve_fd >= 0)
		close(s->reserve_fd);
	s->reserve_fd = -1;
}

bool store_reserve_room(struct store *s)
{
	if (s->reserve_held || s->reserve_bytes == 0)
		return true;
	uint64_t now = uv_hrtime();
	if (s->room_checked_ns && now - s->room_checked_ns < (uint64_t)ROOM_CHECK_MS * 1000000u)
		return s->room;
	s->room_checked_ns = now;
	struct statvfs fs;
	uint64_t free_bytes = 0;
	if (fstatvfs(s->reserve_fd, &fs) == 0)
		free_bytes = (uint64_t)fs.f_bavail * fs.f_frsize;
	int64_t pages = store_scalar(s->writer,
	                             "SELECT freelist_count FROM pragma_freelist_count "
	                             "WHERE ?1",
	                             1);
	int64_t page_size =
	    store_scalar(s->writer, "SELECT page_size FROM pragma_page_size WHERE ?1", 1);
	if (pages > 0 && page_size > 0)
		free_bytes += (uint64_t)pages * (uint64_t)page_size;
	s->room = free_bytes > s->reserve_bytes;
	return s->room;
}
