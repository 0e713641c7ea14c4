/* Giving the heap's free pages back to the system, every little while. */
#pragma once

#include <glib.h>

/* A repeating timer that trims the heap; source_free() it. */
GSource *heap_trim_new(void);
