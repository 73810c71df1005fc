// Splits one received netlink datagram into audit messages. Pure byte handling, no text.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace auditflow {

struct FramedMessage {
  uint16_t type;
  uint16_t flags;
  uint32_t seq;
  uint32_t pid;
  size_t payload_offset;  // from the start of the datagram
  size_t payload_length;
};

struct FramingResult {
  std::vector<FramedMessage> messages;
  bool malformed = false;  // a header that did not fit; what remained was taken as one payload
};

FramingResult FrameDatagram(const uint8_t* data, size_t length);

}  // namespace auditflow
