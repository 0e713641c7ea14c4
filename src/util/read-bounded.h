/* Reading a whole small file (a config, a secret) with a size limit, so a
 * huge or endless input (a FIFO, /dev/zero) cannot make us allocate or
 * loop without end. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Reads @fd to its end into @buf, which holds @size bytes.  Only up to
 * @size - 1 bytes fit: false with errno EFBIG when there are more, false
 * with read()'s errno on an error; true and *@ret_len otherwise. */
bool read_bounded(int fd, char *buf, size_t size, size_t *ret_len);
