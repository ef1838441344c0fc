{
  "targets": [
    {
      "target_name": "evloop_sys",
      "sources": ["src/native/addon.cc", "src/native/posix_sys.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node -p \"require('@evloop/native-core').include_dir\")"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "MACOSX_DEPLOYMENT_TARGET": "10.15"
      },
      "msvs_settings": {"VCCLCompilerTool": {"ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"]}},
      "conditions": [
        ["OS=='win'", {
          "sources!": ["src/native/addon.cc", "src/native/posix_sys.cc"],
          "sources": ["src/native/win_addon.cc", "src/native/winsock_sys.cc", "src/native/win_pipe.cc"],
          "defines": ["WIN32_LEAN_AND_MEAN", "NOMINMAX", "_WIN32_WINNT=0x0601"],
          "libraries": ["ws2_32.lib"]
        }]
      ]
    }
  ]
}
