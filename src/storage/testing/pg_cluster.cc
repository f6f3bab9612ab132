#include "storage/testing/pg_cluster.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

namespace scytale::storage::testing {
namespace {

constexpr const char* kSuperuser = "scytale";
constexpr int kPort = 5432;  // names the socket file only: the server listens on no TCP port

// The newest /usr/lib/postgresql/<version>/bin that has initdb (Debian installs servers
// there, off PATH), or $SCYTALE_PG_BINDIR.
Result<std::filesystem::path> FindBinDir() {
  if (const char* env = std::getenv("SCYTALE_PG_BINDIR"); env != nullptr && *env != '\0') {
    return std::filesystem::path(env);
  }
  std::filesystem::path best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    int version = std::atoi(entry.path().filename().c_str());
    if (version > best_version && std::filesystem::exists(entry.path() / "bin" / "initdb")) {
      best_version = version;
      best = entry.path() / "bin";
    }
  }
  if (best_version < 0) {
    return MakeError(ErrorCode::kInternal,
                     "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: "
                     "install Debian's postgresql package (scripts/install-deps.sh)");
  }
  return best;
}

std::string Tail(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

// fork + exec of `argv`, as uid/gid when `switch_user`, output to `log`. With `die_with_parent`
// the child gets SIGQUIT (PostgreSQL's immediate shutdown) when this thread's process exits.
Result<pid_t> Spawn(const std::vector<std::string>& argv, const std::filesystem::path& log,
                    bool switch_user, uid_t uid, gid_t gid, bool die_with_parent) {
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return MakeError(ErrorCode::kInternal, "cannot open " + log.string());
  }
  if (switch_user && ::fchown(fd, uid, gid) != 0) {
    ::close(fd);
    return MakeError(ErrorCode::kInternal, "cannot chown " + log.string());
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    return MakeError(ErrorCode::kInternal, "fork failed");
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec.
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, STDIN_FILENO);
    if (switch_user) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) {
        ::_exit(126);
      }
    }
    // After setuid, which clears the parent-death signal.
    if (die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGQUIT);
      if (::getppid() != parent) {
        ::_exit(1);
      }
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fd);
  return pid;
}

Status RunToCompletion(const std::vector<std::string>& argv, const std::filesystem::path& log,
                       bool switch_user, uid_t uid, gid_t gid) {
  SCY_ASSIGN_OR_RETURN(pid_t pid, Spawn(argv, log, switch_user, uid, gid, true));
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return MakeError(ErrorCode::kInternal, argv[0] + " failed: " + Tail(log));
  }
  return Ok();
}

}  // namespace

Result<std::unique_ptr<PgCluster>> PgCluster::Start() {
  std::unique_ptr<PgCluster> c(new PgCluster());
  SCY_ASSIGN_OR_RETURN(c->bin_, FindBinDir());
  std::string templ = (std::filesystem::temp_directory_path() / "scytale-pg-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) {
    return MakeError(ErrorCode::kInternal, "cannot create a temporary directory");
  }
  c->dir_ = templ;
  if (::geteuid() == 0) {
    // initdb and postgres refuse to run as root.
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      pw = ::getpwnam("nobody");
    }
    if (pw == nullptr) {
      return MakeError(ErrorCode::kInternal, "running as root and no postgres or nobody user");
    }
    c->switch_user_ = true;
    c->uid_ = pw->pw_uid;
    c->gid_ = pw->pw_gid;
    if (::chown(c->dir_.c_str(), c->uid_, c->gid_) != 0) {
      return MakeError(ErrorCode::kInternal, "cannot chown " + c->dir_.string());
    }
  }
  // No fsync: the cluster dies with the test; durability is not under test here.
  SCY_RETURN_IF_ERROR(RunToCompletion(
      {(c->bin_ / "initdb").string(), "-D", (c->dir_ / "data").string(), "-U", kSuperuser,
       "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"},
      c->dir_ / "initdb.log", c->switch_user_, c->uid_, c->gid_));
  SCY_RETURN_IF_ERROR(c->StartServer());
  return c;
}

Status PgCluster::StartServer() {
  SCY_ASSIGN_OR_RETURN(
      server_,
      Spawn({(bin_ / "postgres").string(), "-D", (dir_ / "data").string(), "-k", dir_.string(),
             "-p", std::to_string(kPort), "-c", "listen_addresses=", "-c", "fsync=off", "-c",
             "synchronous_commit=off", "-c", "full_page_writes=off", "-c",
             "max_connections=300", "-c", "shared_buffers=32MB"},
            dir_ / "server.log", switch_user_, uid_, gid_, true));
  std::string url = Url("postgres");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (PQping(url.c_str()) != PQPING_OK) {
    int status = 0;
    if (::waitpid(server_, &status, WNOHANG) == server_) {
      server_ = -1;
      return MakeError(ErrorCode::kInternal,
                       "postgres exited at start: " + Tail(dir_ / "server.log"));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return MakeError(ErrorCode::kInternal,
                       "postgres did not accept connections in 60 s: " + Tail(dir_ / "server.log"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Ok();
}

PgCluster& PgCluster::Shared() {
  static std::unique_ptr<PgCluster> shared = [] {
    auto started = Start();
    if (!started) {
      std::cerr << "FATAL: cannot start the test PostgreSQL cluster: " << started.error().message
                << std::endl;
      std::abort();
    }
    return std::move(*started);
  }();
  return *shared;
}

PgCluster::~PgCluster() {
  if (server_ > 0) {
    ::kill(server_, SIGQUIT);
    ::waitpid(server_, nullptr, 0);
  }
  if (!dir_.empty() && std::getenv("SCYTALE_PG_KEEP") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string PgCluster::Url(const std::string& name) const {
  return "postgresql:///" + name + "?host=" + dir_.string() + "&port=" + std::to_string(kPort) +
         "&user=" + kSuperuser;
}

Result<std::string> PgCluster::Database(const std::string& name) {
  static const std::regex kName("[A-Za-z0-9_]{1,63}");
  if (!std::regex_match(name, kName)) {
    return MakeError(ErrorCode::kValidation, "bad test database name " + name);
  }
  std::lock_guard lock(mu_);
  if (!databases_.contains(name)) {
    PGconn* conn = PQconnectdb(Url("postgres").c_str());
    std::string error;
    if (PQstatus(conn) != CONNECTION_OK) {
      error = PQerrorMessage(conn);
    } else {
      PGresult* res = PQexec(conn, ("CREATE DATABASE \"" + name + "\"").c_str());
      if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        error = PQresultErrorMessage(res);
      }
      PQclear(res);
    }
    PQfinish(conn);
    if (!error.empty()) {
      return MakeError(ErrorCode::kInternal, "CREATE DATABASE " + name + ": " + error);
    }
    databases_.insert(name);
  }
  return Url(name);
}

Status PgCluster::Stop() {
  std::lock_guard lock(mu_);
  if (server_ > 0) {
    ::kill(server_, SIGINT);  // fast shutdown
    ::waitpid(server_, nullptr, 0);
    server_ = -1;
  }
  return Ok();
}

Status PgCluster::Restart() {
  SCY_RETURN_IF_ERROR(Stop());
  std::lock_guard lock(mu_);
  return StartServer();
}

}  // namespace scytale::storage::testing
