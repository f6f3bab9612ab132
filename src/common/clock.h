// An injectable clock, so that expiry, signature windows and rotation are tested without sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace scytale {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Seconds since the epoch, the unit of AWS JSON timestamps.
  int64_t NowSeconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(Now().time_since_epoch()).count();
  }
};

// The real wall clock. Thread-safe.
std::shared_ptr<Clock> SystemClock();

// For end-to-end tests only (`scytale serve --testing-clock-file`): the system clock plus a
// number of seconds read from `file` (a decimal integer; missing or malformed = 0), re-read at
// most every 200 ms. Lets a test carry out a 7-day deletion or a 90-day rotation at once.
std::shared_ptr<Clock> FileOffsetClock(std::string file);

// A clock that stays where the test puts it. Not thread-safe against concurrent Set/Advance.
class FakeClock : public Clock {
 public:
  explicit FakeClock(std::chrono::system_clock::time_point t) : now_(t) {}
  std::chrono::system_clock::time_point Now() const override { return now_; }
  void Set(std::chrono::system_clock::time_point t) { now_ = t; }
  void Advance(std::chrono::system_clock::duration d) { now_ += d; }

 private:
  std::chrono::system_clock::time_point now_;
};

}  // namespace scytale
