{
  "targets": [
    {
      "target_name": "auditflow",
      "sources": [
        "native/addon.cc",
        "native/audit_socket.cc",
        "native/dns_capture.cc",
        "native/errno_error.cc",
        "native/framing.cc",
        "native/sd_notify.cc",
        "native/file_lock.cc",
        "native/process_cgroup.cc",
        "native/process_start.cc",
        "native/socket_ends.cc",
        "native/socket_query.cc",
        "native/socket_lookup.cc",
        "native/sock_diag.cc",
        "native/syscall_scan.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=9", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"],
      "conditions": [["OS!='linux'", { "type": "none" }]]
    }
  ]
}
