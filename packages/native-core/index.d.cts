declare const nativeCore: {
  /** The include folder (holding `evloop/*.h`), relative to the working directory, as node-addon-api's `include_dir`. */
  include_dir: string;
  /** The include folder (holding `evloop/*.h`), as an absolute path. */
  include_path: string;
};
export = nativeCore;
