# Writes OUTPUT, a C++ file defining builtin_certificate_bundle() as the PEM text of INPUT, with
# only the certificates (comments and blank lines between them dropped).
file(STRINGS ${INPUT} lines)
set(body "")
set(inside FALSE)
foreach(line IN LISTS lines)
  if(line STREQUAL "-----BEGIN CERTIFICATE-----")
    set(inside TRUE)
  endif()
  if(inside)
    string(APPEND body "${line}\n")
  endif()
  if(line STREQUAL "-----END CERTIFICATE-----")
    set(inside FALSE)
  endif()
endforeach()
file(WRITE ${OUTPUT} "// Generated from ${INPUT} by datastore/embed_certificates.cmake.\n"
  "#include \"datastore/trusted_certificates.hpp\"\n\n"
  "namespace podflow::datastore {\n\n"
  "const char* builtin_certificate_bundle() {\n"
  "  return R\"podflow_pem(${body})podflow_pem\";\n}\n\n"
  "}  // namespace podflow::datastore\n")
