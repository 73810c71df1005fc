// Records read but not yet handed to JavaScript.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace auditflow {

// Per-record words in Batch::meta: type, flags, seq, pid, payload offset, payload length.
constexpr size_t kMetaWords = 6;

struct Batch {
  std::vector<uint8_t> data;
  std::vector<uint32_t> meta;
  // 96-byte entries (src/native/socket-lookups.ts), in record order.
  std::vector<uint8_t> lookups;
  // What the lookup thread read of the processes it opened for this batch (src/native/process-reads.ts).
  std::vector<uint8_t> processes;
  size_t records = 0;
  // A read error that ends the reader, delivered after the records before it.
  int fatal_errno = 0;
  const char* fatal_syscall = nullptr;

  size_t Bytes() const { return data.size() + meta.size() * sizeof(uint32_t) + lookups.size() + processes.size(); }
};

}  // namespace auditflow
