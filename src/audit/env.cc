// The POSIX Env: plain file descriptors, fdatasync, and directory fsyncs so that a new file's
// name is as durable as its contents.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "audit/audit.h"

namespace scytale::audit {
namespace {

Error IoError(const std::string& what, const std::filesystem::path& path) {
  return MakeError(ErrorCode::kInternal,
                   what + " " + path.string() + ": " + std::strerror(errno));
}

Status SyncDirOf(const std::filesystem::path& path) {
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) {
    dir = ".";
  }
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return IoError("cannot open directory", dir);
  }
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) {
    return IoError("cannot sync directory", dir);
  }
  return Ok();
}

class PosixFile : public WritableFile {
 public:
  PosixFile(int fd, std::filesystem::path path, uint64_t size)
      : fd_(fd), path_(std::move(path)), size_(size) {}
  ~PosixFile() override { ::close(fd_); }

  Status Append(std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return IoError("cannot write", path_);
      }
      size_ += static_cast<uint64_t>(n);
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Ok();
  }

  Status Sync() override {
    if (::fdatasync(fd_) != 0) {
      return IoError("cannot sync", path_);
    }
    return Ok();
  }

  Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return IoError("cannot truncate", path_);
    }
    size_ = size;
    return Sync();
  }

  uint64_t Size() const override { return size_; }

 private:
  int fd_;
  std::filesystem::path path_;
  uint64_t size_;
};

class Posix : public Env {
 public:
  Result<std::unique_ptr<WritableFile>> OpenForAppend(const std::filesystem::path& path) override {
    bool existed = ::access(path.c_str(), F_OK) == 0;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
      return IoError("cannot open", path);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      return IoError("cannot stat", path);
    }
    auto file = std::make_unique<PosixFile>(fd, path, static_cast<uint64_t>(st.st_size));
    if (!existed) {
      SCY_RETURN_IF_ERROR(SyncDirOf(path));
    }
    return std::unique_ptr<WritableFile>(std::move(file));
  }

  Status WriteFileDurably(const std::filesystem::path& path, std::string_view contents) override {
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
      return IoError("cannot create", tmp);
    }
    PosixFile file(fd, tmp, 0);
    SCY_RETURN_IF_ERROR(file.Append(contents));
    if (::fsync(fd) != 0) {
      return IoError("cannot sync", tmp);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      return IoError("cannot rename to", path);
    }
    return SyncDirOf(path);
  }

  Result<std::string> ReadFile(const std::filesystem::path& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) {
        return MakeError(ErrorCode::kNotFound, path.string() + " does not exist");
      }
      return IoError("cannot open", path);
    }
    std::string out;
    char buf[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        ::close(fd);
        return IoError("cannot read", path);
      }
      if (n == 0) {
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
  }

  Result<std::vector<std::string>> ListDir(const std::filesystem::path& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
      if (errno == ENOENT) {
        return MakeError(ErrorCode::kNotFound, dir.string() + " does not exist");
      }
      return IoError("cannot list", dir);
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") {
        continue;
      }
      struct stat st {};
      if (::stat((dir / name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        names.push_back(std::move(name));
      }
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }

  Status CreateDir(const std::filesystem::path& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return MakeError(ErrorCode::kInternal,
                       "cannot create " + dir.string() + ": " + ec.message());
    }
    ::chmod(dir.c_str(), 0700);
    return Ok();
  }

  Status TruncateFile(const std::filesystem::path& path, uint64_t size) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      return IoError("cannot open", path);
    }
    PosixFile file(fd, path, size);
    return file.Truncate(size);
  }
};

}  // namespace

std::shared_ptr<Env> PosixEnv() {
  static std::shared_ptr<Env> env = std::make_shared<Posix>();
  return env;
}

}  // namespace scytale::audit
