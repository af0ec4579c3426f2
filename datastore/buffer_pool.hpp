// At most `count` buffers of `size` bytes, shared by every transfer of a store: a thread takes
// one (waiting while all are in use) and gives it back when its part or range is done. This is
// what bounds a process's transfer memory to count x size, however many large artifacts move at
// once. Buffers are allocated on first use and reused, never freed before the pool.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace podflow::datastore {

class BufferPool {
 public:
  BufferPool(std::size_t count, std::size_t size) : count_(count), size_(size) {}

  class Lease {
   public:
    Lease(BufferPool& pool, std::unique_ptr<char[]> buffer)
        : pool_(&pool), buffer_(std::move(buffer)) {}
    ~Lease() {
      if (buffer_) pool_->give_back(std::move(buffer_));
    }
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    char* data() const { return buffer_.get(); }

   private:
    BufferPool* pool_;
    std::unique_ptr<char[]> buffer_;
  };

  Lease take() {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [&] { return !free_.empty() || allocated_ < count_; });
    if (!free_.empty()) {
      auto buffer = std::move(free_.back());
      free_.pop_back();
      return Lease(*this, std::move(buffer));
    }
    ++allocated_;
    lock.unlock();
    return Lease(*this, std::make_unique_for_overwrite<char[]>(size_));
  }

  std::size_t buffer_size() const { return size_; }

 private:
  void give_back(std::unique_ptr<char[]> buffer) {
    {
      std::lock_guard lock(mutex_);
      free_.push_back(std::move(buffer));
    }
    available_.notify_one();
  }

  const std::size_t count_;
  const std::size_t size_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<char[]>> free_;
  std::size_t allocated_ = 0;
};

}  // namespace podflow::datastore
