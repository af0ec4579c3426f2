#include "datastore/trusted_certificates.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace podflow::datastore {
namespace {

bool is_file(const char* path) {
  struct stat status {};
  return ::stat(path, &status) == 0 && S_ISREG(status.st_mode);
}

bool is_directory(const char* path) {
  struct stat status {};
  return ::stat(path, &status) == 0 && S_ISDIR(status.st_mode);
}

std::string openssl_error_text() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// Adds every certificate of the built-in bundle to the context's store; returns how many.
int load_builtin(SSL_CTX* context) {
  const char* pem = builtin_certificate_bundle();
  std::unique_ptr<BIO, decltype(&BIO_free)> input(
      BIO_new_mem_buf(pem, static_cast<int>(std::strlen(pem))), BIO_free);
  if (!input) throw std::runtime_error("TLS: " + openssl_error_text());
  X509_STORE* store = SSL_CTX_get_cert_store(context);
  int loaded = 0;
  while (X509* certificate = PEM_read_bio_X509(input.get(), nullptr, nullptr, nullptr)) {
    if (X509_STORE_add_cert(store, certificate) == 1) ++loaded;
    X509_free(certificate);
  }
  ERR_clear_error();  // the end of the bundle reads as a "no start line" error
  return loaded;
}

}  // namespace

std::string trust_default_certificates(SSL_CTX* context) {
  const char* file = std::getenv("SSL_CERT_FILE");
  const char* directory = std::getenv("SSL_CERT_DIR");
  if ((file && *file) || (directory && *directory)) {
    if (SSL_CTX_load_verify_locations(context, file && *file ? file : nullptr,
                                      directory && *directory ? directory : nullptr) != 1) {
      throw std::runtime_error(std::string("cannot load the CA certificates of ") +
                               (file && *file ? "SSL_CERT_FILE=" + std::string(file)
                                              : "SSL_CERT_DIR=" + std::string(directory)) +
                               ": " + openssl_error_text());
    }
    return file && *file ? "SSL_CERT_FILE=" + std::string(file)
                         : "SSL_CERT_DIR=" + std::string(directory);
  }
  // OpenSSL's own layout (Debian's /usr/lib/ssl/certs, a hashed directory read lazily, so
  // nothing is parsed up front).
  if (is_directory(X509_get_default_cert_dir()) || is_file(X509_get_default_cert_file())) {
    if (SSL_CTX_set_default_verify_paths(context) == 1) {
      return is_directory(X509_get_default_cert_dir()) ? X509_get_default_cert_dir()
                                                       : X509_get_default_cert_file();
    }
    ERR_clear_error();
  }
  // The same list Go's crypto/x509 searches, the common places of a system bundle.
  static constexpr const char* kBundles[] = {
      "/etc/ssl/certs/ca-certificates.crt",                 // Debian, Ubuntu, Alpine, Arch
      "/etc/pki/tls/certs/ca-bundle.crt",                   // Fedora, RHEL
      "/etc/ssl/ca-bundle.pem",                             // openSUSE
      "/etc/pki/tls/cacert.pem",                            // OpenELEC
      "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  // CentOS, RHEL 7
      "/etc/ssl/cert.pem",                                  // Alpine, macOS-like layouts
  };
  for (const char* bundle : kBundles) {
    if (!is_file(bundle)) continue;
    if (SSL_CTX_load_verify_locations(context, bundle, nullptr) == 1) return bundle;
    ERR_clear_error();  // unreadable or empty: try the next one
  }
  if (load_builtin(context) == 0) {
    throw std::runtime_error("TLS: the CA bundle built into podflow holds no certificate");
  }
  return "the bundle built into podflow (Debian's ca-certificates)";
}

}  // namespace podflow::datastore
