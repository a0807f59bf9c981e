#pragma once
// Internal: a throwaway loopback PKI for the simulator's TLS mode. A CA (EC P-256) valid for a
// week and a server certificate for 127.0.0.1 / localhost signed by it. Generated in memory at
// start; only the CA certificate (public) is written to disk so a client can trust it.

#include <string>

#include "till/base/result.hpp"

namespace till::stripesim {

struct LoopbackPki {
  std::string ca_cert_pem;
  std::string server_cert_pem;  // leaf then CA
  std::string server_key_pem;
};

// Fails with Internal when OpenSSL does. Any thread.
Result<LoopbackPki> make_loopback_pki();

}  // namespace till::stripesim
