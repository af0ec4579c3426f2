// Leader election on a coordination.k8s.io/v1 Lease (client-go's leaderelection with a
// LeaseLock): of several replicas, one leads; when it stops or dies another takes over.
//
// A candidate tries every retry_period (with jitter) to take the Lease: it may when the Lease does
// not exist, names it already, names nobody (released), or has not changed for
// lease_duration as observed on this candidate's own clock (clocks of different hosts are
// never compared). Every write is an update with the Lease's resourceVersion, so two candidates
// never both win. The leader renews every retry_period; when it could not renew for
// renew_deadline it stops leading. Defaults are client-go's: 15 s, 10 s, 2 s.
//
//   LeaderElectionOptions options;
//   options.lease_namespace = "podflow-system";
//   options.lease_name = "podflow-operator";
//   options.identity = hostname;
//   options.on_started_leading = [&] { controllers.start(); };
//   options.on_stopped_leading = [&] { std::quick_exit(1); };
//   LeaderElector elector(client, options);
//   elector.start();
//   ... on SIGTERM: controllers.stop(); elector.stop();   // releases the Lease
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "kube/kube_client.hpp"

namespace podflow::kube {

struct LeaderElectionOptions {
  std::string lease_namespace = "default";
  std::string lease_name;
  std::string identity;  // unique per replica: the pod name, or host + pid
  std::chrono::seconds lease_duration{15};
  std::chrono::seconds renew_deadline{10};
  std::chrono::seconds retry_period{2};
  // Called on the elector's thread; must return promptly (start things, do not run them).
  std::function<void()> on_started_leading;
  // Called once when leadership ends: lost (renew deadline passed) or released by stop().
  // After a loss the elector does not campaign again (as client-go: the process should exit).
  std::function<void()> on_stopped_leading;
  // Called when the observed leader changes (including to ourselves).
  std::function<void(const std::string& identity)> on_new_leader;
  // stop() clears the holder so a successor need not wait for the lease to expire.
  bool release_on_stop = true;
};

class LeaderElector {
 public:
  LeaderElector(Client& client, LeaderElectionOptions options);
  ~LeaderElector();  // stop()
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Campaigns on a thread of its own.
  void start();
  // Stops campaigning or leading; releases the Lease if held (release_on_stop); joins.
  void stop();

  bool is_leader() const { return leading_.load(); }
  std::string leader() const;  // the holder last observed ("" unknown)

 private:
  void run(std::stop_token stop);
  // One attempt to acquire or renew; true when we hold the Lease afterwards.
  bool try_acquire_or_renew();
  void release();
  bool sleep_for(std::stop_token stop, std::chrono::milliseconds duration);
  void observe_leader(const std::string& holder);

  Client& client_;
  LeaderElectionOptions options_;
  std::atomic<bool> leading_{false};
  mutable std::mutex mutex_;
  std::condition_variable_any wake_;
  std::string observed_leader_;
  nlohmann::json observed_spec_;
  std::chrono::steady_clock::time_point observed_at_{};
  std::jthread thread_;
};

}  // namespace podflow::kube
