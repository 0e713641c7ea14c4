/* Mesh wire formats: plain C over (buf, len), no allocation.
 *
 * docs/PROTOCOL.md section 11 has every byte; keep the two in step.  The
 * decoder checks every length against what is left and every count
 * against its cap, and the encoder refuses what the decoder would refuse,
 * so a member never signs an announcement that others drop.
 *
 * Verification order is cheapest first for an outsider: the membership
 * proof (one BLAKE2b) stops anyone without the secret before the
 * signature check (an Ed25519 verification, about 50 us), and the skew
 * check comes last so that -ESTALE always means "authentic but old". */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "mesh-announce.h"
#include "signaling/wire-reader.h"

#define ANNOUNCE_VERSION 1
#define WIRE_FAMILY_IPV4 4
#define WIRE_FAMILY_IPV6 6
#define SIGNATURE_LEN 64
/* version, sign_pk, timestamp, flags, addr_counter */
#define HEADER_LEN (1 + 32 + 8 + 1 + 1)
#define KNOWN_FLAGS (MESH_ANNOUNCE_LEAVING | MESH_ANNOUNCE_HELLO)
#define ROTATE_CONTEXT "wice mesh v1 rotate"
#define ROTATE_SIGNED_LEN (32 + MESH_SECRET_LEN + 8)

/* ---- primitives ------------------------------------------------------------ */

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint8_t *put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
	return p + 8;
}

static uint8_t *put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put_bytes(uint8_t *p, const void *v, size_t n)
{
	memcpy(p, v, n);
	return p + n;
}

static uint8_t wire_family(int family)
{
	return family == AF_INET ? WIRE_FAMILY_IPV4 : family == AF_INET6 ? WIRE_FAMILY_IPV6 : 0;
}

static size_t wire_addr_len(uint8_t wire)
{
	return wire == WIRE_FAMILY_IPV4 ? 4 : wire == WIRE_FAMILY_IPV6 ? 16 : 0;
}

/* ---- field rules, shared by the encoder and the decoder -------------------- */

/* Safe in a hosts(5) line, a log line and a JSON string as they are. */
static bool is_hostname_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

static bool hostname_valid(const char *s, size_t len)
{
	if (len > MESH_HOSTNAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_hostname_char(s[i]))
			return false;
	return true;
}

/* A prefix with host bits set names the same network two ways; refusing
 * it keeps one spelling per route, so AllowedIPs compare byte for byte. */
