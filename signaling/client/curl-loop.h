/* libcurl's multi socket API driven by a GLib main context, shared by the
 * backends that speak HTTP (the signal server, etcd's JSON gateway).  curl
 * tells us which sockets to watch and when to wake it; we tell it what
 * happened.  No thread of ours and no blocking call: name resolution runs
 * in curl's asynchronous resolver.
 *
 * curl must not be called from its own callbacks.  So the owner hears of
 * finished transfers (done) and then gets one call (after) once curl has
 * returned, where it may start new transfers and hand things up to users
 * that may call back into it. */
#pragma once

#include <stdbool.h>
#include "curl-dl.h"
#include <gio/gio.h>

struct curl_loop;

struct curl_loop_callbacks {
	/* A transfer finished; it is still in the loop: remove it. */
	void (*done)(CURL *easy, CURLcode result, void *userdata);
	/* After every call into curl, once its finished transfers are told. */
	void (*after)(void *userdata);
	void *userdata;
};

/* curl_global_init() once per process; false (with @error) when curl
 * cannot start. */
bool curl_loop_global_init(GError **error);

struct curl_loop *curl_loop_new(GMainContext *context, const struct curl_loop_callbacks *cb);
/* Accepts NULL.  Remove every transfer first. */
void curl_loop_free(struct curl_loop *loop);

void curl_loop_add(struct curl_loop *loop, CURL *easy);
/* Accepts a transfer that was never added. */
void curl_loop_remove(struct curl_loop *loop, CURL *easy);
