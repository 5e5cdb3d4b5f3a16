/* file: whole-file writes that survive a crash (see file.c). */
#ifndef TERN_LIB_FILE_H
#define TERN_LIB_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Write data[0..len) to path with the given mode, atomically and durably.
 * 0, or -1 with err filled ("writing X: reason"). */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, char *err,
                      size_t errlen);

#endif
