// Which certificate authorities podflow trusts for HTTPS (S3, STS, container credentials): the
// ones of the machine or image it runs in, found where OpenSSL or the common distributions keep
// them, else the bundle built into the binary. podflow-runtime runs in images that may have no
// CA bundle at all (busybox, distroless/static), and it must still reach S3 there.
#pragma once

#include <string>

#include <openssl/ssl.h>

namespace podflow::datastore {

// Where the trusted authorities came from, for messages: "SSL_CERT_FILE=/x",
// "/etc/pki/tls/certs/ca-bundle.crt", "the bundle built into podflow (Debian's ca-certificates)".
// In order: SSL_CERT_FILE and SSL_CERT_DIR when set; else OpenSSL's own directory or file when
// it exists (Debian's /usr/lib/ssl/certs); else the first bundle that exists of the
// distributions' usual paths (Debian, Alpine, Fedora/RHEL, openSUSE); else the built-in one.
// Throws std::runtime_error when the chosen source cannot be loaded.
std::string trust_default_certificates(SSL_CTX* context);

// The PEM bundle built into the binary (Debian's ca-certificates at build time).
const char* builtin_certificate_bundle();

}  // namespace podflow::datastore
