/* What facts.c, facts-say.c and facts-learn.c share; not for use
 * elsewhere (iface.h has the interface's side). */
#pragma once

#include <string.h>

#include "peer.h"
#include "signaling/fact-wire.h"

#define FACTS_TICK_MS 1000
/* How often each neighbour hears from us; peers whose liveness decides
 * where addresses go (learned ones, carriers) more often: three missed
 * bundles are how reroute.c finds a dead direct path. */
#define FACTS_INTERVAL_US (10 * G_USEC_PER_SEC)
#define FACTS_FAST_US (2 * G_USEC_PER_SEC)
/* Two fast bundles missed, and a device read of slack.  Each side says
 * "I hear you" only while this holds, and believes "you hear me" only
 * this long: a path that breaks one way is given up on both sides within
 * about two windows. */
#define FACTS_LIVE_US (5 * G_USEC_PER_SEC)
#define FACTS_TTL_S 30
#define FACTS_FUTURE_MS (60 * 1000)
#define FACTS_MAX 4096
#define LEARNED_MAX 256
#define OWN_MAX 16
#define OWN_ENDPOINTS_MAX 4

struct fact_entry {
	struct fact f;
	uint8_t from[32];
	gint64 expires_ms; /* real time */
};

struct iface_facts {
	GArray *known;       /* struct fact_entry: believed and not expired */
	GHashTable *learned; /* GBytes(key): peers we added to WireGuard */
	GSource *timer, *soon;
	uint64_t last_issued_ms;
	/* own addresses on the interface, refreshed every tick */
	struct wg_allowed_ip own[OWN_MAX];
	size_t n_own;
	unsigned untrusted, rejected;
};

static inline gint64 facts_now_ms(void)
{
	return g_get_real_time() / 1000;
}

static inline bool facts_key_is(const uint8_t a[32], const uint8_t b[32])
{
	return memcmp(a, b, 32) == 0;
}

/* The first believed fact @attr about @subject, said by @from and about
 * @peer where those are not NULL; NULL when there is none. */
const struct fact_entry *facts_find(const struct iface_facts *fx, const uint8_t *from, const uint8_t subject[32],
				    enum fact_attr attr, const uint8_t *peer);
/* An allowed IP of @subject's that another node (a router) told us. */
const struct fact_entry *facts_vouching(const struct iface_facts *fx, const uint8_t subject[32]);

/* facts-say.c: every neighbour whose turn it is gets our bundle. */
void facts_publish(struct wice_iface *iface);
/* facts-learn.c: peers added from routers' facts, and removed again. */
void facts_learn(struct wice_iface *iface);
void facts_drop_learned(struct wice_iface *iface);
