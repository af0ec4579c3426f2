#include "datastore/trusted_certificates.hpp"

#include <doctest/doctest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace {

using podflow::datastore::builtin_certificate_bundle;
using podflow::datastore::trust_default_certificates;

int count_certificates(SSL_CTX* context) {
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(SSL_CTX_get_cert_store(context));
  int count = 0;
  for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
    if (X509_OBJECT_get_type(sk_X509_OBJECT_value(objects, i)) == X509_LU_X509) ++count;
  }
  return count;
}

struct Context {
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  ~Context() { SSL_CTX_free(context); }
};

// Sets an environment variable for one scope.
struct ScopedVariable {
  ScopedVariable(const char* name, const char* value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedVariable() {
    if (old_.empty()) {
      ::unsetenv(name_);
    } else {
      ::setenv(name_, old_.c_str(), 1);
    }
  }
  const char* name_;
  std::string old_;
};

}  // namespace

TEST_CASE("the CA bundle built into podflow holds the authorities of Debian's ca-certificates") {
  const std::string pem = builtin_certificate_bundle();
  std::size_t certificates = 0;
  for (std::size_t at = pem.find("-----BEGIN CERTIFICATE-----"); at != std::string::npos;
       at = pem.find("-----BEGIN CERTIFICATE-----", at + 1)) {
    ++certificates;
  }
  CHECK(certificates > 100);  // Debian 12's bundle has about 140
  BIO* input = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  std::size_t parsed = 0;
  while (X509* certificate = PEM_read_bio_X509(input, nullptr, nullptr, nullptr)) {
    ++parsed;
    X509_free(certificate);
  }
  BIO_free(input);
  CHECK(parsed == certificates);
}

TEST_CASE("SSL_CERT_FILE names the trusted authorities, and a bad one is an error naming it") {
  ScopedVariable file("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt");
  Context tls;
  CHECK(trust_default_certificates(tls.context) ==
        "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt");
  CHECK(count_certificates(tls.context) > 100);

  ScopedVariable missing("SSL_CERT_FILE", "/nonexistent/bundle.pem");
  Context other;
  try {
    trust_default_certificates(other.context);
    FAIL("no error for a missing SSL_CERT_FILE");
  } catch (const std::runtime_error& error) {
    CHECK(std::string(error.what())
              .starts_with("cannot load the CA certificates of SSL_CERT_FILE=/nonexistent/"));
  }
}
