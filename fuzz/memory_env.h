// An audit::Env kept in memory, for the fuzz targets: no disk, no fsync, nothing left behind,
// and a fresh directory costs a map erase. A path names a file; the directory of a file is its
// parent path. Thread-safe (one lock).
#pragma once

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit.h"

namespace scytale::fuzz {

class MemoryEnv : public audit::Env {
 public:
  // keep_appends false: bytes appended through OpenForAppend are counted but not kept, for a log
  // written only for its side effects (a long fuzzing run would otherwise hold all of it).
  explicit MemoryEnv(bool keep_appends = true) : keep_appends_(keep_appends) {}

  Result<std::unique_ptr<audit::WritableFile>> OpenForAppend(
      const std::filesystem::path& path) override {
    std::lock_guard lock(mu_);
    std::string& contents = files_[Key(path)];
    return std::unique_ptr<audit::WritableFile>(
        std::make_unique<File>(this, Key(path), contents.size()));
  }
  Status WriteFileDurably(const std::filesystem::path& path, std::string_view contents) override {
    Put(path, contents);
    return Ok();
  }
  Result<std::string> ReadFile(const std::filesystem::path& path) override {
    std::lock_guard lock(mu_);
    auto it = files_.find(Key(path));
    if (it == files_.end()) {
      return MakeError(ErrorCode::kNotFound, "no such file: " + path.string());
    }
    return it->second;
  }
  Result<std::vector<std::string>> ListDir(const std::filesystem::path& dir) override {
    std::lock_guard lock(mu_);
    std::vector<std::string> names;
    const std::filesystem::path parent = dir.lexically_normal();
    for (const auto& [key, contents] : files_) {
      std::filesystem::path p(key);
      if (p.parent_path() == parent) {
        names.push_back(p.filename().string());
      }
    }
    std::sort(names.begin(), names.end());
    return names;
  }
  Status CreateDir(const std::filesystem::path&) override { return Ok(); }
  Status TruncateFile(const std::filesystem::path& path, uint64_t size) override {
    std::lock_guard lock(mu_);
    auto it = files_.find(Key(path));
    if (it == files_.end()) {
      return MakeError(ErrorCode::kNotFound, "no such file: " + path.string());
    }
    if (size < it->second.size()) {
      it->second.resize(size);
    }
    return Ok();
  }

  // Creates or replaces a file.
  void Put(const std::filesystem::path& path, std::string_view contents) {
    std::lock_guard lock(mu_);
    files_[Key(path)] = std::string(contents);
  }
  // Removes every file of `dir`.
  void ClearDir(const std::filesystem::path& dir) {
    std::lock_guard lock(mu_);
    const std::filesystem::path parent = dir.lexically_normal();
    std::erase_if(files_, [&](const auto& entry) {
      return std::filesystem::path(entry.first).parent_path() == parent;
    });
  }

 private:
  class File : public audit::WritableFile {
   public:
    File(MemoryEnv* env, std::string key, uint64_t size)
        : env_(env), key_(std::move(key)), size_(size) {}
    Status Append(std::string_view data) override {
      std::lock_guard lock(env_->mu_);
      if (env_->keep_appends_) {
        env_->files_[key_].append(data);
      }
      size_ += data.size();
      return Ok();
    }
    Status Sync() override { return Ok(); }
    Status Truncate(uint64_t size) override {
      std::lock_guard lock(env_->mu_);
      std::string& contents = env_->files_[key_];
      if (size < contents.size()) {
        contents.resize(size);
      }
      size_ = std::min(size_, size);
      return Ok();
    }
    uint64_t Size() const override { return size_; }

   private:
    MemoryEnv* env_;
    std::string key_;
    uint64_t size_;
  };

  static std::string Key(const std::filesystem::path& path) {
    return path.lexically_normal().string();
  }

  const bool keep_appends_;
  std::mutex mu_;
  std::map<std::string, std::string> files_;
};

}  // namespace scytale::fuzz
