// A private PostgreSQL cluster for tests: `initdb` into a fresh temporary directory, then the
// server on a unix socket in that directory only (no TCP port, nothing shared with a system
// service). Started as the current user, or, when that is root (which initdb refuses), as the
// unprivileged `postgres` user of Debian's package (else `nobody`). The server dies with the
// process that started it (PR_SET_PDEATHSIG), so a crashed test leaves none behind.
//
// Needs Debian's postgresql package (scripts/install-deps.sh); Start() fails with a message
// that says so when it is missing. Thread-safe.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "common/result.h"

namespace scytale::storage::testing {

class PgCluster {
 public:
  static Result<std::unique_ptr<PgCluster>> Start();
  // The process's cluster, started on first use and stopped at exit. Aborts the process with a
  // clear message when it cannot start (tests must not skip silently).
  static PgCluster& Shared();

  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // Creates database `name` (letters, digits, '_') if it does not exist; returns its URL.
  Result<std::string> Database(const std::string& name);
  // The libpq URL of database `name` (which may not exist).
  std::string Url(const std::string& name) const;

  // Stops the server (fast shutdown: connections are cut) and starts it again on the same data
  // and socket, for tests of reconnection.
  Status Stop();
  Status Restart();

 private:
  PgCluster() = default;
  Status StartServer();

  std::filesystem::path dir_;  // holds data/, the socket and server.log
  std::filesystem::path bin_;  // e.g. /usr/lib/postgresql/15/bin
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  bool switch_user_ = false;
  pid_t server_ = -1;
  std::mutex mu_;
  std::set<std::string> databases_;
};

}  // namespace scytale::storage::testing
