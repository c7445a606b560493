#ifndef VIGIL_COPENSSL_SHIM_H
#define VIGIL_COPENSSL_SHIM_H
// libcrypto (OpenSSL 3): PBKDF2-HMAC-SHA256 for console PIN hashes, RAND_bytes for their salts,
// CRYPTO_memcmp for comparing digests in constant time.
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#endif
