#include "read-bounded.h"

#include <errno.h>
#include <unistd.h>

bool read_bounded(int fd, char *buf, size_t size, size_t *ret_len)
{
	size_t len = 0;

	while (len < size) {
		ssize_t n = read(fd, buf + len, size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == size) {
		errno = EFBIG;
		return false;
	}
	*ret_len = len;
	return true;
}
