// The addon's surface: AuditSocket, sdNotify, flock, socketEnds. System calls and framing only;
// record text is never parsed here (src/pipeline does that).
#include <napi.h>

#include "audit_socket.h"
#include "file_lock.h"
#include "sd_notify.h"
#include "socket_ends.h"

namespace auditflow {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("AuditSocket", AuditSocket::Init(env));
  exports.Set("sdNotify", Napi::Function::New(env, SdNotify, "sdNotify"));
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
  exports.Set("socketEnds", Napi::Function::New(env, SocketEnds, "socketEnds"));
  return exports;
}

}  // namespace auditflow

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return auditflow::Init(env, exports); }

NODE_API_MODULE(auditflow, InitAddon)
