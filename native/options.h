// Reading the options object a native class's constructor takes from JavaScript.
#pragma once

#include <napi.h>

namespace auditflow {

// options[key] as an int32 when it is a number, else `fallback`.
inline int ReadInt(const Napi::Object& options, const char* key, int fallback) {
  Napi::Value value = options.Get(key);
  return value.IsNumber() ? value.As<Napi::Number>().Int32Value() : fallback;
}

}  // namespace auditflow
