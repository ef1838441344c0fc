'use strict';
// Where the headers are, for binding.gyp:
//   "include_dirs": ["<!(node -p \"require('@evloop/native-core').include_dir\")"]
// As node-addon-api's include_dir: relative to the working directory, which
// is the folder of the binding.gyp when gyp runs the command.
const path = require('node:path');

const include = path.join(__dirname, 'include');

module.exports = {
  include_dir: path.relative('.', include) || '.',
  include_path: include,
};
