/* Signaling messages: the plaintext that travels inside an envelope.
 *
 * A message is a small header (session id, session time, counter) followed
 * by typed items: an ICE offer, trickled candidates, end-of-candidates and
 * goodbye.  The model is a fixed-size struct with no pointers, so decoding
 * allocates nothing and a peer cannot make us allocate.  The codec is pure
 * C over (buf, len); docs/PROTOCOL.md describes the bytes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The plaintext cap: the envelope cap (1200) minus the envelope overhead
 * (137).  See docs/PROTOCOL.md for why 1200. */
#define SIG_MSG_MAX 1063
#define SIG_MSG_HEADER_LEN 21
#define SIG_MSG_MAX_ITEMS 32
#define SIG_MSG_MAX_CANDIDATES 16

/* RFC 8445 allows ufrag 4..256 and pwd 22..256 characters; libnice makes
 * 4 and 22, pion 16 and 32.  Tighter upper caps keep an offer plus a few
 * candidates inside one message. */
#define SIG_UFRAG_MIN 4
#define SIG_UFRAG_MAX 64
#define SIG_PWD_MIN 22
#define SIG_PWD_MAX 128
#define SIG_FOUNDATION_MAX 32 /* RFC 8445: 1*32 ice-char */

/* Item types on the wire.  0x00-0x7f are optional (receivers skip types
 * they do not know), 0x80-0xff critical (receivers drop the message). */
enum sig_item_type {
	SIG_ITEM_PADDING = 0x00,
	SIG_ITEM_OFFER = 0x01,
	SIG_ITEM_CANDIDATE = 0x02,
	SIG_ITEM_END_OF_CANDIDATES = 0x03,
	SIG_ITEM_GOODBYE = 0x04,
	SIG_ITEM_ANSWERS = 0x05,
};
#define SIG_ITEM_CRITICAL 0x80

/* Same order as libnice's NiceCandidateTransport and NiceCandidateType, so
 * the glue is a range check. */
enum sig_transport {
	SIG_TRANSPORT_UDP = 0,
	SIG_TRANSPORT_TCP_ACTIVE = 1,
	SIG_TRANSPORT_TCP_PASSIVE = 2,
	SIG_TRANSPORT_TCP_SO = 3,
};

enum sig_candidate_type {
	SIG_CANDIDATE_HOST = 0,
	SIG_CANDIDATE_SRFLX = 1,
	SIG_CANDIDATE_PRFLX = 2,
	SIG_CANDIDATE_RELAY = 3,
};

#define SIG_OFFER_PLEASE_ANSWER 0x01

/* family is AF_INET, AF_INET6, or AF_UNSPEC for "no address" (only allowed
 * for a candidate's related address).  addr holds 4 or 16 bytes in network
 * order; port is in host order. */
struct sig_addr {
	int family;
	uint8_t addr[16];
	uint16_t port;
};

struct sig_candidate {
	char foundation[SIG_FOUNDATION_MAX + 1];
	uint8_t component;   /* 1..255 */
	uint8_t transport;   /* enum sig_transport */
	uint8_t type;        /* enum sig_candidate_type */
	uint32_t priority;   /* 1..2^31-1 */
	struct sig_addr addr;
	struct sig_addr related;
};

struct sig_offer {
	char ufrag[SIG_UFRAG_MAX + 1];
	char pwd[SIG_PWD_MAX + 1];
	bool please_answer;
};

struct sig_msg {
	uint64_t session_id;   /* random, nonzero; new for every ICE restart */
	uint64_t session_time; /* ms since the epoch when the session began, nonzero */
	uint32_t counter;      /* per session, +1 for every message sent */
	bool has_offer;
	struct sig_offer offer;
	size_t n_candidates;
	struct sig_candidate candidates[SIG_MSG_MAX_CANDIDATES];
	bool end_of_candidates;
	bool goodbye;
	/* The recipient's session the sender has bound to (0: none yet): a
	 * message that answers an older session of the recipient was sent
	 * before the sender saw the recipient restart. */
	uint64_t answers;
};

/* The sending side of a session: what goes into every message header. */
struct sig_session {
	uint64_t id;
	uint64_t time;
	uint32_t next_counter;
};

/* Starts a new session: a fresh random id, and a time that is @now_ms but
 * always later than the session it replaces (@s may hold the previous one
 * or be zeroed), because receivers only move to a session with a later
 * time. */
void sig_session_start(struct sig_session *s, uint64_t now_ms);
/* Stamps @msg with the session and takes the next counter.  Returns 0, or
 * -EOVERFLOW when the counter is spent and the caller must start a new
 * session. */
int sig_session_stamp(struct sig_session *s, struct sig_msg *msg);

/* Resets @msg to an empty message. */
void sig_msg_init(struct sig_msg *msg);
/* Wipes the message: an offer holds the ICE password. */
void sig_msg_wipe(struct sig_msg *msg);
/* Appends a candidate.  Returns 0 or -E2BIG when the message is full. */
int sig_msg_add_candidate(struct sig_msg *msg, const struct sig_candidate *c);

/* Bytes sig_msg_encode() would write, or 0 if @msg is invalid.  Lets a
 * sender check whether one more candidate still fits. */
size_t sig_msg_encoded_len(const struct sig_msg *msg);
/* Encodes @msg into @buf.  Returns 0 and sets *ret_len, -EINVAL for a
 * message that breaks a rule of the protocol (a bad string, count or
 * value), -EMSGSIZE when it would exceed SIG_MSG_MAX, -ENOBUFS when @size
 * is too small. */
int sig_msg_encode(const struct sig_msg *msg, uint8_t *buf, size_t size, size_t *ret_len);
/* Decodes a message.  Returns 0, -EMSGSIZE when @len exceeds SIG_MSG_MAX,
 * -EBADMSG for malformed or truncated input or a broken rule, -E2BIG when
 * over a count cap, -EPROTONOSUPPORT for an unknown critical item.  Unknown
 * optional items and candidates of unknown transport, type or address
 * family are skipped.  *ret_msg is untouched on failure. */
int sig_msg_decode(const uint8_t *buf, size_t len, struct sig_msg *ret_msg);
