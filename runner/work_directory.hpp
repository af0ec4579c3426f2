// The directory a local run's tasks work in: their inputs, outputs, logs and task specs. It is
// created fresh by podflow for exactly one run attempt, and nobody else may have written into it.
#pragma once

#include <filesystem>
#include <string>

namespace podflow::runner {

// Creates (mkdtemp, mode 0700) a new directory named "<run>-XXXXXX" below a parent that this user
// owns and nobody else can write: `<datastore>/_work/` for a local datastore, so that inputs can
// be hard links to its blobs; `$TMPDIR/podflow-<uid>/` for a remote one. Two runs never share
// one, even with the same run id (two S3 prefixes, two machines' datastores). Throws
// std::runtime_error naming the path, what is wrong with it and the fix.
std::filesystem::path create_run_work_directory(const std::string& datastore,
                                                const std::string& run);

// PODFLOW_KEEP_WORKDIR=1: the work directories stay, for debugging (docs/step-contract.md).
bool keep_work_directories();

}  // namespace podflow::runner
