{
  "targets": [
    {
      "target_name": "tsray_shm",
      "sources": ["native/tsray_shm.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS=='linux'", { "libraries": ["-lrt"] }]
      ],
      "xcode_settings": { "OTHER_CFLAGS": ["-std=gnu11", "-O2"] }
    }
  ]
}
