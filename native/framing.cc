#include "framing.h"

#include <linux/audit.h>
#include <linux/netlink.h>

#include <cstring>

namespace auditflow {

FramingResult FrameDatagram(const uint8_t* data, size_t length) {
  FramingResult result;
  size_t offset = 0;
  while (offset + NLMSG_HDRLEN <= length) {
    nlmsghdr header;
    std::memcpy(&header, data + offset, sizeof header);
    size_t remaining = length - offset;
    FramedMessage message{static_cast<uint16_t>(header.nlmsg_type), header.nlmsg_flags,
                          header.nlmsg_seq, header.nlmsg_pid, offset + NLMSG_HDRLEN, 0};
    // Records the kernel logs through kauditd (every type from AUDIT_FIRST_USER_MSG = 1100
    // up, include/uapi/linux/audit.h) carry an nlmsg_len WITHOUT the 16-byte header
    // (kernel/audit.c audit_log_end: "nlmsg_len = skb->len - NLMSG_HDRLEN"), and each is
    // alone in its datagram. Frame them by the datagram's length, as auditd does.
    // Control replies (AUDIT_GET, ACK/NLMSG_ERROR, rule lists) have a correct nlmsg_len.
    if (header.nlmsg_type >= AUDIT_FIRST_USER_MSG) {
      message.payload_length = remaining - NLMSG_HDRLEN;
      result.messages.push_back(message);
      return result;
    }
    if (header.nlmsg_len < NLMSG_HDRLEN || header.nlmsg_len > remaining) {
      message.payload_length = remaining - NLMSG_HDRLEN;
      result.messages.push_back(message);
      result.malformed = true;
      return result;
    }
    message.payload_length = header.nlmsg_len - NLMSG_HDRLEN;
    result.messages.push_back(message);
    offset += NLMSG_ALIGN(header.nlmsg_len);
  }
  if (offset < length) result.malformed = true;
  return result;
}

}  // namespace auditflow
