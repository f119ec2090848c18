#ifndef FREE_AGENT_COPENSSL_SHIM_H
#define FREE_AGENT_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * One-shot AES-256-GCM over EVP for the CertVault.
 *
 * Written in C rather than as a sequence of EVP calls from Swift because the GCM control
 * constants are macros that alias other macros (Swift does not import those reliably), and
 * because a single function keeps every pointer's lifetime inside one C stack frame.
 *
 * Lengths arrive as size_t and are checked against INT_MAX here: EVP takes int lengths, and a
 * silent truncation would encrypt less than the caller asked for.
 */

#define FA_GCM_TAG_LEN 16

/* 1 on success, 0 on any failure (the OpenSSL error queue says why). */
static inline int fa_aes256gcm_seal(const uint8_t *key, const uint8_t *nonce, size_t nonce_len,
                                    const uint8_t *aad, size_t aad_len,
                                    const uint8_t *plaintext, size_t plaintext_len,
                                    uint8_t *ciphertext, uint8_t *tag) {
    if (nonce_len == 0 || nonce_len > INT_MAX || aad_len > INT_MAX || plaintext_len > INT_MAX) return 0;
    /* An empty Swift array may hand over a NULL base address; EVP wants somewhere to write. */
    uint8_t empty_output = 0;
    if (ciphertext == NULL) ciphertext = &empty_output;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) return 0;
    int ok = 0;
    int written = 0;
    int final_written = 0;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1) goto done;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)nonce_len, NULL) != 1) goto done;
    if (EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) != 1) goto done;
    if (aad_len > 0 && EVP_EncryptUpdate(ctx, NULL, &written, aad, (int)aad_len) != 1) goto done;
    written = 0;
    if (plaintext_len > 0 && EVP_EncryptUpdate(ctx, ciphertext, &written, plaintext, (int)plaintext_len) != 1) goto done;
    if (EVP_EncryptFinal_ex(ctx, ciphertext + written, &final_written) != 1) goto done;
    if ((size_t)written + (size_t)final_written != plaintext_len) goto done;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, FA_GCM_TAG_LEN, tag) != 1) goto done;
    ok = 1;
done:
    /* EVP_CIPHER_CTX_free cleanses the expanded key schedule before freeing it. */
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

/*
 * 1 when the tag verifies (plaintext written), 0 when authentication fails, -1 on any other
 * failure. On anything but 1 the caller must wipe `plaintext`: GCM decrypts before it can
 * verify, so unauthenticated bytes have been written there.
 */
static inline int fa_aes256gcm_open(const uint8_t *key, const uint8_t *nonce, size_t nonce_len,
                                    const uint8_t *aad, size_t aad_len,
                                    const uint8_t *ciphertext, size_t ciphertext_len,
                                    const uint8_t *tag, uint8_t *plaintext) {
    if (nonce_len == 0 || nonce_len > INT_MAX || aad_len > INT_MAX || ciphertext_len > INT_MAX) return -1;
    uint8_t empty_output = 0;
    if (plaintext == NULL) plaintext = &empty_output;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) return -1;
    int result = -1;
    int written = 0;
    int final_written = 0;
    uint8_t expected_tag[FA_GCM_TAG_LEN];
    memcpy(expected_tag, tag, FA_GCM_TAG_LEN);
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1) goto done;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)nonce_len, NULL) != 1) goto done;
    if (EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) != 1) goto done;
    if (aad_len > 0 && EVP_DecryptUpdate(ctx, NULL, &written, aad, (int)aad_len) != 1) goto done;
    written = 0;
    if (ciphertext_len > 0 && EVP_DecryptUpdate(ctx, plaintext, &written, ciphertext, (int)ciphertext_len) != 1) goto done;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, FA_GCM_TAG_LEN, expected_tag) != 1) goto done;
    /* The tag comparison inside EVP_DecryptFinal_ex is constant-time (CRYPTO_memcmp). */
    if (EVP_DecryptFinal_ex(ctx, plaintext + written, &final_written) != 1) {
        result = 0;
        goto done;
    }
    result = ((size_t)written + (size_t)final_written == ciphertext_len) ? 1 : -1;
done:
    EVP_CIPHER_CTX_free(ctx);
    return result;
}

/* OPENSSL_cleanse is a function, but taking it through a wrapper keeps the Swift side free of
 * the `void *` / `size_t` bridging at every call site. */
static inline void fa_cleanse(void *pointer, size_t length) {
    if (pointer != NULL && length > 0) OPENSSL_cleanse(pointer, length);
}

#endif