static bool prefix_valid(uint8_t wire, const uint8_t *addr, uint8_t len)
{
	size_t n = wire_addr_len(wire);

	if (n == 0 || len > 8 * n)
		return false;
	for (size_t bit = len; bit < 8 * n; bit++)
		if (addr[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

static bool is_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Nobody's WireGuard answers on port 0 or on the unspecified address. */
static bool endpoint_valid(uint8_t wire, const uint8_t *addr, uint16_t port)
{
	size_t n = wire_addr_len(wire);

	return n != 0 && port != 0 && !is_zero(addr, n);
}

/* ---- encoding -------------------------------------------------------------- */

/* The body's length (everything before the proof), or 0 if a field is
 * invalid. */
static size_t body_len(const struct mesh_announce *a)
{
	size_t host_len = strnlen(a->hostname, sizeof(a->hostname));
	size_t len = HEADER_LEN + 1 + host_len + 1 + 1;

	if ((a->flags & ~KNOWN_FLAGS) || host_len == sizeof(a->hostname) ||
	    !hostname_valid(a->hostname, host_len) || a->n_routes > MESH_MAX_ROUTES ||
	    a->n_endpoints > MESH_MAX_ENDPOINTS)
		return 0;
	for (size_t i = 0; i < a->n_routes; i++) {
		const struct mesh_prefix *r = &a->routes[i];

		if (!prefix_valid(wire_family(r->family), r->addr, r->len))
			return 0;
		len += 2 + wire_addr_len(wire_family(r->family));
	}
	for (size_t i = 0; i < a->n_endpoints; i++) {
		const struct sig_addr *e = &a->endpoints[i];

		if (!endpoint_valid(wire_family(e->family), e->addr, e->port))
			return 0;
		len += 3 + wire_addr_len(wire_family(e->family));
	}
	return len;
}

static uint8_t *write_body(uint8_t *p, const struct mesh_announce *a)
{
	size_t host_len = strlen(a->hostname);

	*p++ = ANNOUNCE_VERSION;
	p = put_bytes(p, a->sign_pk, 32);
	p = put_u64(p, a->timestamp);
	*p++ = a->flags;
	*p++ = a->addr_counter;
	*p++ = (uint8_t)host_len;
	p = put_bytes(p, a->hostname, host_len);
	*p++ = a->n_routes;
	for (size_t i = 0; i < a->n_routes; i++) {
		uint8_t wire = wire_family(a->routes[i].family);

		*p++ = wire;
		*p++ = a->routes[i].len;
		p = put_bytes(p, a->routes[i].addr, wire_addr_len(wire));
	}
	*p++ = a->n_endpoints;
	for (size_t i = 0; i < a->n_endpoints; i++) {
		uint8_t wire = wire_family(a->endpoints[i].family);

		*p++ = wire;
		p = put_bytes(p, a->endpoints[i].addr, wire_addr_len(wire));
		p = put_u16(p, a->endpoints[i].port);
	}
	return p;
}

int mesh_announce_sign(const struct mesh_keys *k, const struct mesh_hostkey *hk, const struct mesh_announce *a,
		       uint8_t *buf, size_t size, size_t *ret_len)
{
	size_t len = body_len(a);
	uint8_t *p;

	if (len == 0 || sodium_memcmp(hk->sign_pk, a->sign_pk, 32) != 0)
		return -EINVAL;
	if (size < len + MESH_PROOF_LEN + SIGNATURE_LEN)
		return -ENOBUFS;
	p = write_body(buf, a);
	mesh_membership_proof(k, a->sign_pk, a->timestamp, p);
	p += MESH_PROOF_LEN;
	crypto_sign_detached(p, NULL, buf, (size_t)(p - buf), hk->sign_sk);
	*ret_len = (size_t)(p - buf) + SIGNATURE_LEN;
	return 0;
}

/* ---- decoding -------------------------------------------------------------- */

static bool read_header(struct wire_reader *r, struct mesh_announce *a)
{
	uint8_t version, ts[8], host_len;

	if (!wire_read_u8(r, &version) || version != ANNOUNCE_VERSION || !wire_read_bytes(r, a->sign_pk, 32) ||
	    !wire_read_bytes(r, ts, 8) || !wire_read_u8(r, &a->flags) || (a->flags & ~KNOWN_FLAGS) ||
	    !wire_read_u8(r, &a->addr_counter) || !wire_read_u8(r, &host_len))
		return false;
	a->timestamp = get_u64(ts);
	if (host_len > MESH_HOSTNAME_MAX || !wire_read_bytes(r, a->hostname, host_len))
		return false;
	a->hostname[host_len] = '\0';
	return hostname_valid(a->hostname, host_len);
}

static bool read_route(struct wire_reader *r, struct mesh_prefix *ret)
{
	uint8_t wire;

	if (!wire_read_u8(r, &wire) || !wire_read_u8(r, &ret->len) || wire_addr_len(wire) == 0 ||
	    !wire_read_bytes(r, ret->addr, wire_addr_len(wire)))
		return false;
	ret->family = wire == WIRE_FAMILY_IPV4 ? AF_INET : AF_INET6;
	return prefix_valid(wire, ret->addr, ret->len);
}

static bool read_endpoint(struct wire_reader *r, struct sig_addr *ret)
{
	uint8_t wire;

	if (!wire_read_u8(r, &wire) || wire_addr_len(wire) == 0 || !wire_read_bytes(r, ret->addr, wire_addr_len(wire)) ||
	    !wire_read_u16(r, &ret->port))
		return false;
	ret->family = wire == WIRE_FAMILY_IPV4 ? AF_INET : AF_INET6;
	return endpoint_valid(wire, ret->addr, ret->port);
}

static bool read_lists(struct wire_reader *r, struct mesh_announce *a)
{
	if (!wire_read_u8(r, &a->n_routes) || a->n_routes > MESH_MAX_ROUTES)
		return false;
	for (size_t i = 0; i < a->n_routes; i++)
		if (!read_route(r, &a->routes[i]))
			return false;
	if (!wire_read_u8(r, &a->n_endpoints) || a->n_endpoints > MESH_MAX_ENDPOINTS)
		return false;
	for (size_t i = 0; i < a->n_endpoints; i++)
		if (!read_endpoint(r, &a->endpoints[i]))
			return false;
	return true;
}

static bool within_skew(uint64_t timestamp, uint64_t now)
{
	uint64_t d = timestamp > now ? timestamp - now : now - timestamp;

	return d <= MESH_MAX_SKEW_S;
}

int mesh_announce_verify(const struct mesh_keys *k, const uint8_t *buf, size_t len, uint64_t now,
			 struct mesh_announce *ret)
{
	struct mesh_announce a;
	struct wire_reader r = { buf, len };
	const uint8_t *proof, *sig;
	uint8_t wg_public[32];

	memset(&a, 0, sizeof(a));
	if (len > MESH_ANNOUNCE_MAX || !read_header(&r, &a) || !read_lists(&r, &a))
		return -EBADMSG;
	proof = wire_read_span(&r, MESH_PROOF_LEN);
	sig = wire_read_span(&r, SIGNATURE_LEN);
	if (!proof || !sig || r.left != 0)
		return -EBADMSG;
	if (!mesh_membership_proof_verify(k, a.sign_pk, a.timestamp, proof))
		return -EBADMSG;
	/* A key with no WireGuard form could never be a peer. */
	if (!mesh_wg_public_from_sign_pk(a.sign_pk, wg_public) ||
	    crypto_sign_verify_detached(sig, buf, (size_t)(sig - buf), a.sign_pk) != 0)
		return -EBADMSG;
	if (now != 0 && !within_skew(a.timestamp, now))
		return -ESTALE;
	*ret = a;
	return 0;
}

/* ---- frames ---------------------------------------------------------------- */

int mesh_frame_seal_fixed(const struct mesh_keys *k, uint8_t type, const uint8_t *plain, size_t plain_len,
			  const uint8_t nonce[MESH_FRAME_NONCE_LEN], uint8_t *buf, size_t size,
			  size_t *ret_len)
{
	uint8_t inner[MESH_FRAME_PLAIN_MAX];
	size_t total = MESH_FRAME_OVERHEAD + 1 + plain_len;

	if (plain_len > MESH_FRAME_PLAIN_MAX - 1)
		return -EMSGSIZE;
	if (size < total)
		return -ENOBUFS;
	inner[0] = type;
	if (plain_len)
		memcpy(inner + 1, plain, plain_len);
	buf[0] = MESH_FRAME_MAGIC;
	memcpy(buf + 1, nonce, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(buf + 1 + crypto_secretbox_NONCEBYTES, inner, 1 + plain_len, nonce, k->announce_key);
	sodium_memzero(inner, 1 + plain_len);
	*ret_len = total;
	return 0;
}

/* A random nonce: 24 bytes make a collision under one key negligible
 * however many frames the mesh sends. */
int mesh_frame_seal(const struct mesh_keys *k, uint8_t type, const uint8_t *plain, size_t plain_len, uint8_t *buf,
		    size_t size, size_t *ret_len)
{
	uint8_t nonce[MESH_FRAME_NONCE_LEN];

	randombytes_buf(nonce, sizeof(nonce));
	return mesh_frame_seal_fixed(k, type, plain, plain_len, nonce, buf, size, ret_len);
}

bool mesh_frame_is_mesh(const uint8_t *buf, size_t len)
{
	return len >= MESH_FRAME_OVERHEAD + 1 && len <= MESH_FRAME_MAX && buf[0] == MESH_FRAME_MAGIC;
}

int mesh_frame_open(const struct mesh_keys *k, const uint8_t *buf, size_t len, uint8_t *ret_type, uint8_t *plain,
		    size_t plain_size, size_t *ret_len)
{
	const uint8_t *nonce = buf + 1;
	const uint8_t *cipher = nonce + crypto_secretbox_NONCEBYTES;
	uint8_t inner[MESH_FRAME_PLAIN_MAX];
	size_t inner_len;

	if (!mesh_frame_is_mesh(buf, len))
		return -EBADMSG;
	inner_len = len - MESH_FRAME_OVERHEAD;
	if (plain_size < inner_len - 1)
		return -ENOBUFS;
	if (crypto_secretbox_open_easy(inner, cipher, inner_len + crypto_secretbox_MACBYTES, nonce,
				       k->announce_key) != 0)
		return -EBADMSG;
	*ret_type = inner[0];
	memcpy(plain, inner + 1, inner_len - 1);
	*ret_len = inner_len - 1;
	sodium_memzero(inner, inner_len);
	return 0;
}

/* ---- gossip lists ---------------------------------------------------------- */

/* A count byte, then each announcement as a 16-bit length and its bytes.
 * One frame holds at most eight of the smallest announcements, so a byte
 * of count is plenty. */
#define GOSSIP_MAX_COUNT 255

size_t mesh_gossip_encode(const uint8_t *const *anns, const size_t *lens, size_t n, uint8_t *buf, size_t size,
			  size_t *ret_len)
{
	size_t used = 1, taken = 0;

	*ret_len = 0;
	if (size < 1)
		return 0;
	while (taken < n && taken < GOSSIP_MAX_COUNT) {
		size_t l = lens[taken];

		if (l == 0 || l > MESH_ANNOUNCE_MAX || size - used < 2 + l)
			break;
		put_bytes(put_u16(buf + used, (uint16_t)l), anns[taken], l);
		used += 2 + l;
		taken++;
	}
	buf[0] = (uint8_t)taken;
	*ret_len = used;
	return taken;
}

/* Reads one entry at @r; false when it is malformed. */
static bool gossip_entry(struct wire_reader *r, const uint8_t **ret, size_t *ret_len)
{
	uint16_t l;

	if (!wire_read_u16(r, &l) || l == 0 || l > MESH_ANNOUNCE_MAX || !(*ret = wire_read_span(r, l)))
		return false;
	*ret_len = l;
	return true;
}

/* The whole list is checked before its first entry is given out, so a
 * caller never acts on part of a list it then has to drop. */
static bool gossip_valid(const uint8_t *buf, size_t len)
{
	struct wire_reader r = { buf, len };
	const uint8_t *ann;
	size_t ann_len;
	uint8_t count;

	if (!wire_read_u8(&r, &count))
		return false;
	for (size_t i = 0; i < count; i++)
		if (!gossip_entry(&r, &ann, &ann_len))
			return false;
	return r.left == 0;
}

int mesh_gossip_next(const uint8_t *buf, size_t len, size_t *off, const uint8_t **ret_ann, size_t *ret_ann_len)
{
	struct wire_reader r;

	if (*off == 0) {
		if (!gossip_valid(buf, len))
			return -EBADMSG;
		*off = 1;
	}
	if (*off >= len)
		return *off == len ? 0 : -EBADMSG;
	r = (struct wire_reader){ buf + *off, len - *off };
	if (!gossip_entry(&r, ret_ann, ret_ann_len))
		return -EBADMSG;
	*off = len - r.left;
	return 1;
}

/* ---- rotation -------------------------------------------------------------- */

/* The signature covers a context string first, so a rotation can never be
 * taken for any other message the same key signs (an announcement starts
 * with its version byte, never with 'w'). */
static void rotate_signed_message(const uint8_t *body, uint8_t *out)
{
	memcpy(out, ROTATE_CONTEXT, sizeof(ROTATE_CONTEXT));
	memcpy(out + sizeof(ROTATE_CONTEXT), body, ROTATE_SIGNED_LEN);
}

int mesh_rotate_sign(const struct mesh_hostkey *hk, const uint8_t new_secret[MESH_SECRET_LEN], uint64_t grace_end,
		     uint8_t out[MESH_ROTATE_LEN])
{
	uint8_t msg[sizeof(ROTATE_CONTEXT) + ROTATE_SIGNED_LEN];
	uint8_t *p = out;

	p = put_bytes(p, hk->sign_pk, 32);
	p = put_bytes(p, new_secret, MESH_SECRET_LEN);
	p = put_u64(p, grace_end);
	rotate_signed_message(out, msg);
	crypto_sign_detached(p, NULL, msg, sizeof(msg), hk->sign_sk);
	sodium_memzero(msg, sizeof(msg));
	return 0;
}

int mesh_rotate_verify(const uint8_t *buf, size_t len, uint8_t ret_sign_pk[32],
		       uint8_t ret_new_secret[MESH_SECRET_LEN], uint64_t *ret_grace_end)
{
	uint8_t msg[sizeof(ROTATE_CONTEXT) + ROTATE_SIGNED_LEN];
	int ok;

	if (len != MESH_ROTATE_LEN)
		return -EBADMSG;
	rotate_signed_message(buf, msg);
	ok = crypto_sign_verify_detached(buf + ROTATE_SIGNED_LEN, msg, sizeof(msg), buf) == 0;
	sodium_memzero(msg, sizeof(msg));
	if (!ok)
		return -EBADMSG;
	memcpy(ret_sign_pk, buf, 32);
	memcpy(ret_new_secret, buf + 32, MESH_SECRET_LEN);
	*ret_grace_end = get_u64(buf + 32 + MESH_SECRET_LEN);
	return 0;
}

bool mesh_announce_peek(const uint8_t *buf, size_t len, uint8_t ret_sign_pk[32], uint64_t *ret_timestamp)
{
	if (len < 1 + 32 + 8 || buf[0] != ANNOUNCE_VERSION)
		return false;
	memcpy(ret_sign_pk, buf + 1, 32);
	*ret_timestamp = get_u64(buf + 1 + 32);
	return true;
}
