/* What the signaling backends share with backend.c, which owns the common
 * part of every backend (URL, callbacks, up state) and dispatches the
 * public calls of sig-backend.h through a small table of operations.  Not
 * for users of the backends: they include sig-backend.h only. */
#pragma once

#include "sig-backend.h"

struct sig_backend_ops {
	size_t size; /* of the implementation's struct, which starts with sig_backend */
	/* Takes the parsed URL (scheme already matched; NULL with own_url)
	 * and starts.  On failure frees what it made; backend.c frees the
	 * struct itself. */
	bool (*init)(struct sig_backend *b, GUri *uri, GError **error);
	/* The URL is not one GUri reads (etcd's list of hosts): init parses
	 * b->url itself. */
	bool own_url;
	/* Stops every source and request; backend.c frees the struct. */
	void (*fini)(struct sig_backend *b);
	/* @via is NULL or one of this backend's routes. */
	int (*publish)(struct sig_backend *b, const uint8_t id[RELAY_ID_LEN], const uint8_t *data,
		       size_t len, const struct sig_route *via);
	int (*subscribe)(struct sig_backend *b, const struct sig_subscription *sub);
	void (*unsubscribe)(struct sig_backend *b, const uint8_t id[RELAY_ID_LEN]);
};

struct sig_backend {
	const struct sig_backend_ops *ops;
	char *url;
	struct sig_backend_callbacks cb;
	GMainContext *context; /* thread-default when created */
	bool up;
	bool reported; /* state_changed ran at least once */
	struct sig_backend_options options; /* copies, freed by backend.c */
};

extern const struct sig_backend_ops sig_backend_mcast_ops;
extern const struct sig_backend_ops sig_backend_http_ops;
extern const struct sig_backend_ops sig_backend_etcd_ops;

/* Records the state and tells the user when it changed (or on the first
 * report).  Must not run inside a libcurl callback: the user may call
 * back into the backend. */
void sig_backend_set_state(struct sig_backend *b, bool up, const char *reason);
void sig_backend_deliver(struct sig_backend *b, const uint8_t *data, size_t len, const struct sig_route *from);
bool sig_backend_excludes(struct sig_backend *b, const char *ifname);
