/* libcurl, loaded when a backend first needs it (an http:// or etcd
 * signaling URL) instead of linked: the daemon on a LAN or with multicast
 * signaling never maps libcurl and the ~20 libraries it pulls in (OpenSSL,
 * Kerberos, LDAP, SSH, RTMP), which cost memory and symbol binding at every
 * start (issue 14).
 *
 * Include this instead of <curl/curl.h>: the curl_* calls below go through
 * the table that curl_dl_load() fills; the code that calls them is unchanged.
 * curl's GCC type checks wrap curl_easy_setopt in a macro of the same name,
 * so they are off here (the prototypes still check the handle types). */
#pragma once

#define CURL_DISABLE_TYPECHECK 1
#include <stdbool.h>
#include <curl/curl.h>
#include <glib.h>

struct curl_dl {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *easy, CURLoption option, ...);
	CURLcode (*easy_getinfo)(CURL *easy, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	void (*easy_cleanup)(CURL *easy);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_setopt)(CURLM *multi, CURLMoption option, ...);
	CURLMcode (*multi_assign)(CURLM *multi, curl_socket_t fd, void *p);
	CURLMcode (*multi_add_handle)(CURLM *multi, CURL *easy);
	CURLMcode (*multi_remove_handle)(CURLM *multi, CURL *easy);
	CURLMcode (*multi_socket_action)(CURLM *multi, curl_socket_t fd, int mask, int *running);
	CURLMsg *(*multi_info_read)(CURLM *multi, int *msgs_in_queue);
	CURLMcode (*multi_cleanup)(CURLM *multi);
	CURLMcode (*multi_timeout)(CURLM *multi, long *timeout_ms);
};

extern struct curl_dl curl_dl;

/* Loads libcurl once per process (thread-safe); false with @error when it
 * cannot be loaded or lacks a function.  No curl_* call before it. */
bool curl_dl_load(GError **error);

/* curl.h defines these three as macros of themselves. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_global_init curl_dl.global_init
#define curl_easy_init curl_dl.easy_init
#define curl_easy_setopt curl_dl.easy_setopt
#define curl_easy_getinfo curl_dl.easy_getinfo
#define curl_easy_strerror curl_dl.easy_strerror
#define curl_easy_cleanup curl_dl.easy_cleanup
#define curl_slist_append curl_dl.slist_append
#define curl_slist_free_all curl_dl.slist_free_all
#define curl_multi_init curl_dl.multi_init
#define curl_multi_setopt curl_dl.multi_setopt
#define curl_multi_assign curl_dl.multi_assign
#define curl_multi_add_handle curl_dl.multi_add_handle
#define curl_multi_remove_handle curl_dl.multi_remove_handle
#define curl_multi_socket_action curl_dl.multi_socket_action
#define curl_multi_info_read curl_dl.multi_info_read
#define curl_multi_cleanup curl_dl.multi_cleanup
#define curl_multi_timeout curl_dl.multi_timeout
