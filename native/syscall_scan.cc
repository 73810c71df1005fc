#include "syscall_scan.h"

#include <cstring>

namespace auditflow {

namespace {

int HexDigit(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses [begin, end) as hex; false for an empty or non-hex value or one wider than 64 bits.
bool Hex(const uint8_t* begin, const uint8_t* end, uint64_t* out) {
  if (begin == end || end - begin > 16) return false;
  uint64_t value = 0;
  for (const uint8_t* p = begin; p < end; ++p) {
    int digit = HexDigit(*p);
    if (digit < 0) return false;
    value = (value << 4) | static_cast<uint64_t>(digit);
  }
  *out = value;
  return true;
}

bool Decimal(const uint8_t* begin, const uint8_t* end, int64_t* out) {
  bool negative = begin < end && *begin == '-';
  if (negative) ++begin;
  if (begin == end || end - begin > 18) return false;
  int64_t value = 0;
  for (const uint8_t* p = begin; p < end; ++p) {
    if (*p < '0' || *p > '9') return false;
    value = value * 10 + (*p - '0');
  }
  *out = negative ? -value : value;
  return true;
}

bool KeyIs(const uint8_t* key, size_t length, const char* name) {
  return length == std::strlen(name) && std::memcmp(key, name, length) == 0;
}

// Where the fields start: after the "audit(<time>:<serial>):" header.
const uint8_t* Body(const uint8_t* payload, const uint8_t* end) {
  const uint8_t* close = static_cast<const uint8_t*>(std::memchr(payload, ')', end - payload));
  if (close == nullptr) return end;
  return close + 1 < end && close[1] == ':' ? close + 2 : close + 1;
}

// The header's "audit(<seconds>.<ms>:" as ms (kernel/audit.c audit_log_start prints the seconds and
// the milliseconds, three digits); false when it is not there.
bool HeaderTime(const uint8_t* payload, const uint8_t* end, int64_t* out) {
  static const char kOpen[] = "audit(";
  size_t open_length = sizeof kOpen - 1;
  if (static_cast<size_t>(end - payload) < open_length || std::memcmp(payload, kOpen, open_length) != 0) return false;
  const uint8_t* seconds = payload + open_length;
  const uint8_t* dot = seconds;
  while (dot < end && *dot >= '0' && *dot <= '9') ++dot;
  if (dot + 4 >= end || *dot != '.' || dot[4] != ':') return false;
  int64_t whole = 0;
  int64_t ms = 0;
  if (!Decimal(seconds, dot, &whole) || whole < 0 || !Decimal(dot + 1, dot + 4, &ms) || ms < 0) return false;
  *out = whole * 1000 + ms;
  return true;
}

}  // namespace

SyscallFields ScanSyscall(const uint8_t* payload, size_t length) {
  SyscallFields fields;
  const uint8_t* end = payload + length;
  if (HeaderTime(payload, end, &fields.time_ms)) fields.seen |= kTime;
  const uint8_t* p = Body(payload, end);
  while (p < end) {
    while (p < end && (*p == ' ' || *p == ':')) ++p;
    const uint8_t* token = p;
    while (p < end && *p != ' ') ++p;
    const uint8_t* equals = static_cast<const uint8_t*>(std::memchr(token, '=', p - token));
    if (equals == nullptr) continue;
    size_t key_length = equals - token;
    const uint8_t* value = equals + 1;
    uint64_t hex = 0;
    int64_t number = 0;
    if (KeyIs(token, key_length, "arch")) {
      if (Hex(value, p, &hex) && hex <= UINT32_MAX) fields.arch = static_cast<uint32_t>(hex), fields.seen |= kArch;
    } else if (KeyIs(token, key_length, "syscall")) {
      if (Decimal(value, p, &number) && number >= 0 && number <= UINT32_MAX) fields.syscall = static_cast<uint32_t>(number), fields.seen |= kSyscall;
    } else if (KeyIs(token, key_length, "success")) {
      if (KeyIs(value, p - value, "yes")) fields.success = 1, fields.seen |= kSuccess;
      if (KeyIs(value, p - value, "no")) fields.success = 0, fields.seen |= kSuccess;
    } else if (KeyIs(token, key_length, "exit")) {
      if (Decimal(value, p, &number)) fields.exit = number, fields.seen |= kExit;
    } else if (key_length == 2 && token[0] == 'a' && token[1] >= '0' && token[1] <= '2') {
      int index = token[1] - '0';
      if (Hex(value, p, &hex)) fields.args[index] = hex, fields.seen |= kA0 << index;
    } else if (KeyIs(token, key_length, "pid")) {
      if (Decimal(value, p, &number) && number > 0 && number <= INT32_MAX) fields.pid = static_cast<uint32_t>(number), fields.seen |= kPid;
      break;
    } else if (KeyIs(token, key_length, "comm")) {
      break;
    }
  }
  return fields;
}

int SockaddrFamily(const uint8_t* payload, size_t length) {
  static const char kKey[] = " saddr=";
  const uint8_t* end = payload + length;
  const uint8_t* p = Body(payload, end);
  size_t key_length = sizeof kKey - 1;
  if (static_cast<size_t>(end - p) < key_length + 4 || std::memcmp(p, kKey, key_length) != 0) return -1;
  p += key_length;
  uint64_t low = 0;
  uint64_t high = 0;
  if (!Hex(p, p + 2, &low) || !Hex(p + 2, p + 4, &high)) return -1;
  return static_cast<int>(low | (high << 8));
}

bool SameEvent(const uint8_t* a, size_t a_length, const uint8_t* b, size_t b_length) {
  const uint8_t* a_end = Body(a, a + a_length);
  const uint8_t* b_end = Body(b, b + b_length);
  size_t length = a_end - a;
  return a_end != a + a_length && length == static_cast<size_t>(b_end - b) && std::memcmp(a, b, length) == 0;
}

Napi::Value ScanSyscallJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(env, "scanSyscall(payload: Buffer)");
  Napi::Buffer<uint8_t> payload = info[0].As<Napi::Buffer<uint8_t>>();
  SyscallFields fields = ScanSyscall(payload.Data(), payload.Length());
  if ((fields.seen & (kArch | kSyscall | kPid)) != (kArch | kSyscall | kPid)) return env.Null();
  Napi::Object result = Napi::Object::New(env);
  result.Set("arch", Napi::Number::New(env, fields.arch));
  result.Set("syscall", Napi::Number::New(env, fields.syscall));
  result.Set("success", (fields.seen & kSuccess) ? Napi::Value(Napi::Boolean::New(env, fields.success == 1)) : env.Null());
  result.Set("exit", (fields.seen & kExit) ? Napi::Value(Napi::Number::New(env, static_cast<double>(fields.exit))) : env.Null());
  const char* names[3] = {"a0", "a1", "a2"};
  for (int i = 0; i < 3; ++i) {
    result.Set(names[i], (fields.seen & (kA0 << i)) ? Napi::Value(Napi::BigInt::New(env, fields.args[i])) : env.Null());
  }
  result.Set("pid", Napi::Number::New(env, fields.pid));
  result.Set("timeMs", (fields.seen & kTime) ? Napi::Value(Napi::Number::New(env, static_cast<double>(fields.time_ms))) : env.Null());
  return result;
}

}  // namespace auditflow
