// The addon's surface: AuditSocket, DnsCapture, SockDiagSocket, sockDiagDump, sdNotify, flock,
// socketEnds, scanSyscall. System calls and framing only; record text is never parsed here
// (src/pipeline does that), beyond the few SYSCALL fields the early socket lookups need (syscall_scan.h).
#include <napi.h>

#include "audit_socket.h"
#include "dns_capture.h"
#include "file_lock.h"
#include "sd_notify.h"
#include "sock_diag.h"
#include "socket_ends.h"
#include "syscall_scan.h"

namespace auditflow {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("AuditSocket", AuditSocket::Init(env));
  exports.Set("DnsCapture", DnsCapture::Init(env));
  exports.Set("sdNotify", Napi::Function::New(env, SdNotify, "sdNotify"));
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
  exports.Set("socketEnds", Napi::Function::New(env, SocketEnds, "socketEnds"));
  exports.Set("SockDiagSocket", SockDiagSocket::Init(env));
  exports.Set("sockDiagDump", Napi::Function::New(env, SockDiagDump, "sockDiagDump"));
  exports.Set("scanSyscall", Napi::Function::New(env, ScanSyscallJs, "scanSyscall"));
  return exports;
}

}  // namespace auditflow

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return auditflow::Init(env, exports); }

NODE_API_MODULE(auditflow, InitAddon)
