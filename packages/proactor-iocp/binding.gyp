{
  "targets": [
    {
      "target_name": "proactor_iocp",
      "sources": ["src/native/addon.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node -p \"require('@evloop/native-core').include_dir\")"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"],
      "xcode_settings": {"CLANG_CXX_LANGUAGE_STANDARD": "c++17", "MACOSX_DEPLOYMENT_TARGET": "10.15", "OTHER_CPLUSPLUSFLAGS": ["-Wall", "-Wextra"]},
      "msvs_settings": {"VCCLCompilerTool": {"AdditionalOptions": ["/std:c++17"]}},
      "conditions": [
        ["OS=='win'", {
          "sources": ["src/native/iocp.cc"],
          "defines": ["WIN32_LEAN_AND_MEAN", "NOMINMAX", "_WIN32_WINNT=0x0601"],
          "libraries": ["ws2_32.lib", "ntdll.lib"]
        }]
      ]
    }
  ]
}
