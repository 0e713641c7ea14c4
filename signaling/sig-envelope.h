/* The signaling envelope: end-to-end encryption and authentication with the
 * WireGuard keys, and replay protection.
 *
 * A relay (the signal server, or every host on a LAN multicast group) sees
 * only the recipient's mailbox id, a fresh ephemeral key and ciphertext: not
 * the recipient's public key, not who sent it, not the content.  The outer
 * layer is a sealed box to the recipient that hides the sender; the inner
 * layer is a box under the static pair key (crypto_box_beforenm of the two
 * WireGuard keys) that proves the sender.  docs/PROTOCOL.md has the bytes
 * and the reasons.  Plain C + libsodium, pure over (buf, len). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sig-msg.h"

#define SIG_KEY_LEN 32
#define SIG_MAILBOX_LEN 16
#define SIG_NONCE_LEN 24
#define SIG_ENVELOPE_VERSION 1
/* Fits a UDP datagram on any IPv6 path without fragmentation (1280 - 40 -
 * 8 = 1232), which the LAN multicast backend needs. */
#define SIG_ENVELOPE_MAX 1200
/* version 1 + mailbox 16 + ephemeral key 32 + MAC 16 + sender key 32 +
 * nonce 24 + MAC 16 */
#define SIG_ENVELOPE_OVERHEAD 137
#define SIG_PLAIN_MAX (SIG_ENVELOPE_MAX - SIG_ENVELOPE_OVERHEAD)

/* Our side: the WireGuard private key of the interface. */
struct sig_identity {
	uint8_t private_key[SIG_KEY_LEN];
	uint8_t public_key[SIG_KEY_LEN];
	uint8_t mailbox[SIG_MAILBOX_LEN];
};

/* What we accepted last from one peer.  Zeroed means nothing yet. */
struct sig_replay {
	uint64_t session_id;
	uint64_t session_time;
	uint32_t highest; /* highest counter accepted in this session */
	uint64_t seen;    /* bit i: counter highest - i was accepted */
};
#define SIG_REPLAY_WINDOW 64

/* One configured peer: its keys for both directions and its replay state.
 * The keys are derived from crypto_box_beforenm(peer, own) once. */
struct sig_pair {
	uint8_t peer_public[SIG_KEY_LEN];
	uint8_t peer_mailbox[SIG_MAILBOX_LEN];
	uint8_t send_key[SIG_KEY_LEN];
	uint8_t receive_key[SIG_KEY_LEN];
	struct sig_replay replay;
};

/* Finds the pair for a sender's public key, or returns NULL when the
 * sender is not a configured peer. */
typedef struct sig_pair *sig_pair_lookup_fn(void *userdata, const uint8_t peer_public[SIG_KEY_LEN]);


/* Returns 0, or -EINVAL if the key is unusable. */
int sig_identity_init(struct sig_identity *ret_id, const uint8_t private_key[SIG_KEY_LEN]);
void sig_identity_wipe(struct sig_identity *id);

/* Returns 0, or -EINVAL for a peer key of small order (no shared secret).
 * The replay state starts empty. */
int sig_pair_init(struct sig_pair *ret_pair, const struct sig_identity *self,
		  const uint8_t peer_public[SIG_KEY_LEN]);
void sig_pair_wipe(struct sig_pair *pair);

/* Seals @plain (at most SIG_PLAIN_MAX bytes) from @self to @pair's peer.
 * Returns 0 and sets *ret_len (plain_len + SIG_ENVELOPE_OVERHEAD),
 * -EMSGSIZE when @plain is too long, -ENOBUFS when @size is too small. */
int sig_envelope_seal(const struct sig_identity *self, const struct sig_pair *pair,
		      const uint8_t *plain, size_t plain_len,
		      uint8_t *buf, size_t size, size_t *ret_len);

/* Opens an envelope addressed to @self.  @plain must hold len -
 * SIG_ENVELOPE_OVERHEAD bytes (SIG_PLAIN_MAX always does).  Returns 0 and
 * sets *ret_plain_len and *ret_pair (the sender), or: -EMSGSIZE over the
 * cap, -EBADMSG when short or when authentication fails (tampered, forged,
 * wrong key), -EPROTONOSUPPORT for another envelope version, -ENXIO when
 * addressed to another mailbox, -ENOKEY when the sender is not a
 * configured peer, -ENOBUFS when @plain is too small.  @plain and the
 * ret_ parameters are untouched on failure.  No replay check here. */
int sig_envelope_open(const struct sig_identity *self, sig_pair_lookup_fn *lookup, void *userdata,
		      const uint8_t *buf, size_t len,
		      uint8_t *plain, size_t plain_size, size_t *ret_plain_len,
		      struct sig_pair **ret_pair);

/* Reads the recipient mailbox without opening: what a relay routes by.
 * Returns 0, -EMSGSIZE, -EBADMSG or -EPROTONOSUPPORT. */
int sig_envelope_peek_mailbox(const uint8_t *buf, size_t len,
			      uint8_t ret_mailbox[SIG_MAILBOX_LEN]);

/* Encodes and seals a message; errors as sig_msg_encode() and
 * sig_envelope_seal(). */
int sig_envelope_seal_msg(const struct sig_identity *self, const struct sig_pair *pair,
			  const struct sig_msg *msg, uint8_t *buf, size_t size, size_t *ret_len);

/* Opens, decodes and replay-checks a message, and records it in the
 * sender's replay state.  Returns 0 for a message of the sender's current
 * session, 1 when it starts a newer session (the peer restarted ICE), or
 * an error of sig_envelope_open(), sig_msg_decode() or sig_replay_check().
 * The caller wipes *ret_msg (it may hold an ICE password). */
int sig_envelope_open_msg(const struct sig_identity *self, sig_pair_lookup_fn *lookup,
			  void *userdata, const uint8_t *buf, size_t len,
			  struct sig_msg *ret_msg, struct sig_pair **ret_pair);

/* Replay rules (docs/PROTOCOL.md, "Replay"): returns 0 for a counter not
 * seen yet in the current session, 1 for a session with a later time than
 * the current one (or the first session), -EALREADY for a counter already
 * accepted, -ESTALE for a counter that fell out of the window or an older
 * or conflicting session.  sig_replay_accept() also records the message
 * when it returns >= 0. */
int sig_replay_check(const struct sig_replay *r, uint64_t session_id, uint64_t session_time,
		     uint32_t counter);
int sig_replay_accept(struct sig_replay *r, uint64_t session_id, uint64_t session_time,
		      uint32_t counter);

/* For tests and test vectors only: seals with the given ephemeral private
 * key and inner nonce instead of fresh random ones.  Reusing either for two
 * messages breaks the encryption. */
int sig_envelope_seal_fixed(const struct sig_identity *self, const struct sig_pair *pair,
			    const uint8_t *plain, size_t plain_len,
			    const uint8_t ephemeral_private[SIG_KEY_LEN],
			    const uint8_t nonce[SIG_NONCE_LEN],
			    uint8_t *buf, size_t size, size_t *ret_len);
