// Long-term keys handed to the process: PODFLOW_S3_CREDENTIALS_DIR (a directory of files named
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and optionally AWS_SESSION_TOKEN: a Kubernetes Secret
// mounted as a volume; when the variable is set the files must be there), and the environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
#pragma once

#include "datastore/credential_source.hpp"

namespace podflow::datastore {

CredentialLookup credentials_from_directory(const EnvironmentLookup& environment);
CredentialLookup credentials_from_environment(const EnvironmentLookup& environment);

}  // namespace podflow::datastore
