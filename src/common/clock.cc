#include "common/clock.h"

#include <atomic>
#include <fstream>
#include <mutex>

namespace scytale {
namespace {
class RealClock : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
};
class OffsetClock : public Clock {
 public:
  explicit OffsetClock(std::string file) : file_(std::move(file)) {}
  std::chrono::system_clock::time_point Now() const override {
    auto steady = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(mu_);
      if (steady - last_read_ > std::chrono::milliseconds(200)) {
        last_read_ = steady;
        offset_ = ReadOffset();
      }
    }
    return std::chrono::system_clock::now() + std::chrono::seconds(offset_.load());
  }

 private:
  int64_t ReadOffset() const {
    std::ifstream in(file_);
    int64_t v = 0;
    if (!(in >> v)) {
      return 0;
    }
    return v;
  }
  const std::string file_;
  mutable std::mutex mu_;
  mutable std::chrono::steady_clock::time_point last_read_{};
  mutable std::atomic<int64_t> offset_{0};
};

}  // namespace

std::shared_ptr<Clock> FileOffsetClock(std::string file) {
  return std::make_shared<OffsetClock>(std::move(file));
}

std::shared_ptr<Clock> SystemClock() {
  static const std::shared_ptr<Clock> clock = std::make_shared<RealClock>();
  return clock;
}

}  // namespace scytale
