// At most `count` large transfers (multipart parts, download ranges) in flight at once across
// every transfer of a store: a thread takes a slot, waiting while all are taken, and gives it
// back when its part or range is done. Parts and ranges stream between the file and the socket
// through each connection's 256 KiB buffer, so this bounds a process's transfer memory and its
// connections to the server, however many large artifacts move at once.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace podflow::datastore {

class TransferSlots {
 public:
  explicit TransferSlots(std::size_t count) : free_(count) {}

  class Slot {
   public:
    explicit Slot(TransferSlots& slots) : slots_(&slots) {}
    ~Slot() {
      if (slots_ != nullptr) slots_->give_back();
    }
    Slot(Slot&& other) noexcept : slots_(other.slots_) { other.slots_ = nullptr; }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot& operator=(Slot&&) = delete;

   private:
    TransferSlots* slots_;
  };

  Slot take() {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [&] { return free_ > 0; });
    --free_;
    return Slot(*this);
  }

 private:
  void give_back() {
    {
      std::lock_guard lock(mutex_);
      ++free_;
    }
    available_.notify_one();
  }

  std::mutex mutex_;
  std::condition_variable available_;
  std::size_t free_;
};

}  // namespace podflow::datastore
