/* Loads libcurl on first use; see curl-dl.h. */
#include "config.h"

#include <dlfcn.h>
#include <string.h>
#include <gio/gio.h>

#include "curl-dl.h"

/* The soname Debian's libcurl4 (and libcurl3-gnutls' sibling) installs;
 * CURL_SONAME overrides it for a build against another ABI. */
#ifndef CURL_SONAME
#define CURL_SONAME "libcurl.so.4"
#endif

struct curl_dl curl_dl;

/* The table's slots in order, with the names libcurl exports. */
static const char *const symbols[] = {
	"curl_global_init",	 "curl_easy_init",	     "curl_easy_setopt",	 "curl_easy_getinfo",
	"curl_easy_strerror",	 "curl_easy_cleanup",	     "curl_slist_append",	 "curl_slist_free_all",
	"curl_multi_init",	 "curl_multi_setopt",	     "curl_multi_assign",	 "curl_multi_add_handle",
	"curl_multi_remove_handle", "curl_multi_socket_action", "curl_multi_info_read", "curl_multi_cleanup",
	"curl_multi_timeout",
};
G_STATIC_ASSERT(G_N_ELEMENTS(symbols) * sizeof(void (*)(void)) == sizeof(struct curl_dl));

/* Fills a local table and publishes it only whole: a missing symbol leaves
 * every slot NULL. */
static char *load(void)
{
	void (*table[G_N_ELEMENTS(symbols)])(void);
	void *lib = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!lib)
		return g_strdup_printf("cannot load libcurl: %s (install the Debian package libcurl4)", dlerror());
	for (size_t i = 0; i < G_N_ELEMENTS(symbols); i++) {
		void *sym = dlsym(lib, symbols[i]);

		if (!sym) {
			dlclose(lib);
			return g_strdup_printf("%s lacks %s", CURL_SONAME, symbols[i]);
		}
		/* POSIX: a dlsym() result converts to a function pointer. */
		table[i] = (void (*)(void))sym;
	}
	memcpy(&curl_dl, table, sizeof(curl_dl));
	return NULL; /* the library stays loaded for the process's life */
}

bool curl_dl_load(GError **error)
{
	static gsize done;
	static char *failure;

	if (g_once_init_enter(&done)) {
		failure = load();
		g_once_init_leave(&done, 1);
	}
	if (failure)
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, failure);
	return !failure;
}
